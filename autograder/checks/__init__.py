"""The registry of checks: the check modules the assignment manifest names.

Each part of ``assignment.toml`` names a public check module (shipped with the
student release) and, optionally, a hidden one (never leaves the instructor's copy
and the Gradescope autograder). Each module defines ``CHECKS: list[Check]``.
"""
from __future__ import annotations

import importlib
import os

from .api import Check, Close, Exact, Hint, View, check  # noqa: F401


def _modules() -> list[tuple[str, bool | None]]:
    """(module, hidden) for the manifest's check modules, plus any named in
    HW4_EXTRA_CHECKS (the engine's own tests; hidden then comes from each check)."""
    from ..manifest import current

    extra = os.environ.get("HW4_EXTRA_CHECKS", "")
    return current().check_modules() + [(m, None) for m in extra.split(",") if m]


def all_checks(include_hidden: bool = True) -> list[Check]:
    from ..manifest import current

    assignment = current()
    found: list[Check] = []
    for qualified, hidden in _modules():
        if hidden and not include_hidden:
            continue
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as error:
            if hidden and error.name == qualified:
                continue  # a hidden module is absent from the student release
            raise
        for item in module.CHECKS:
            if hidden is not None and item.hidden != hidden:
                raise ValueError(f"{item.id}: hidden={item.hidden} but declared in {qualified}")
            if hidden is not None and assignment.part_of(item.id) is None:
                raise ValueError(f"{item.id}: the id must start with a part id of {assignment.path.name} "
                                 f"({', '.join(p.id for p in assignment.parts)})")
            if hidden is not None and item.module not in assignment.student_modules:
                raise ValueError(f"{item.id}: module {item.module!r} is not a student file of the manifest")
            if hidden is not None and item.function not in assignment.functions:
                raise ValueError(f"{item.id}: function {item.function!r} is not listed for "
                                 f"{item.module} in the manifest")
            found.append(item)
    ids = [c.id for c in found]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate check ids: {sorted(duplicates)}")
    return found


def by_id(include_hidden: bool = True) -> dict[str, Check]:
    return {c.id: c for c in all_checks(include_hidden)}
