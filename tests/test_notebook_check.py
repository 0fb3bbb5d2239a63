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
