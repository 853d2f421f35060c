"""The report: the essay's question answered with today's catalog, as one self-contained HTML page.

Layout (issue #15: templates, one module per section's data, one number formatter):

* `settings`: what is computed (chips, models, workloads, operating points; `--quick`);
* `inputs`: computations several sections share (validation, sweeps, costs at the operating point);
* `sections/{id}.py`: one module per section, shaping library results for its template;
* `templates/*.html.j2` (Jinja2, autoescaped) and `static/report.css` (inlined): all the markup;
* `view`: the value / figure / footnote types the sections hand to the templates;
* `render`: the Jinja2 environment; `build`: orchestration (`build_report`);
* `plots`, `plots_validation`: the matplotlib figures.

Numbers are rendered by `infercast.format`; `num` is re-exported here for the CLI.
"""
from __future__ import annotations

from infercast.format import num
from infercast.report.build import ReportResult, build_report
from infercast.report.sections import SECTIONS
from infercast.report.settings import REFERENCE_MODELS, REPORT_CHIPS, Settings, settings

__all__ = ["build_report", "ReportResult", "Settings", "settings", "SECTIONS", "REPORT_CHIPS", "REFERENCE_MODELS",
           "num"]
