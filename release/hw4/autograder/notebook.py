"""Checks from a notebook cell: ``check("sample_noise")``.

Runs the public checks of one function on the modules in the current hw4 folder,
through the same isolated engine as Gradescope, prints a verdict per check and
returns the points earned, which nbgrader reads as the cell's partial credit.
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


def check(function: str, hidden: bool = False, device: str | None = None) -> float:
    """Grade ``function`` (e.g. "sample_noise" or "NoiseScheduler.add_noise").

    Prints one line per check and what went wrong; returns the points earned.
    """
    from .engine import grade_folder

    device = device or os.environ.get("HW4_CHECK_DEVICE", "cpu")
    report = grade_folder(_hw4_folder(), device=device, include_hidden=hidden,
                          function=function, hidden_only=hidden)
    if not report.tests:
        raise ValueError(f"no {'hidden ' if hidden else ''}checks for {function!r}")
    for test in report.tests:
        mark = "PASS" if test["status"] == "passed" else "FAIL"
        print(f"[{mark}] {test['name']}  ({test['score']:g}/{test['max_score']:g})")
        if test["status"] != "passed":
            body = test["output"].split("\n", 1)[1] if "\n" in test["output"] else test["output"]
            print("       " + body.strip().replace("\n", "\n       "))
    verdict = "all checks pass" if report.score == report.max_score else "some checks fail"
    print(f"{function}: {verdict}, {report.score:g}/{report.max_score:g} points")
    return float(report.score)
