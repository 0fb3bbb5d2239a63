"""Seeded random numbers for HW4 (provided; do not edit).

Every random number in your code must come from this module, never from
``torch.randn`` / ``torch.rand`` / ``torch.randint`` directly. That is what makes
your results comparable with the stored answers, on CPU and CUDA alike.

A draw's values depend only on:

* the last ``seed(s)`` call,
* its kind (``randn``, ``rand``, or ``randint`` with its bounds),
* its shape,
* how many draws of that same kind and shape came before it since the seed.

So drawing ``eps`` before ``t`` or after it gives the same numbers: only draws of
the *same* kind and shape share a counter. Values are always generated on the CPU
(float32, or int64 for ``randint``) and then moved to ``device``.

Example::

    import randomizer
    randomizer.seed(0)
    z = randomizer.randn((4, 3, 32, 32), device="cuda")   # (4, 3, 32, 32) float32
"""
from __future__ import annotations

import hashlib
import operator
from typing import Iterable, Union

import torch

Shape = Union[int, Iterable[int], torch.Size]

_DEFAULT_SEED = 231
_state = {"seed": _DEFAULT_SEED, "counters": {}}


def seed(s: int) -> None:
    """Restart every stream from seed ``s`` (an int). Resets all draw counters."""
    if isinstance(s, bool) or not isinstance(s, int):
        raise TypeError(f"seed must be an int, got {type(s).__name__}")
    _state["seed"] = int(s)
    _state["counters"] = {}


def get_state() -> dict:
    """A copy of the stream's state (the seed and how many draws of each kind and shape
    came since), to restore with :func:`set_state` after draws that must not count."""
    return {"seed": _state["seed"], "counters": dict(_state["counters"])}


def set_state(state: dict) -> None:
    _state["seed"] = int(state["seed"])
    _state["counters"] = dict(state["counters"])


def _as_shape(shape: Shape) -> tuple:
    if isinstance(shape, int):
        shape = (shape,)
    try:
        if isinstance(shape, (str, bytes)):
            raise TypeError
        dims = tuple(operator.index(d) for d in shape)  # ints only: 2.5 or "12" must not pass as a shape
    except TypeError:
        raise TypeError(f"shape must be an int or a sequence of ints, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"shape must not have negative sizes, got {dims}")
    return dims


def _generator(kind: str, dims: tuple) -> torch.Generator:
    """A CPU generator for the next draw of (kind, shape), then count the draw."""
    key = (kind, dims)
    count = _state["counters"].get(key, 0)
    _state["counters"][key] = count + 1
    text = f"{_state['seed']}|{kind}|{dims}|{count}".encode()
    stream_seed = int.from_bytes(hashlib.sha256(text).digest()[:8], "little") >> 1
    return torch.Generator(device="cpu").manual_seed(stream_seed)


def randn(shape: Shape, device=None) -> torch.Tensor:
    """Standard normal samples, float32, of the given shape, on ``device``."""
    dims = _as_shape(shape)
    values = torch.randn(dims, generator=_generator("randn", dims), dtype=torch.float32)
    return values.to(device) if device is not None else values


def rand(shape: Shape, device=None) -> torch.Tensor:
    """Uniform samples on [0, 1), float32, of the given shape, on ``device``."""
    dims = _as_shape(shape)
    values = torch.rand(dims, generator=_generator("rand", dims), dtype=torch.float32)
    return values.to(device) if device is not None else values


def randint(low: int, high: int, shape: Shape, device=None) -> torch.Tensor:
    """Integers uniform on [low, high) (high excluded), int64, on ``device``."""
    low, high = int(low), int(high)
    if high <= low:
        raise ValueError(f"randint needs low < high, got low={low}, high={high}")
    dims = _as_shape(shape)
    values = torch.randint(low, high, dims, generator=_generator(f"randint[{low},{high})", dims),
                           dtype=torch.int64)
    return values.to(device) if device is not None else values
