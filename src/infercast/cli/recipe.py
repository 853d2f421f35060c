"""Printing a launch recipe (analyses.recipe) for `estimate --recipe` and `size --recipe`."""
from __future__ import annotations

from rich.markup import escape

from infercast.cli.kit import console


def show_recipe(rec, title: str | None = None) -> None:
    """The commands, one per engine, each with its options file and notes; plain text a shell accepts."""
    console.print(f"[bold]{escape(title or f'launch recipe: {rec.model} on {rec.chip}')}[/]")
    for n in rec.notes:
        console.print(f"  {escape(n)}")
    for launch in rec.launches:
        console.print(f"\n# {escape(launch.engine)} ({escape(launch.version)})")
        if launch.config_file:
            console.print(f"cat > {escape(launch.config_file)} <<'EOF'\n{escape(launch.config_text())}EOF",
                          soft_wrap=True, highlight=False)
        console.print(escape(launch.command), soft_wrap=True, highlight=False)
        for n in launch.notes:
            console.print(f"#   {escape(n)}", soft_wrap=True)
