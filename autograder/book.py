"""``python -m autograder book [--instructor]``: build the course book.

The book's pages live in ``assignments/``; the part pages are the student release
notebooks the manifest names (``release/hw4/part1_gans.ipynb``, ...), shown and never
executed. Neither is copied into ``assignments/`` by hand: each build
stages the pages, the release notebooks and the generated points tables in
``assignments/_build/stage-<edition>/`` and runs Jupyter Book 1 (Sphinx) on that
folder with warnings treated as errors.

* student edition (default): ``assignments/_build/html``;
* instructor edition (``--instructor``): the same pages plus the worked solutions of
  the theory questions from ``source/theory/`` (executed, so their numerical checks
  run), in ``assignments/_build/instructor/_build/html``. Never publish it.

After a student build, the output is scanned: a solution marker or a solution fence
anywhere in it fails the build.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .manifest import current
from .written import QUESTION

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "assignments"
THEORY_SOURCE = REPO / "source" / "theory"
ASSIGNMENT = current()
RELEASE = ASSIGNMENT.release_dir

# The release notebooks and the book page each becomes (docname -> file name), from the manifest.
NOTEBOOKS = {f"{ASSIGNMENT.name}/{p.notebook[:-len('.ipynb')]}": p.notebook for p in ASSIGNMENT.parts if p.notebook}
PART_OF_NOTEBOOK = {p.notebook: p.id for p in ASSIGNMENT.parts if p.notebook}
PART_TITLES = {p.id: p.title for p in ASSIGNMENT.parts}

# Appears on every page of the instructor solutions and nowhere else: a student build
# whose output contains it (or a solution fence) is refused.
SOLUTION_MARKER = "HW4-INSTRUCTOR-SOLUTIONS"
FORBIDDEN_IN_STUDENT_BUILD = (SOLUTION_MARKER, "### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")

SECTION = re.compile(r"^## (?P<number>\d+)\. (?P<title>.+?)\s*$")


class BookError(RuntimeError):
    pass


def default_output(instructor: bool) -> Path:
    """Where ``main`` writes the HTML of each edition."""
    if instructor:
        return BOOK / "_build" / "instructor" / "_build" / "html"
    return BOOK / "_build" / "html"


# ------------------------------------------------------------------ points tables
def theory_questions(page: Path = BOOK / "hw4" / "theory.md") -> list[dict]:
    """The questions of the theory page: section, number, title, points."""
    found, section = [], None
    for line in page.read_text().splitlines():
        if m := SECTION.match(line):
            section = m["title"]
        elif m := QUESTION.match(line):
            found.append({"section": section, "number": m["number"], "title": m["title"],
                          "points": int(m["points"])})
    if not found:
        raise BookError(f"{page}: no '### Question N: title (P points)' headings")
    return found


def notebook_manual_points(notebook: Path) -> float:
    """Points of the hand-graded cells (written answers, tasks) of an nbgrader notebook."""
    cells = json.loads(notebook.read_text())["cells"]
    total = 0.0
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        # nbgrader: grade + solution is a manually graded answer; a task is graded by hand too
        if (meta.get("grade") and meta.get("solution")) or meta.get("task"):
            total += float(meta.get("points", 0))
    return total


def check_points() -> dict[str, dict[str, float]]:
    """Autograded points per part from the check registry: {'part1': {'public': p, 'hidden': h}}."""
    sys.path.insert(0, str(REPO))
    from autograder.checks import all_checks

    points: dict[str, dict[str, float]] = {}
    for item in all_checks(include_hidden=True):
        kind = "hidden" if item.hidden else "public"
        points.setdefault(item.part, {"public": 0.0, "hidden": 0.0})[kind] += item.points
    return points


def _fmt(value: float) -> str:
    return f"{value:g}"


def points_tables(stage: Path, release: Path) -> dict[str, str]:
    """Markdown for ``_generated/points.md`` and ``_generated/theory_points.md``."""
    questions = theory_questions(stage / "hw4" / "theory.md")
    by_section: dict[str, int] = {}
    for q in questions:
        by_section[q["section"]] = by_section.get(q["section"], 0) + q["points"]
    theory_total = sum(by_section.values())

    checks = check_points()
    rows = [f"| Theory (written, {len(questions)} questions) | | | {theory_total} | {theory_total} |"]
    grand = float(theory_total)
    for notebook, part in PART_OF_NOTEBOOK.items():
        got = checks.get(part, {"public": 0.0, "hidden": 0.0})
        path = release / notebook
        manual = notebook_manual_points(path) if path.is_file() else 0.0
        total = got["public"] + got["hidden"] + manual
        grand += total
        rows.append(f"| {PART_TITLES[part]} | {_fmt(got['public'])} | {_fmt(got['hidden'])} | "
                    f"{_fmt(manual)} | {_fmt(total)} |")
    overview = "\n".join([
        "| part | public checks | hidden checks | graded by hand | total |",
        "|---|---:|---:|---:|---:|",
        *rows,
        f"| **Total** | | | | **{_fmt(grand)}** |",
        "",
        "Public checks run in your notebook and on Gradescope; hidden checks only on",
        "Gradescope. *Graded by hand* are the written answers in the notebooks and, for the",
        "theory, your PDF. The table is generated from the autograder's checks and the",
        "notebooks each time the book is built.",
        "",
    ])
    theory = "\n".join([
        "| section | points |",
        "|---|---:|",
        *[f"| {section} | {points} |" for section, points in by_section.items()],
        f"| **Total** | **{theory_total}** |",
        "",
    ])
    return {"points.md": overview, "theory_points.md": theory}


# ------------------------------------------------------------------ staging
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|<img\s[^>]*src=[\"']([^\"']+)[\"']")


def notebook_assets(notebook: Path) -> list[str]:
    """Relative paths of the local images a notebook's markdown cells show (files that exist)."""
    found = []
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for match in IMAGE_LINK.finditer(text):
            link = (match[1] or match[2]).split("#")[0]
            if re.match(r"^[a-z][a-z0-9+.-]*:", link) or link.startswith("/"):
                continue  # a URL, an attachment: or an absolute path: nothing to copy
            if ".." not in Path(link).parts and (notebook.parent / link).is_file() and link not in found:
                found.append(link)
    return found


