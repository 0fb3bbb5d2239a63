"""Time: a loop costs only its own function's points, inside Gradescope's timeout.

Each check's limit comes from the reference's measured time (answers/timings.json);
after one check of a function is stopped for time, that function's other checks are
skipped; a budget for the whole run fails whatever is left and still reports.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import engine
from autograder.engine import grade_folder, select_checks, time_limits
from autograder.results import Report
from autograder.sandbox import Limits, container_memory_mb, fit_to_container
from tests.mutants import ROOT, add_infinite_loops, build_submission

ONE_CORE = ["taskset", "-c", "0"] if shutil.which("taskset") else []


def _ids(function: str) -> set[str]:
    return {c.id for c in select_checks(function=function)}


# ------------------------------------------------------------------ measured limits

def test_every_check_has_a_measured_time():
    timings = engine.load_timings()
    ids = {c.id for c in select_checks()}
    assert ids <= set(timings), sorted(ids - set(timings))
    limits = time_limits(select_checks(), timings)
    for check in select_checks():
        floor = engine.TIME_FLOOR_S if check.timeout is None else check.timeout
        assert limits[check.id] == max(floor, engine.TIME_MULTIPLE * timings[check.id])


def test_unmeasured_checks_get_the_fallback_limit():
    check = select_checks("part1.sample_noise.values")[0]
    assert time_limits([check], {}) == {check.id: engine.UNMEASURED_LIMIT_S}


# ------------------------------------------------------------------ loops

@pytest.mark.slow
def test_loop_in_one_function_costs_only_that_function(tmp_path):
    submission = add_infinite_loops(build_submission(tmp_path / "sub"), {"NoiseScheduler.denoise_step"})
    started = time.monotonic()
    report = grade_folder(submission)
    wall = time.monotonic() - started
    loops = _ids("NoiseScheduler.denoise_step")
    assert report.failed_ids() == loops
    outputs = {t["id"]: t["output"] for t in report.tests}
    timed_out = [cid for cid in loops if "took longer than its time limit of 5.0 s" in outputs[cid]]
    skipped = [cid for cid in loops if "already stopped at its time limit" in outputs[cid]]
    assert len(timed_out) == 1 and len(skipped) == len(loops) - 1, outputs
    title = next(t["name"] for t in report.tests if t["id"] == timed_out[0])
    assert all(title in outputs[cid] for cid in skipped)
    # one limit's worth of waiting, not one per check
    assert wall < 60, wall


@pytest.mark.slow
def test_loops_everywhere_grade_within_the_budget_on_one_core(tmp_path):
    """Every student function loops except three; those keep their points, and the
    run ends well inside the default budget on one core."""
    keep = {"sample_noise", "discriminator_loss", "NoiseScheduler.__init__"}
    submission = add_infinite_loops(build_submission(tmp_path / "sub"),
                                    {f for f in _all_functions() if f not in keep})
    out = tmp_path / "results.json"
    started = time.monotonic()
    done = subprocess.run([*ONE_CORE, sys.executable, "-m", "autograder", "grade", str(submission),
                           "--json", str(out), "--quiet"], cwd=ROOT, capture_output=True, text=True,
                          timeout=engine.DEFAULT_BUDGET_S + 60)
    wall = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    tests = {t["number"]: t for t in data["tests"]}
    kept = set().union(*(_ids(f) for f in keep))
    for cid, test in tests.items():
        if cid in kept:
            assert test["status"] == "passed", test
        else:
            assert test["status"] == "failed", cid
            assert "not run" in test["output"] or "took longer than" in test["output"], test
    assert wall < engine.DEFAULT_BUDGET_S / 2, f"{wall:.0f} s on one core"


def _all_functions() -> set[str]:
    from tests.mutants import STUDENT_FILES, fenced_functions

    return {name for rel in STUDENT_FILES for name in fenced_functions(rel)}


@pytest.mark.slow
def test_budget_fails_what_is_left_and_still_reports(tmp_path):
    """A check still running when the budget ends is stopped; the rest are not run."""
    submission = add_infinite_loops(build_submission(tmp_path / "sub"), {"NoiseScheduler.add_noise"})
    budget = 15.0
    started = time.monotonic()
    report = grade_folder(submission, only="part2.add_noise,part2.denoise_step", budget_s=budget,
                          limits=Limits(time_scale=20))  # the loop's own limit is far beyond the budget
    wall = time.monotonic() - started
    assert wall < budget + 5, wall
    outputs = {t["id"]: t["output"] for t in report.tests}
    stopped = [cid for cid, o in outputs.items() if "stopped: the grading time budget (15 s" in o]
    not_run = [cid for cid, o in outputs.items() if "not run: the grading time budget (15 s" in o]
    assert stopped == ["part2.add_noise.2d"], outputs
    assert set(not_run) == set(outputs) - set(stopped)
    assert report.score == 0


def test_cli_budget_flag_is_documented():
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert "--budget" in done.stdout and "Gradescope" in done.stdout
    readme = (ROOT / "README.md").read_text()
    assert "--budget" in readme and "HW4_BUDGET" in readme


# ------------------------------------------------------------------ memory limits from the container

def test_limits_fit_the_container():
    small = fit_to_container(Limits(memory_mb=1536, rss_mb=3072), memory=(768.0, 420.0))
    assert small.rss_mb == small.memory_mb == 768 - 420 - 96
    assert fit_to_container(Limits(), memory=(64000.0, 500.0)) == Limits()
    unlimited = container_memory_mb()
    if unlimited is not None:
        limit, used = unlimited
        assert limit > 0 and 0 <= used <= limit


@pytest.mark.skipif(not Path("/sys/fs/cgroup").exists(), reason="no cgroup file system")
def test_container_memory_reads_cgroup_files(tmp_path, monkeypatch):
    # cgroup v2 layout
    (tmp_path / "memory.max").write_text("805306368\n")
    (tmp_path / "memory.current").write_text("104857600\n")
    real_path = Path

    def fake_path(*parts):
        if parts and str(parts[0]) == "/proc/self/cgroup":
            path = tmp_path / "cgroup"
            path.write_text("0::/\n")
            return path
        if parts and str(parts[0]).startswith("/sys/fs/cgroup"):
            return tmp_path
        return real_path(*parts)

    from autograder import sandbox

    monkeypatch.setattr(sandbox, "Path", fake_path)
    assert sandbox.container_memory_mb() == (768.0, 100.0)
    (tmp_path / "memory.max").write_text("max\n")
    assert sandbox.container_memory_mb() is None


# ------------------------------------------------------------------ readable summaries

def test_failures_are_grouped_by_function():
    report = Report(tests=[
        {"id": "a.1", "name": "f: one", "function": "f", "score": 0, "max_score": 1, "status": "failed",
         "output": "f: not implemented yet", "visibility": "visible"},
        {"id": "a.2", "name": "f: two", "function": "f", "score": 0, "max_score": 2, "status": "failed",
         "output": "f: not implemented yet", "visibility": "visible"},
        {"id": "b.1", "name": "g: one", "function": "g", "score": 1, "max_score": 1, "status": "passed",
         "output": "g: one", "visibility": "visible"},
        {"id": "b.2", "name": "g: two", "function": "g", "score": 0, "max_score": 2, "status": "failed",
         "output": "g: two\n  `y`: expected shape (3,), got (4,)", "visibility": "visible"},
    ])
    text = report.details()
    assert text.count("not implemented yet") == 1
    assert "f: not implemented yet (2 of 2 checks failed, 3 points)" in text
    assert "g (1 of 2 checks failed, 2 points lost)" in text
    assert "    `y`: expected shape (3,), got (4,)" in text


def test_untouched_release_summary_is_one_line_per_function():
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(ROOT / "release" / "hw4"),
                           "--budget", "0"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    details = done.stdout.split("What went wrong:", 1)[1]
    functions = {c.function for c in select_checks()}
    assert details.count("not implemented yet") == len(functions), details
