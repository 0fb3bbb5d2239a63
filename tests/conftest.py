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
