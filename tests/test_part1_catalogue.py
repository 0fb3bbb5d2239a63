"""Part 1 mutation catalogue: each realistic mistake fails exactly its checks, each
valid formulation gets full marks (graded through the real engine)."""
from __future__ import annotations

import pytest

from autograder.engine import grade_folder, select_checks
from tests.catalogue_part1 import MUTANTS, VARIANTS
from tests.mutants import build_submission

PART1_IDS = {c.id for c in select_checks("part1", include_hidden=True)}


def test_catalogue_size_and_ids():
    assert len(MUTANTS) >= 15 and len(VARIANTS) >= 5
    names = [m.name for m in MUTANTS + VARIANTS]
    assert len(names) == len(set(names))
    for m in MUTANTS:
        assert m.loses and m.loses <= PART1_IDS, (m.name, m.loses - PART1_IDS)
    # every check is exercised by at least one mutant
    assert set().union(*(m.loses for m in MUTANTS)) == PART1_IDS


@pytest.mark.slow
@pytest.mark.parametrize("m", MUTANTS, ids=lambda m: m.name)
def test_mutant_fails_exactly_its_checks(m, tmp_path):
    report = grade_folder(build_submission(tmp_path / "sub", m.edits), only="part1")
    failed = report.failed_ids()
    assert failed == set(m.loses), f"{m.name}: extra {sorted(failed - m.loses)}, missing {sorted(m.loses - failed)}"
    expected_loss = sum(t["max_score"] for t in report.tests if t["id"] in m.loses)
    assert report.score == pytest.approx(report.max_score - expected_loss)


@pytest.mark.slow
@pytest.mark.parametrize("v", VARIANTS, ids=lambda v: v.name)
def test_variant_gets_full_marks(v, tmp_path):
    report = grade_folder(build_submission(tmp_path / "sub", v.edits), only="part1")
    failing = {t["id"]: t["output"] for t in report.tests if t["status"] != "passed"}
    assert not failing, failing
    assert report.score == report.max_score > 0
