"""A bounded, seeded fuzz of the whole CLI in process (issue #11): hundreds of hostile command lines over
every command of the typer app, with hostile option values and hostile files (Hugging Face configs,
measured CSVs, fleet and scenario TOMLs, calibration profiles, unwritable outputs).

Promises checked on every run: exit status 0 or 2; never "internal error" or a traceback; an error is
one line starting "error:"; --json output is strict JSON (no NaN/Infinity). hypothesis draws the
command lines (derandomized: the same every run) and shrinks a failure to a short one.
`benchmarks/fuzz_cli.py` runs the same generator for >= 10,000 invocations.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from clifuzz import BASE, Arena, Runner, commands_of, invocation
from infercast.cli import app

EXAMPLES = 800  # about 25 s


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    arena = Arena(root / "arena")
    mp = pytest.MonkeyPatch()
    mp.chdir(root)  # relative outputs (report/, plots) land here
    mp.setenv("HF_HUB_CACHE", arena.hub)
    import uvicorn

    mp.setattr(uvicorn, "run", lambda *a, **k: None)
    yield arena, Runner(app, arena), commands_of(app)
    mp.undo()


def test_every_command_has_a_base():
    assert set(commands_of(app)) == set(BASE), "a new command needs a valid base invocation in tests/clifuzz.py"


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=True,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_invocations_exit_0_or_2_with_one_line(fuzz, data):
    arena, run, commands = fuzz
    args = invocation(arena, commands, lambda seq: data.draw(st.sampled_from(list(seq))))
    code, out, err, found = run(args)
    assert not found, f"infercast {' '.join(a[:80] for a in args)}\n-> exit {code}: {found}\nstderr: {err[:500]}"