def _yaml():
    import yaml

    return yaml


def _merge(base: dict, extra: dict) -> dict:
    """Recursive update: mappings merge, everything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _missing_notebook_page(docname: str, notebook: Path) -> str:
    title = PART_TITLES[PART_OF_NOTEBOOK[Path(docname).name + ".ipynb"]]
    return (f"# {title}\n\n```{{warning}}\nThe release notebook `{notebook.name}` has not been "
            "generated yet. Instructors: run `make release`, then `make book`.\n```\n")


def stage(stage_dir: Path, release: Path, instructor: bool) -> list[str]:
    """Lay out the book's source in ``stage_dir``; returns the notebooks that were missing."""
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    shutil.copytree(BOOK, stage_dir, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints",
                                                                    "__pycache__"))
    missing = []
    for docname, name in NOTEBOOKS.items():
        source = release / name
        if source.is_file():
            shutil.copy2(source, stage_dir / f"{docname}.ipynb")
            for asset in notebook_assets(source):
                target = stage_dir / Path(docname).parent / asset
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(release / asset, target)
        else:
            missing.append(str(source))
            (stage_dir / f"{docname}.md").write_text(_missing_notebook_page(docname, source))

    generated = stage_dir / "_generated"
    generated.mkdir()
    for name, text in points_tables(stage_dir, release).items():
        (generated / name).write_text(text)

    if instructor:
        yaml = _yaml()
        config = yaml.safe_load((stage_dir / "_config.yml").read_text())
        extra = yaml.safe_load((THEORY_SOURCE / "_config.yml").read_text())
        (stage_dir / "_config.yml").write_text(yaml.safe_dump(_merge(config, extra), sort_keys=False))
        toc = yaml.safe_load((stage_dir / "_toc.yml").read_text())
        toc["parts"].extend(yaml.safe_load((THEORY_SOURCE / "_toc.yml").read_text())["parts"])
        (stage_dir / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
        target = stage_dir / "instructor"
        target.mkdir()
        for page in sorted(THEORY_SOURCE.glob("*.md")):
            if page.name == "README.md":
                continue
            shutil.copy2(page, target / page.name)
    return missing


# ------------------------------------------------------------------ build
def scan_student_build(html: Path) -> list[str]:
    """Files of a student build that hold a solution marker or fence (should be none)."""
    leaks = []
    for path in sorted(html.rglob("*")):
        if not path.is_file() or path.suffix not in {".html", ".js", ".txt", ".ipynb", ".md", ".json"}:
            continue
        if "_static/mathjax" in path.as_posix():
            continue
        text = path.read_text(errors="replace")
        for needle in FORBIDDEN_IN_STUDENT_BUILD:
            if needle in text:
                leaks.append(f"{path.relative_to(html)}: contains {needle!r}")
    return leaks


def build(instructor: bool = False, release: Path = RELEASE, path_output: Path | None = None,
          strict: bool = False, quiet: bool = False) -> Path:
    """Stage and build one edition; returns the folder holding index.html."""
    edition = "instructor" if instructor else "student"
    if path_output is None:
        path_output = default_output(instructor).parents[1]
    stage_dir = Path(path_output) / "_build" / f"stage-{edition}"
    missing = stage(stage_dir, Path(release), instructor)
    for path in missing:
        message = f"release notebook {path} is missing: its page says so (run `make release` first)"
        if strict:
            raise BookError(message)
        print(f"warning: {message}", file=sys.stderr)
    command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build",
               str(stage_dir), "--path-output", str(path_output), "--all", "-W", "--keep-going"]
    if quiet:
        command.append("-q")
    done = subprocess.run(command, cwd=REPO, capture_output=quiet, text=True)
    if done.returncode != 0:
        detail = (done.stdout or "")[-6000:] + (done.stderr or "")[-6000:] if quiet else ""
        raise BookError(f"jupyter-book build failed ({edition} edition, warnings are errors)\n{detail}")
    html = Path(path_output) / "_build" / "html"
    # Images a notebook shows through raw <img> HTML are not seen by Sphinx: put them
    # beside the page, where the browser looks for them.
    for docname, name in NOTEBOOKS.items():
        if (Path(release) / name).is_file():
            for asset in notebook_assets(Path(release) / name):
                target = html / Path(docname).parent / asset
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(release) / asset, target)
    if not instructor:
        leaks = scan_student_build(html)
        if leaks:
            raise BookError("the student book shows solutions:\n  " + "\n  ".join(leaks))
    return html


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder book", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instructor", action="store_true",
                        help="the instructor edition, with the theory solutions (never publish it)")
    parser.add_argument("--release", type=Path, default=RELEASE,
                        help="folder holding the student notebooks (default: release/hw4)")
    parser.add_argument("--path-output", type=Path,
                        help="write the site to PATH/_build/html (default: assignments/_build/html, "
                             "or assignments/_build/instructor/_build/html)")
    parser.add_argument("--strict", action="store_true",
                        help="fail when a release notebook is missing instead of showing a notice")
    parser.add_argument("--quiet", action="store_true", help="print Sphinx's output only on failure")
    args = parser.parse_args(argv)
    try:
        html = build(args.instructor, args.release, args.path_output, args.strict, args.quiet)
    except BookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{'instructor' if args.instructor else 'student'} book: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
