"""Mutation catalogues of every part: each realistic mistake fails exactly its
checks, each valid formulation gets full marks (graded through the real engine)."""
from __future__ import annotations

import pytest

from autograder.engine import grade_folder, select_checks
from tests import catalogue_part1, catalogue_part2, catalogue_part2_policy
from tests.mutants import build_submission

# part -> (catalogue, at least this many mistakes, at least this many valid variants)
CATALOGUES = {"part1": (catalogue_part1, 15, 5), "part2": (catalogue_part2, 25, 8),
              "part2_4": (catalogue_part2_policy, 12, 4)}
MUTANT_CASES = [(part, m) for part, (cat, _, _) in CATALOGUES.items() for m in cat.MUTANTS]
VARIANT_CASES = [(part, v) for part, (cat, _, _) in CATALOGUES.items() for v in cat.VARIANTS]


@pytest.mark.parametrize("part", sorted(CATALOGUES))
def test_catalogue_size_and_ids(part):
    catalogue, min_mutants, min_variants = CATALOGUES[part]
    ids = {c.id for c in select_checks(part, include_hidden=True)}
    assert len(catalogue.MUTANTS) >= min_mutants and len(catalogue.VARIANTS) >= min_variants
    names = [m.name for m in catalogue.MUTANTS + catalogue.VARIANTS]
    assert len(names) == len(set(names))
    for m in catalogue.MUTANTS:
        assert m.loses and m.loses <= ids, (m.name, m.loses - ids)
    # every check is exercised by at least one mutant
    assert set().union(*(m.loses for m in catalogue.MUTANTS)) == ids


@pytest.mark.slow
@pytest.mark.parametrize("part, m", MUTANT_CASES, ids=lambda case: getattr(case, "name", case))
def test_mutant_fails_exactly_its_checks(part, m, tmp_path):
    report = grade_folder(build_submission(tmp_path / "sub", m.edits), only=part)
    failed = report.failed_ids()
    assert failed == set(m.loses), f"{m.name}: extra {sorted(failed - m.loses)}, missing {sorted(m.loses - failed)}"
    expected_loss = sum(t["max_score"] for t in report.tests if t["id"] in m.loses)
    assert report.score == pytest.approx(report.max_score - expected_loss)
    shown = report.details()
    for text in m.says:
        assert text in shown, f"{m.name}: the report should say {text!r}:\n{shown}"
    for text in m.never:
        assert text not in shown, f"{m.name}: the report must not say {text!r}:\n{shown}"


@pytest.mark.slow
@pytest.mark.parametrize("part, v", VARIANT_CASES, ids=lambda case: getattr(case, "name", case))
def test_variant_gets_full_marks(part, v, tmp_path):
    report = grade_folder(build_submission(tmp_path / "sub", v.edits), only=part)
    failing = {t["id"]: t["output"] for t in report.tests if t["status"] != "passed"}
    assert not failing, failing
    assert report.score == report.max_score > 0
