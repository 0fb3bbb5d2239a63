"""Build ``hw4_submission.zip`` and ``hw4_written.pdf``, what you upload to Gradescope
(provided; do not edit).

Run it from the hw4 folder when you are done (in Colab or a notebook cell prefix it
with ``!``)::

    python collect_submission.py

It packs the four modules you edited and the two notebooks (executed, with their
outputs: the graders read your plots and written answers there), refuses when a file
is missing or a notebook was never run, warns about functions that still raise
``NotImplementedError``, then runs the public checks on exactly what it packed and
prints a summary. It also builds the written-work PDF: your theory answers
(``theory_answers.ipynb``), the notebooks' written answers and the figures the graders
need, each on its own page, listing first what is still missing. Options: ``--force``
builds the zip despite problems, ``--no-checks`` skips the public checks, ``--no-pdf``
skips the PDF, ``--out PATH`` writes the zip elsewhere.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HW4 = Path(__file__).resolve().parent
# What to pack comes from the assignment's manifest, beside this file.
MANIFEST = tomllib.loads((HW4 / "assignment.toml").read_text(encoding="utf-8"))
MODULES = tuple(f["path"] for f in MANIFEST["files"])
NOTEBOOKS = tuple(p["notebook"] for p in MANIFEST["parts"] if "notebook" in p)
ZIP_NAME = MANIFEST.get("submission_zip", f"{MANIFEST['name']}_submission.zip")
MAX_MB = 20  # the grader ignores larger files
_STUB = re.compile(r'raise NotImplementedError\("([\w.]+): not implemented yet"\)')


def inspect(hw4: Path) -> tuple[list[str], list[str]]:
    """Return (errors, warnings) about the files that will be packed."""
    errors: list[str] = []
    warnings: list[str] = []
    for rel in MODULES + NOTEBOOKS:
        path = hw4 / rel
        if not path.is_file():
            errors.append(f"{rel}: missing (it must be at hw4/{rel})")
        elif path.stat().st_size > MAX_MB * 2**20:
            errors.append(f"{rel}: larger than {MAX_MB} MB; clear big outputs and save again")
    for rel in MODULES:
        path = hw4 / rel
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            compile(text, rel, "exec")
        except SyntaxError as error:
            errors.append(f"{rel}: SyntaxError on line {error.lineno}: {error.msg}")
            continue
        todo = _STUB.findall(text)
        if todo:
            warnings.append(f"{rel}: still not implemented: {', '.join(todo)}")
    for rel in NOTEBOOKS:
        path = hw4 / rel
        if not path.is_file():
            continue
        try:
            notebook = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            errors.append(f"{rel}: not a valid notebook ({error}); save it again from Jupyter")
            continue
        # Empty code cells (where the instructor's hidden tests were) have nothing to run.
        code = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"
                and "".join(c.get("source") or "").strip()]
        executed = [c for c in code if c.get("execution_count") is not None]
        if code and not executed:
            errors.append(f"{rel}: never executed; run all cells (Runtime > Run all), save, then collect")
        elif len(executed) < len(code):
            warnings.append(f"{rel}: {len(code) - len(executed)} of {len(code)} code cells were not run")
        failed = sum(1 for c in code for o in c.get("outputs", []) if o.get("output_type") == "error")
        if failed:
            warnings.append(f"{rel}: {failed} cell(s) ended with an error")
    return errors, warnings


def build_zip(hw4: Path, out: Path) -> list[str]:
    """Write the zip (files at their paths relative to hw4/); returns what was packed."""
    packed = [rel for rel in MODULES + NOTEBOOKS if (hw4 / rel).is_file()]
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in packed:
            archive.write(hw4 / rel, rel)
    return packed


def _find_autograder(hw4: Path) -> None:
    for root in [hw4, *hw4.parents][:4]:
        if (root / "autograder" / "__init__.py").is_file():
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            return


def build_written(hw4: Path) -> dict | None:
    """The written-work PDF (theory answers, written answers, figures); None if the
    autograder package that builds it is not found."""
    _find_autograder(hw4)
    try:
        from autograder.written import build_pdf
    except ImportError as error:
        print(f"(written-work PDF skipped: {error}; run `pip install -r requirements.txt`)")
        return None
    return build_pdf(hw4)


def run_public_checks(zip_path: Path, hw4: Path):
    """Grade the zip with the public checks; returns the engine's report (or None)."""
    _find_autograder(hw4)
    try:
        from autograder.engine import grade_folder
    except ImportError as error:
        print(f"(public checks skipped: the autograder package was not found: {error})")
        return None
    return grade_folder(zip_path, device="cpu", include_hidden=False)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Build hw4_submission.zip for Gradescope.")
    parser.add_argument("--out", type=Path, default=HW4 / ZIP_NAME, help="where to write the zip")
    parser.add_argument("--force", action="store_true", help="build the zip despite problems")
    parser.add_argument("--no-checks", action="store_true", help="skip the public checks")
    parser.add_argument("--no-pdf", action="store_true", help="skip the written-work PDF")
    args = parser.parse_args(argv)

    written = None if args.no_pdf else build_written(HW4)
    if written is not None:
        for line in written["warnings"]:
            print(f"WARNING (written work): {line}")
    errors, warnings = inspect(HW4)
    for line in warnings:
        print(f"WARNING: {line}")
    for line in errors:
        print(f"ERROR: {line}")
    if errors and not args.force:
        print("\nNo zip written: fix the errors above (or rerun with --force to pack anyway).")
        return 1
    out = args.out.resolve()
    if out.exists():
        out.unlink()
    packed = build_zip(HW4, out)
    print(f"\nWrote {out} with {len(packed)} file(s):")
    for rel in packed:
        print(f"  {rel}  ({(HW4 / rel).stat().st_size / 1024:.0f} KB)")

    score = None
    if not args.no_checks:
        print("\nRunning the public checks on the files in the zip (this takes a minute) ...")
        report = run_public_checks(out, HW4)
        if report is not None:
            if report.output:
                print(report.output)
            print(report.table())
            details = report.details()
            if details:
                print("\nWhat went wrong:\n" + details)
            score = (report.score, report.max_score)

    print("\nSummary:")
    print(f"  zip: {out}  (Gradescope: the code assignment)")
    if written is not None:
        if written["pdf"] is not None:
            print(f"  written work: {written['pdf']}  (Gradescope: the written assignment; "
                  f"{written['items']} pages, {len(written['warnings'])} warning(s))")
        else:
            print(f"  written work: NOT built: {written.get('error')}")
    print(f"  problems: {len(errors)} error(s), {len(warnings)} warning(s)")
    if score is not None:
        print(f"  public checks: {score[0]:g} / {score[1]:g} points "
              "(hidden checks and written answers are graded after the deadline)")
    print("  Upload the zip to Gradescope." if not errors else "  The zip is INCOMPLETE (built with --force).")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
