"""Helpers shared by check modules: comparisons for hints (parent) and patching for
``run`` functions (child). Nothing here imports torch."""
from __future__ import annotations

import numpy as np


def close(a, b, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """Same shape and elementwise ``|a - b| <= atol + rtol * |b|`` (in float64)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def counted(function):
    """``function`` wrapped so that ``wrapped.calls`` counts its calls."""
    def wrapped(*args, **kwargs):
        wrapped.calls += 1
        return function(*args, **kwargs)
    wrapped.calls = 0
    return wrapped


class patched:
    """Temporarily replace attributes of a (student's) module; restored on exit."""

    def __init__(self, module, **values):
        self.module, self.values, self.saved = module, values, {}

    def __enter__(self):
        for name, value in self.values.items():
            self.saved[name] = getattr(self.module, name, None)
            setattr(self.module, name, value)
        return self.module

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            setattr(self.module, name, value)
        return False
