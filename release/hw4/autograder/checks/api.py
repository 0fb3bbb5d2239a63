"""How a check is declared: read this file, then one check module, and you can add one.

A check has two halves that never run in the same process:

* ``run(env)`` executes inside the sandboxed child, next to the student's code. It
  gets an :class:`Env` (the student's files, the device, the seeded randomizer),
  calls student functions on fixed inputs and returns a flat dict of plain values
  (tensors, arrays, numbers, bools, short strings). A check file must not import
  torch at module level: the trusted parent only reads the declarations.
* ``expect`` / ``verify`` / ``hints`` execute in the trusted parent. They see only
  the values that came back, as a :class:`View` of numpy arrays, and the stored
  answers: the same ``run`` on the reference solution, saved by
  ``python -m autograder answers``.

The worked example, the smallest real check (``part1.sample_noise.values`` in
``checks/part1.py``, condensed)::

    GAN = "part1_gans/gan_pytorch.py"          # a student file named in assignment.toml

    def run_noise(env):                        # child: may import torch inside
        env.seed(0)                            # seeds the randomizer (and torch)
        noise = env.module(GAN).sample_noise(8, 96, device=env.device)
        env.seed(0)
        return {"noise": noise, "rand01": env.randomizer.rand((8, 96))}

    check(
        id="part1.sample_noise.values",        # <part id>.<function>.<aspect>
        title="sample_noise: exact values through the randomizer",
        module=GAN, function="sample_noise",   # the function as listed in assignment.toml
        points=2,
        call="randomizer.seed(0); sample_noise(8, 96, device=device)",  # shown on failure
        run=run_noise,
        expect={"noise": Close(rtol=1e-6, atol=1e-6)},   # compared with the stored answer
        hints=[Hint("Your values lie in [0, 1): uniform on [-1, 1) is `2 * rand(...) - 1`.",
                    lambda got, ans: close(got["noise"], ans["rand01"]))],
    )

Keys the check returns but does not ``expect`` (``rand01`` here) are stored with the
answers too, so a hint can compare the student's output with any reference value.
``verify(got, ans)`` returns failure messages for what ``expect`` cannot say (ranges,
counts, flags; ``needs_answers=False`` when it judges from the outputs alone).
Shared helpers (``close``, ``patched``, ``counted``) live in ``checks/helpers.py``.

Adding a check: declare it in the part's check module (public) or hidden module, run
``python -m autograder answers``, ``python -m autograder release --write-points``
(the notebook's check-cell points follow the registry), add a realistic mistake it
catches to the catalogue in ``tests/``, and commit the regenerated release.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np

VISIBLE = "visible"
HIDDEN = "after_published"  # Gradescope: shown once grades are published


class StudentError(Exception):
    """Raised by a check's ``run`` (or the engine) for a message to show the student as
    it stands, without a traceback: a mistake recognised and explained."""


class Env(Protocol):
    """What ``run(env)`` gets in the child (implemented by ``autograder.runner.Env``)."""

    hw4: Path          # the assignment folder being graded (student files + provided files)
    scratch: Path      # a writable, private folder (also HOME and TMPDIR)
    device: Any        # the torch.device to put inputs on ("cpu" or "cuda")

    def module(self, relpath: str) -> ModuleType:
        """Import a student or provided file once, e.g. ``env.module("part1_gans/gan_pytorch.py")``.
        An import failure is raised as a message for the student (no traceback), and the
        same message fails every later check of that file."""

    @property
    def randomizer(self) -> ModuleType:
        """The assignment's provided seeded randomizer (``assignment.toml``: randomizer)."""

    def seed(self, s: int) -> None:
        """Seed the randomizer and torch, so a check's inputs are the same every run."""


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

    # Scalars that came back as arrays, read without ceremony (absent: the default).
    def flag(self, key: str, default: bool = False) -> bool:
        return bool(self._arrays[key].reshape(-1)[0]) if key in self._arrays else default

    def integer(self, key: str, default: int = -1) -> int:
        return int(self._arrays[key].reshape(-1)[0]) if key in self._arrays else default

    def number(self, key: str, default: float = float("nan")) -> float:
        return float(self._arrays[key].reshape(-1)[0]) if key in self._arrays else default

    def text(self, key: str, default: str = "") -> str:
        return str(self._arrays[key].reshape(-1)[0]) if key in self._arrays else default


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
    run: Callable[[Env], Mapping[str, Any]]
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
