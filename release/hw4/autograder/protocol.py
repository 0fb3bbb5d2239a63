"""The words a grading child writes on its progress pipe, one per line.

Shared by the trusted parent (:mod:`autograder.sandbox`) and the child
(:mod:`autograder.runner`); a line is ``<word>`` or ``<word> <argument>``.
"""
from __future__ import annotations

import enum


class Word(str, enum.Enum):
    READY = "ready"          # privileges dropped, limits set: checks start now
    START = "start"          # start <check id>
    IMPORT = "import"        # import <student module>: its own time limit applies
    IMPORTED = "imported"    # imported <student module> (or gave up on it)
    DONE = "done"            # done <check id>: <check id>.npz is written
    FINISHED = "finished"    # every requested check ran

    def line(self, argument: str = "") -> str:
        return f"{self.value} {argument}".rstrip() + "\n"


def parse(line: str) -> tuple[Word | None, str]:
    """(word, argument) of one progress line; word is None for anything else."""
    word, _, argument = line.partition(" ")
    try:
        return Word(word), argument
    except ValueError:
        return None, argument
