"""``python -m autograder``: check, grade, answers, grade-all, merge, release, gradescope,
book, and the assignment's own instructor tools (``[tools]`` in its manifest, e.g.
oracle). A student's copy (no release builder in it) offers check and grade only."""
from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path


def _grade(args) -> int:
    from .engine import grade_folder
    from .results import failure_results, write_results
    from .sandbox import Limits

    try:
        report = grade_folder(args.submission, device=args.device, include_hidden=not args.public_only,
                              only=args.only,
                              limits=Limits(time_scale=args.time_scale, memory_mb=args.memory_mb),
                              budget_s=args.budget if args.budget > 0 else None)
    except Exception as error:  # the grader's own failure: still leave a valid results file
        message = f"grader error: {type(error).__name__}: {error}"
        traceback.print_exc()
        if args.json:
            write_results(Path(args.json), failure_results(message))
        print(message)
        return 2
    if args.json:
        report.write_json(Path(args.json))
    if report.output:
        print(report.output + "\n")
    print(report.table())
    details = report.details()
    if details and not args.quiet:
        print("\nWhat went wrong:\n")
        print(details)
    return 0


def _answers(args) -> int:
    from .engine import generate_answers

    written = generate_answers(only=args.only)
    for kind, path in written.items():
        print(f"wrote {kind} answers: {path}")
    return 0


DELEGATED = ("release", "gradescope", "book")
PACKAGE_ROOT = Path(__file__).resolve().parent


def _instructor_copy() -> bool:
    """The instructor's package (the student release ships no release builder)."""
    return (PACKAGE_ROOT / "release.py").is_file()


def _check(args) -> int:
    from .notebook import check, check_all

    try:
        if args.function:
            check(args.function, device=args.device)
        else:
            check_all(args.part, device=args.device)
    except (ValueError, FileNotFoundError) as error:
        print(error)
        return 2
    return 0


def _tools() -> dict[str, Path]:
    """The assignment's instructor tools: command -> script (absent in a student's copy)."""
    from .manifest import ManifestError, current

    try:
        assignment = current()
    except ManifestError:
        return {}
    return {name: assignment.source_dir / rel for name, rel in assignment.tools
            if (assignment.source_dir / rel).is_file()}


def tool_module(name: str):
    """Import an instructor tool as a module (for its functions, e.g. in tests)."""
    import importlib.util

    script = _tools()[name]
    spec = importlib.util.spec_from_file_location(f"tool_{name.replace('-', '_')}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(script: Path, argv: list[str]) -> int:
    """Run a tool script as ``__main__`` with ``argv``; its exit status."""
    import runpy

    saved = sys.argv
    sys.argv = [str(script), *argv]
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        sys.argv = saved
    return 0


def main(argv=None) -> int:
    from .engine import DEFAULT_BUDGET_S
    from .sandbox import Limits

    argv = sys.argv[1:] if argv is None else list(argv)
    instructor = _instructor_copy()
    if argv and argv[0] in DELEGATED and instructor:
        # These commands parse their own options (argparse.REMAINDER drops a leading --flag).
        return int(importlib.import_module(f"autograder.{argv[0]}").main(argv[1:]) or 0)
    tools = _tools()
    if argv and argv[0] in tools:
        return run_tool(tools[argv[0]], argv[1:])
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__ if instructor else (
        "Check your work from the assignment folder: `check FUNCTION` (or every public check), "
        "or `grade` a folder or zip as Gradescope will (public checks only here)."))
    sub = parser.add_subparsers(dest="command", required=True)

    checker = sub.add_parser("check", help="run the public checks of one function (or all) from the assignment folder")
    checker.add_argument("function", nargs="?", help='e.g. sample_noise or NoiseScheduler.add_noise (default: all)')
    checker.add_argument("--part", help="with no function: only this part's checks, e.g. part1")
    checker.add_argument("--device", default=None, choices=["cpu", "cuda"])
    checker.set_defaults(func=_check)

    grade = sub.add_parser("grade", help="grade a submission folder or zip")
    grade.add_argument("submission", type=Path)
    grade.add_argument("--json", help="write Gradescope's results.json here")
    grade.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    grade.add_argument("--only", help="comma-separated check-id prefixes, e.g. part1")
    grade.add_argument("--public-only", action="store_true", help="skip the hidden checks")
    grade.add_argument("--time-scale", type=float, default=1.0, help="multiply every time limit")
    grade.add_argument("--memory-mb", type=int, default=Limits().memory_mb,
                       help="memory budget of the student's code, in MB")
    grade.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                       help="wall-clock budget for the whole run; checks not finished by then fail "
                            f"and results.json is still written (default {DEFAULT_BUDGET_S:g}, inside "
                            "Gradescope's default 10-minute timeout; 0: no budget)")
    grade.add_argument("--quiet", action="store_true", help="print the table only")
    grade.set_defaults(func=_grade)

    if not instructor:
        args = parser.parse_args(argv)
        return args.func(args)

    outline = sub.add_parser("outline", help="the written questions with points, in the order of the students' PDF")
    outline.set_defaults(func=lambda args: importlib.import_module("autograder.written").main([]))

    answers = sub.add_parser("answers", help="regenerate the stored answers from the reference (source/<name>)")
    answers.add_argument("--only", help="regenerate only these check-id prefixes")
    answers.set_defaults(func=_answers)

    try:  # instructor tooling, not shipped in the student release
        from .grade_all import add_commands
    except ModuleNotFoundError:
        pass
    else:
        add_commands(sub)

    for name, text in (("release", "build the student release from the source"),
                       ("gradescope", "build the Gradescope autograder zip"),
                       ("book", "build the course book (--instructor: with the theory solutions)")):
        sub.add_parser(name, help=text + f" (python -m autograder {name} --help)")
    for name, script in tools.items():
        sub.add_parser(name, help=f"the assignment's tool {script.name} (python -m autograder {name} --help)")

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
