"""How a check is declared.

A check has two halves that never run in the same process:

* ``run(env)`` executes inside the sandboxed child, next to the student's code.
  It calls student functions on fixed inputs and returns a flat dict of plain
  values (tensors, arrays, numbers, bools, short strings). It must not import
  torch at module level of the check file (the trusted parent never loads torch).
* ``expect`` / ``verify`` / ``hints`` execute in the trusted parent. They see only
  the arrays that came back (as numpy) and the stored reference answers, which are
  produced by running the same ``run`` on ``source/hw4`` (``python -m autograder answers``).

Example::

    check(
        id="part1.sample_noise.values",
        title="sample_noise: exact values through the randomizer",
        module="part1_gans/gan_pytorch.py",
        function="sample_noise",
        points=1,
        call="randomizer.seed(0); sample_noise(4, 5)",
        run=lambda env: {"noise": env.module("part1_gans/gan_pytorch.py").sample_noise(4, 5)},
        expect={"noise": Close(atol=1e-6)},
        hints=[Hint("values lie in [0, 1): did you forget `2 * ... - 1`?",
                    lambda got, ans: np.allclose(got["noise"], (ans["noise"] + 1) / 2))],
    )
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

VISIBLE = "visible"
HIDDEN = "after_published"  # Gradescope: shown once grades are published


class View:
    """Read-only outputs of one check run: ``view[key]`` is a numpy array,
    ``view.meta[key]`` a dict with ``kind`` ('tensor', 'ndarray', 'scalar', 'str'),
    ``dtype`` (e.g. 'torch.float32'), ``on_device`` (bool) and ``type`` (the
    Python type's name as the child reported it)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, dict]):
        self._arrays = dict(arrays)
        self.meta = dict(meta)

    def __getitem__(self, key: str) -> np.ndarray:
        return self._arrays[key]

    def __contains__(self, key: str) -> bool:
        return key in self._arrays

    def get(self, key: str, default=None):
        return self._arrays.get(key, default)

    def keys(self):
        return self._arrays.keys()


@dataclass(frozen=True)
class Close:
    """Compare an output with the stored answer: same kind, dtype, shape and device,
    all finite, and ``|got - expected| <= atol + rtol * |expected|`` elementwise.

    Tolerances must accept every mathematically equivalent float32 or float64
    formulation; the mutation catalogue in ``tests/`` proves they reject the mistakes.
    """

    rtol: float = 1e-5
    atol: float = 1e-6
    check_dtype: bool = True
    check_device: bool = True


@dataclass(frozen=True)
class Exact:
    """The output must equal the stored answer exactly (ints, bools, shapes)."""

    check_dtype: bool = True


@dataclass(frozen=True)
class Hint:
    """Shown when a check fails and ``when(got, ans)`` is true (exceptions count as false)."""

    message: str
    when: Callable[[View, View], bool]


Verifier = Callable[[View, View], Sequence[str]]


@dataclass(frozen=True)
class Check:
    id: str                 # stable, dotted: part.function.aspect
    title: str              # one line students read in the results table
    module: str             # student file relative to hw4/, e.g. "part1_gans/gan_pytorch.py"
    function: str           # the graded function or method, e.g. "NoiseScheduler.add_noise"
    points: float
    run: Callable[[Any], Mapping[str, Any]]
    expect: Mapping[str, Close | Exact] = field(default_factory=dict)
    verify: Verifier | None = None   # extra parent-side verdicts: returns failure messages
    hints: Sequence[Hint] = ()
    call: str = ""          # the input, as students should read it in a failure message
    hidden: bool = False
    # The time limit of run(env) is measured: TIME_MULTIPLE times the reference's time
    # (stored by `python -m autograder answers`), at least this floor in seconds (None:
    # the engine's TIME_FLOOR_S). Raise it where a valid solution may be far heavier
    # than the reference. Unmeasured checks get UNMEASURED_LIMIT_S.
    timeout: float | None = None
    needs_answers: bool = True  # False: verify() judges from the outputs alone

    @property
    def part(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def visibility(self) -> str:
        return HIDDEN if self.hidden else VISIBLE


def check(**kwargs) -> Check:
    """Declare a check (keyword arguments as in :class:`Check`)."""
    made = Check(**kwargs)
    if made.points < 0:
        raise ValueError(f"{made.id}: points must be >= 0")
    if not made.expect and made.verify is None:
        raise ValueError(f"{made.id}: needs `expect` or `verify`")
    return made
