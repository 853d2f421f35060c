"""Every `infercast ...` command shown in a code block of README.md or docs/*.md runs, as documented.

Each command runs in-process (typer's CliRunner, the installed app) in a temporary folder, so every
output file it writes lands there. The example inputs the docs name (`examples/...`) are the shipped
ones; the files the docs say an earlier step writes on a GPU (`h100.json` from `infercast calibrate`,
`h100-llama-3-8b.csv` / `my-rows.csv` from `infercast measure`) are provided from their packaged
equivalents: the H100 SXM profile and our own H100 Llama-3-8B rows (OWN) of the measured set.
Commands that need a GPU or start a server are checked to parse (`--help`) instead, each listed in
HELP_ONLY with the reason. `report` runs with `--quick` (the full report takes minutes; the same
code paths run). Runtime: about 2-3 minutes on 2 cores.
"""
from __future__ import annotations

import csv
import importlib.util
import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infercast.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DATA = ROOT / "src" / "infercast" / "data"

# commands that cannot run here, with the reason; their `--help` must still parse
HELP_ONLY = {
    "calibrate": "needs a GPU (--device cuda is the default); the --device cpu variant runs",
    "measure": "times model steps on a GPU",
    "serve": "starts a server that runs until stopped (tests/test_web_*.py exercise the app)",
}
HAS_TORCH = importlib.util.find_spec("torch") is not None


def documented_commands() -> list[tuple[str, str]]:
    """(where, command) for each `infercast` line in a fenced code block; `\\` continuations joined, comments cut."""
    out = []
    for doc in DOCS:
        fenced, pending = False, ""
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
                continue
            if not fenced:
                continue
            line = pending + line.strip()
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            if line.startswith("infercast "):
                cmd = re.split(r"\s+#", line, maxsplit=1)[0].strip()
                out.append((f"{doc.relative_to(ROOT)}:{n}", cmd))
    return out


COMMANDS = documented_commands()


def test_the_docs_show_commands():
    assert len(COMMANDS) >= 30, COMMANDS  # README's list, calibration, report, sizing


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    shutil.copy(DATA / "profiles" / "h100-sxm.json", tmp_path / "h100.json")
    with open(DATA / "measured" / "measured-dev.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    own = [r for r in rows if r["id"].startswith("OWN")]
    assert own, "the measured set has no OWN rows"
    for name in ("my-rows.csv", "h100-llama-3-8b.csv"):
        with open(tmp_path / name, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(own)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _args(cmd: str, tmp: Path) -> list[str]:
    args = shlex.split(cmd)[1:]
    args = [str(tmp / a[len("/tmp/"):]) if a.startswith("/tmp/") else a for a in args]  # never write outside tmp
    if args[0] == "report" and "--quick" not in args:
        args.append("--quick")
    return args


@pytest.mark.parametrize("where,cmd", COMMANDS, ids=[f"{w} {c}" for w, c in COMMANDS])
def test_documented_command_runs(where, cmd, workdir):
    args = _args(cmd, workdir)
    runner = CliRunner()
    if args[0] in HELP_ONLY and not (args[0] == "calibrate" and "--device" in args and "cpu" in args):
        r = runner.invoke(app, [args[0], "--help"])
        assert r.exit_code == 0, f"{where}: `infercast {args[0]} --help` failed ({HELP_ONLY[args[0]]}):\n{r.output}"
        return
    r = runner.invoke(app, args)
    if args[0] == "calibrate" and not HAS_TORCH:
        # documented (docs/calibration.md): without PyTorch the command says so and exits with status 2
        assert r.exit_code == 2 and "torch" in r.output.lower(), f"{where}: {cmd}\n{r.output}"
        return
    assert r.exit_code == 0, f"{where}: `{cmd}` exited {r.exit_code}:\n{r.output}\n{r.exception!r}"
