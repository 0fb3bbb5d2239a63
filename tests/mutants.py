"""Fixture submissions made from the reference by small text edits.

A :class:`Mutant` is a realistic student mistake: grading it must fail exactly the
checks in ``loses`` (the expected score follows from their points). A
:class:`Variant` is a correct alternative formulation: it must get full marks.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from autograder.manifest import current

ROOT = Path(__file__).resolve().parents[1]
SOURCE = current().source_dir
STUDENT_FILES = current().student_modules


@dataclass(frozen=True)
class Edit:
    path: str      # student file relative to hw4/
    find: str      # exact text of the reference; must occur exactly `count` times
    replace: str
    count: int = 1


@dataclass(frozen=True)
class Mutant:
    name: str
    edits: tuple[Edit, ...]
    loses: frozenset[str]          # exactly the check ids that must fail
    why: str = ""                  # the mistake, as a student would make it
    says: tuple[str, ...] = ()     # text the report must show (the hint that teaches the fix)
    never: tuple[str, ...] = ()    # text it must not show (hints that would mislead here)


@dataclass(frozen=True)
class Variant:
    name: str
    edits: tuple[Edit, ...]
    why: str = ""


def mutant(name, path, find, replace, loses, *, count=1, why="", more=(), says=(), never=()):
    """Shorthand for a mutant with one edit (``more`` adds further Edit objects)."""
    return Mutant(name, (Edit(path, find, replace, count), *more), frozenset(loses), why, tuple(says), tuple(never))


def variant(name, path, find, replace, *, count=1, why="", more=()):
    return Variant(name, (Edit(path, find, replace, count), *more), why)


def build_submission(folder: Path, edits=()) -> Path:
    """Copy the reference student modules into ``folder`` and apply ``edits``."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel in STUDENT_FILES:
        src = SOURCE / rel
        if src.exists():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, folder / rel)
    for edit in edits:
        target = folder / edit.path
        text = target.read_text()
        found = text.count(edit.find)
        if found != edit.count:
            raise AssertionError(
                f"edit for {edit.path} expects {edit.count} occurrence(s) of {edit.find!r}, found {found}")
        target.write_text(text.replace(edit.find, edit.replace))
    return folder


FENCE = "### BEGIN SOLUTION"


def fenced_functions(rel: str) -> list[str]:
    """The qualified names (``Class.method`` or ``function``) of the functions holding
    each solution fence of a reference module, in order."""
    names, cls, func = [], None, None
    for line in (SOURCE / rel).read_text().splitlines():
        stripped = line.strip()
        if line.startswith("class "):
            cls = stripped[len("class "):].split("(")[0].split(":")[0]
        elif line.startswith("def "):
            cls, func = None, stripped[len("def "):].split("(")[0]
        elif stripped.startswith("def ") and line.startswith("    ") and not line.startswith("     "):
            func = stripped[len("def "):].split("(")[0]
        if stripped == FENCE:
            names.append(f"{cls}.{func}" if cls else func)
    return names


def add_infinite_loops(folder: Path, functions) -> Path:
    """Make each named function of the student files in ``folder`` loop forever
    (``while True: pass`` as the first line of its solution); ``functions`` is a set
    of qualified names, or ``all``."""
    for rel in STUDENT_FILES:
        target = folder / rel
        if not target.exists():
            continue
        owners = iter(fenced_functions(rel))
        lines = []
        for line in target.read_text().splitlines(keepends=True):
            lines.append(line)
            if line.strip() == FENCE:
                owner = next(owners)
                if functions is all or owner in functions:
                    indent = line[: len(line) - len(line.lstrip())]
                    lines.append(f"{indent}while True:  # a student's loop that never ends\n{indent}    pass\n")
        target.write_text("".join(lines))
    return folder
