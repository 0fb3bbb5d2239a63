"""What students read about failed checks: each problem in full, and a reason that
several checks share (a hint, what the code printed) once, not once per check."""
from __future__ import annotations

from autograder.results import Report, say_once

HINT = "hint: the dropout mask is inverted."
PRINTED = "your code printed (for your debugging; it does not change the score):\n  | step 0\n  | step 1"


def _test(name: str, problem: str | None, *, printed: bool = True) -> dict:
    lines = [f"f: {name}", "  input: f(x) on 4 values"]
    if problem:
        lines += [f"  `y`: {problem}", "    largest miss: expected 1, got 2", f"  {HINT}"]
    if printed:
        lines += ["  " + line for line in PRINTED.splitlines()]
    return {"id": name, "name": f"f: {name}", "function": "f", "score": 0.0 if problem else 1.0,
            "max_score": 1.0, "status": "failed" if problem else "passed",
            "output": "\n".join(lines), "visibility": "visible"}


def test_details_say_a_shared_hint_and_print_once_and_every_problem_in_full():
    report = Report()
    report.tests = [_test("first", "values differ in 3 places"), _test("second", None),
                    _test("third", "values differ in 1 place")]
    shown = report.details()
    assert shown.count(HINT) == 1 and shown.count("| step 1") == 1 and shown.count("input: f(x)") == 1
    assert "values differ in 3 places" in shown and "values differ in 1 place" in shown
    assert shown.count("largest miss: expected 1, got 2") == 2  # the same words, another check's numbers
    third = shown[shown.index("  - f: third"):]
    assert "(same hint and printed output as above)" in third


def test_a_check_that_repeats_everything_says_so_in_one_line():
    said: set[str] = set()
    body = "  input: f(x)\n  f crashed: RuntimeError: boom\n    in line 3"
    assert say_once(body, said) == ["input: f(x)", "f crashed: RuntimeError: boom\n  in line 3"]
    assert say_once(body, said) == ["(same message as above)"]
    assert say_once(body, said, failed=False) == []
    assert say_once("  input: f(y)\n  f crashed: RuntimeError: boom\n    in line 3", said) == \
        ["input: f(y)", "(same message as above)"]
