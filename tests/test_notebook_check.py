"""The notebook helpers: ``check`` returns points that nbgrader reads as partial credit
but that notebooks display as a verdict; ``check_all`` prints one table per part."""
from __future__ import annotations

import pytest

from autograder.engine import select_checks
from autograder.manifest import current
from autograder.notebook import Points, check, check_all


def public_points(**select) -> float:
    return sum(c.points for c in select_checks(include_hidden=False, **select))


@pytest.fixture
def in_reference(monkeypatch):
    monkeypatch.chdir(current().source_dir)
    # check() names the assignment in the environment; undone after the test
    monkeypatch.setenv("AUTOGRADER_ASSIGNMENT", current().name)


def test_check_returns_points_that_show_as_a_verdict(in_reference, capsys):
    points = check("sample_noise")
    most = public_points(function="sample_noise")
    assert isinstance(points, Points) and float(points) == points.max_score == most > 0
    assert repr(points) == repr(float(most))  # nbgrader's partial credit reads the plain text
    assert points._repr_html_() == f"<span>&#10003; {most:g} / {most:g} points</span>"
    assert f"sample_noise: all checks pass, {most:g}/{most:g} points" in capsys.readouterr().out


def test_check_all_prints_one_row_per_function(in_reference, capsys):
    check_all("part1")
    out = capsys.readouterr().out
    functions = next(f.functions for f in current().files if f.path.startswith("part1"))
    rows = [line for line in out.splitlines() if line.startswith("[PASS]")]
    assert [row.split()[1] for row in rows] == list(functions)
    most = public_points(only="part1")
    assert f"{most:g}/{most:g} points (public checks)" in out and "What went wrong" not in out


def test_check_names_an_unknown_function(in_reference):
    with pytest.raises(ValueError, match="no checks for 'sample_nosie'"):
        check("sample_nosie")


def test_students_command_line_offers_check_and_grade_only(tmp_path):
    """The release's package has no instructor commands; `check` works from the folder."""
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "hw4"
    shutil.copytree(current().release_dir, copy, ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
    shown = subprocess.run([sys.executable, "-m", "autograder", "--help"], cwd=copy, env=env,
                           capture_output=True, text=True)
    assert shown.returncode == 0 and "{check,grade}" in shown.stdout
    for instructor in ("answers", "release", "gradescope", "book", "grade-all", "oracle"):
        assert instructor not in shown.stdout
    refused = subprocess.run([sys.executable, "-m", "autograder", "release"], cwd=copy, env=env,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "invalid choice: 'release'" in refused.stderr
    checked = subprocess.run([sys.executable, "-m", "autograder", "check", "sample_noise"], cwd=copy, env=env,
                             capture_output=True, text=True)
    assert checked.returncode == 0 and "sample_noise: not implemented yet" in checked.stdout


def _mutant_folder(tmp_path, name: str):
    """A student's folder: the reference with one catalogue mistake, and the manifest."""
    import shutil

    from tests.catalogue_part1 import MUTANTS
    from tests.mutants import build_submission

    mistake = next(m for m in MUTANTS if m.name == name)
    folder = build_submission(tmp_path / "hw4", mistake.edits)
    shutil.copy(current().source_dir / "assignment.toml", folder)
    return folder


def test_a_reason_shared_by_several_checks_is_said_once(tmp_path, monkeypatch, capsys):
    """A missing detach breaks every train_gan check: one explanation (pointing to the
    detach, not to retain_graph), not one per check."""
    from autograder.checks.probes import FREED_GRAPH
    from autograder.manifest import ENV_VAR

    monkeypatch.chdir(_mutant_folder(tmp_path, "train_no_detach_crash"))
    monkeypatch.setenv(ENV_VAR, current().name)  # check() names the assignment there; undone after the test
    assert check("train_gan") == 0
    out = capsys.readouterr().out
    failed = [line for line in out.splitlines() if line.startswith("[FAIL] train_gan")]
    assert len(failed) == len(select_checks(include_hidden=False, function="train_gan")) > 1
    assert out.count(FREED_GRAPH) == 1 and out.count("(same message as above)") == len(failed) - 1
    assert "Specify retain_graph" not in out


def test_printed_output_shared_by_passing_checks_is_shown_once(in_reference, capsys):
    """The reference train_gan prints its losses; each of its checks ran it, and the
    student sees that output once."""
    check("train_gan")
    out = capsys.readouterr().out
    assert out.count("your code printed") == 1 and out.count("| Iter: 0,") == 1
    assert "as above" not in out
