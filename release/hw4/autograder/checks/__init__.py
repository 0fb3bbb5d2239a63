"""The registry of checks. Each part module defines ``CHECKS: list[Check]``.

Public checks live in ``partN.py`` and ship with the student release; hidden checks
live in ``partN_hidden.py`` and never leave the instructor's copy and the Gradescope
autograder.
"""
from __future__ import annotations

import importlib
import os

from .api import Check, Close, Exact, Hint, View, check  # noqa: F401

PART_MODULES = ("part1", "part1_hidden", "part2", "part2_hidden")


def _modules() -> list[str]:
    """The part modules, plus any named in HW4_EXTRA_CHECKS (the engine's own tests)."""
    names = [f"{__name__}.{name}" for name in PART_MODULES]
    extra = os.environ.get("HW4_EXTRA_CHECKS", "")
    return names + [m for m in extra.split(",") if m]


def all_checks(include_hidden: bool = True) -> list[Check]:
    found: list[Check] = []
    for qualified in _modules():
        name = qualified.rsplit(".", 1)[-1]
        if name.endswith("_hidden") and not include_hidden:
            continue
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as error:
            if error.name == qualified:
                continue  # a hidden module is absent from the student release
            raise
        for item in module.CHECKS:
            if name in PART_MODULES and item.hidden != name.endswith("_hidden"):
                raise ValueError(f"{item.id}: hidden={item.hidden} but declared in {name}.py")
            found.append(item)
    ids = [c.id for c in found]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate check ids: {sorted(duplicates)}")
    return found


def by_id(include_hidden: bool = True) -> dict[str, Check]:
    return {c.id: c for c in all_checks(include_hidden)}
