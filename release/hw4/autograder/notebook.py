"""Checks from a notebook cell: ``check("sample_noise")``.

Runs the public checks of one function on the modules in the current assignment
folder, through the same isolated engine as Gradescope, prints a verdict per check
and returns the points earned, which nbgrader reads as the cell's partial credit.
``check_all("part1")`` runs every public check of a part with one summary table.
"""
from __future__ import annotations

import os
from pathlib import Path


def _hw4_folder() -> Path:
    """The assignment folder the notebook runs in (the one holding assignment.toml);
    also makes it the assignment the engine grades, where a course holds several."""
    from .manifest import COURSE_ROOT, ENV_VAR, MANIFEST, load

    here = Path.cwd()
    for folder in (here, *(p.parent for p in sorted(here.glob(f"*/{MANIFEST}")))):
        if (folder / MANIFEST).is_file():
            name = load(folder / MANIFEST).name
            if (COURSE_ROOT / "source" / name / MANIFEST).is_file():
                os.environ.setdefault(ENV_VAR, name)
            return folder
    raise FileNotFoundError(f"run the notebook from the assignment folder (the one holding {MANIFEST})")


class Points(float):
    """The points a check cell earned. nbgrader reads a code cell's plain-text result
    as its partial credit, so that text stays the bare number; notebooks show the
    HTML form instead, so students see a verdict rather than a stray ``3.0``."""

    max_score: float = 0.0

    def _repr_html_(self) -> str:
        mark = "&#10003;" if self >= self.max_score else "&#10007;"
        return f"<span>{mark} {self:g} / {self.max_score:g} points</span>"


def _print_report(report, label: str) -> None:
    """One line per check, then what went wrong and what the code printed; a reason
    that several checks share (one crash, one hint, one print) is said once."""
    from .results import say_once

    said: set[str] = set()
    for test in report.tests:
        mark = "PASS" if test["status"] == "passed" else "FAIL"
        print(f"[{mark}] {test['name']}  ({test['score']:g}/{test['max_score']:g})")
        body = test["output"].split("\n", 1)[1] if "\n" in test["output"] else test["output"]
        failed = test["status"] != "passed"
        if not (failed or "your code printed" in body):
            continue
        fresh = say_once(body, said, failed)
        if fresh:
            print("       " + "\n".join(fresh).replace("\n", "\n       "))
    verdict = "all checks pass" if report.score == report.max_score else "some checks fail"
    print(f"{label}: {verdict}, {report.score:g}/{report.max_score:g} points")


def check(function: str, hidden: bool = False, device: str | None = None) -> Points:
    """Grade ``function`` (e.g. "sample_noise" or "NoiseScheduler.add_noise").

    Prints one line per check and what went wrong; returns the points earned. The
    first call starts the grading server; later ones fork from it (well under a second).
    """
    from .engine import grade_folder

    device = device or os.environ.get("HW4_CHECK_DEVICE", "cpu")
    report = grade_folder(_hw4_folder(), device=device, include_hidden=hidden,
                          function=function, hidden_only=hidden)
    if not report.tests:
        raise ValueError(f"no {'hidden ' if hidden else ''}checks for {function!r}")
    _print_report(report, function)
    points = Points(report.score)
    points.max_score = float(report.max_score)
    return points


def check_all(part: str | None = None, device: str | None = None) -> None:
    """Run every public check (of one part, e.g. "part1", or of all parts) and print
    one summary table: points per function, then what went wrong."""
    from .engine import grade_folder

    device = device or os.environ.get("HW4_CHECK_DEVICE", "cpu")
    report = grade_folder(_hw4_folder(), device=device, include_hidden=False, only=part)
    if not report.tests:
        raise ValueError(f"no public checks for {part!r}")
    rows: dict[str, list[float]] = {}
    for test in report.tests:
        got = rows.setdefault(test["function"], [0.0, 0.0])
        got[0] += test["score"]
        got[1] += test["max_score"]
    width = max(len(name) for name in rows)
    for name, (score, most) in rows.items():
        mark = "PASS" if score == most else "FAIL"
        print(f"[{mark}] {name:<{width}}  {score:g}/{most:g}")
    print(f"{'total':>{width + 7}}  {report.score:g}/{report.max_score:g} points (public checks)")
    details = report.details()
    if details:
        print("\nWhat went wrong:\n\n" + details)
