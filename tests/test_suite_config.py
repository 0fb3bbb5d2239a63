"""The suite's own configuration: what keeps `make test` fast on two cores."""
from __future__ import annotations

from pathlib import Path

from conftest import GROUPED_MODULES

TESTS = Path(__file__).resolve().parent


def test_every_xdist_group_is_scheduled_as_one():
    """A module marked xdist_group shares an expensive fixture: conftest's scheduler
    must keep it on one worker, or the fixture runs once per worker."""
    marked = {f"tests/{path.name}" for path in TESTS.glob("test_*.py")
              if "pytest.mark.xdist_group" in path.read_text() and path.name != Path(__file__).name}
    assert marked == set(GROUPED_MODULES)
