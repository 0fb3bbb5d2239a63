"""Helpers shared by check modules: comparisons for hints (parent) and patching for
``run`` functions (child). Nothing here imports torch at module level."""
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


def draws_elsewhere(env, seed: int, call) -> bool:
    """Whether ``call()`` (a student function returning a tensor) takes random numbers
    from somewhere other than the randomizer (torch.randn, torch.randn_like, numpy, ...).

    Runs it twice, each time right after ``randomizer.seed(seed)`` but with torch's
    generator seeded differently: the randomizer's numbers are the same both times, so
    only other sources can make the two results differ. Both generators are left as
    they were. Child only; for hints (a function that fails here says False).
    """
    import torch

    devices = [torch.device(env.device).index or 0] if torch.device(env.device).type == "cuda" else []
    saved = env.randomizer.get_state()
    results = []
    try:
        with torch.random.fork_rng(devices=devices):
            for torch_seed in (1, 2):
                env.randomizer.seed(seed)
                torch.manual_seed(torch_seed)
                results.append(torch.as_tensor(call()).detach().to("cpu", torch.float64))
        return results[0].shape == results[1].shape and not torch.allclose(results[0], results[1], 1e-5, 1e-6)
    except Exception:
        return False
    finally:
        env.randomizer.set_state(saved)
