"""The web app's routers: catalog, results, uploads and the page. Each handler is thin: it reads the
request, calls the library (through `web.compute`) and wraps the result in a `web.schemas` model."""
