"""Shared test configuration."""
from __future__ import annotations

import os
import shutil

import pytest


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


HAS_CUDA = _cuda_available()
HAS_CHROMIUM = bool(shutil.which("chromium") or shutil.which("chromium-browser"))

# Devices every device-dependent test runs on; CUDA is skipped where there is none.
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device")])]


def pytest_configure(config):
    os.environ.setdefault("MPLBACKEND", "Agg")



# Modules whose tests share an expensive module fixture (the nbgrader round trip, the
# books, the executed notebooks); each is marked xdist_group and runs on one worker.
GROUPED_MODULES = ("tests/test_nbgrader_roundtrip.py", "tests/test_book.py", "tests/test_notebooks_execute.py",
                   "tests/test_second_assignment.py", "tests/test_grade_all.py")


def pytest_xdist_make_scheduler(config, log):
    """Keep each grouped module on one worker; schedule every other test on its own.

    pytest-xdist's own ``--dist loadgroup`` stopped grouping under pytest 9 (the
    node-id suffix it relies on is not applied), so each test of a group ran the
    module fixture again on the other worker: the nbgrader round trip twice at once.
    The scheduler runs in the controller, which sees node ids only: hence modules.
    """
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in GROUPED_MODULES else nodeid

    return GroupScheduling(config, log)
