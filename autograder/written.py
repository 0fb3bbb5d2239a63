"""The written half of the homework: one registry of questions and figures, and the PDF.

People grade the theory answers, the notebooks' written answers and a few figures.
:func:`registry` lists them, in the order of the PDF, from one place per kind:

* theory questions: the book's theory page (``assignments/<name>/theory.md``, its
  ``### Question N: title (P points)`` headings); the release builder turns them
  into the answer template ``theory_answers.ipynb`` (:func:`template_notebook`), and
  in a student's folder the template is read instead;
* written answers: each notebook's manually graded nbgrader Markdown cells (their
  ``grade_id`` and points), titled by the question in the cell above;
* figures: the code cells named in the manifest (``[[figures]]``), whose outputs
  are copied into the PDF.

:func:`build_pdf` writes ``<name>_written.pdf``: every item on its own page with its
id and points in the heading, math rendered (TeX to MathML, offline), figures
embedded, training logs and check output left out. Headless Chromium prints it;
where there is none, the HTML is kept with instructions to print it from a browser.
"""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .manifest import Assignment, current

UNANSWERED = "YOUR ANSWER HERE"
TEMPLATE = "theory_answers.ipynb"
QUESTION = re.compile(r"^### Question (?P<number>[\d.]+): (?P<title>.+?) \((?P<points>\d+) points?\)\s*$")
_NOTEBOOK_QUESTION = re.compile(r"\*\*(Question \d+)[^*]*\*\*\s*(.*)", re.S)
_MATH = re.compile(r"(?<!\\)(\$\$.+?\$\$|\$[^$\n]+?\$)", re.S)


@dataclass(frozen=True)
class Item:
    id: str          # e.g. "theory.1.4", "part1.q2_answer", "part2.fig.samples"
    title: str
    points: float    # 0 for a figure: it is graded with the questions that refer to it
    kind: str        # "theory", "answer" or "figure"
    notebook: str    # where the answer or figure lives (the template for theory)
    cell: str        # that cell's id

    @property
    def heading(self) -> str:
        worth = f" ({self.points:g} point{'s' if self.points != 1 else ''})" if self.kind != "figure" else ""
        return f"{self.id}: {self.title}{worth}"


# ------------------------------------------------------------------------ registry

def theory_from_book(page: Path) -> list[Item]:
    """The theory questions of the book's theory page, in order."""
    items = []
    for line in page.read_text(encoding="utf-8").splitlines():
        if m := QUESTION.match(line):
            items.append(Item(f"theory.{m['number']}", f"Question {m['number']}: {m['title']}",
                              float(m["points"]), "theory", TEMPLATE, f"theory_{m['number'].replace('.', '_')}"))
    return items


def template_notebook(theory: list[Item], title: str):
    """The theory answer template: per question a locked heading and an answer cell."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"# {title}: theory answers\n\nWrite each answer in the cell under its question (Markdown; math as "
        "`$...$` or `$$...$$`). `python collect_submission.py` puts these answers, your notebooks' written "
        "answers and the required figures into one PDF for Gradescope. The questions are in the course book.",
        id="theory_intro", metadata={"deletable": False, "editable": False}))
    for item in theory:
        nb.cells.append(nbformat.v4.new_markdown_cell(f"## {item.heading}", id=f"{item.cell}_question",
                                                      metadata={"deletable": False, "editable": False}))
        nb.cells.append(nbformat.v4.new_markdown_cell(UNANSWERED, id=item.cell, metadata={"written": {
            "id": item.id, "title": item.title, "points": item.points}}))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if isinstance(c, dict)]


def _text(cell: dict) -> str:
    source = cell.get("source") or ""
    return "".join(source) if isinstance(source, list) else str(source)


def theory_from_template(path: Path) -> list[Item]:
    items = []
    for cell in _cells(path):
        meta = cell.get("metadata", {}).get("written")
        if meta:
            items.append(Item(meta["id"], meta["title"], float(meta["points"]), "theory", path.name, cell["id"]))
    return items


def notebook_items(folder: Path, assignment: Assignment) -> list[Item]:
    """Written answers and required figures of each part's notebook, in notebook order."""
    figures = {(f["notebook"], f["cell"]): f["title"] for f in assignment.figures}
    items = []
    for part in assignment.parts:
        if not part.notebook:
            continue
        cells = _cells(folder / part.notebook)
        for index, cell in enumerate(cells):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.get("cell_type") == "markdown" and meta.get("solution") and meta.get("grade"):
                asked = _text(cells[index - 1]) if index else ""
                m = _NOTEBOOK_QUESTION.search(asked)
                title = f"{part.title}, {m.group(1)}" if m else f"{part.title}, {meta['grade_id']}"
                items.append(Item(f"{part.id}.{meta['grade_id']}", title, float(meta.get("points", 0)),
                                  "answer", part.notebook, cell.get("id", "")))
            elif (part.notebook, cell.get("id")) in figures:
                items.append(Item(f"{part.id}.fig.{cell['id']}", figures[(part.notebook, cell["id"])], 0.0,
                                  "figure", part.notebook, cell["id"]))
    return items


def registry(folder: Path | None = None, assignment: Assignment | None = None) -> list[Item]:
    """Every written item in PDF order. ``folder``: a student's assignment folder (theory
    from its template); default: the instructor's source, theory from the book."""
    assignment = assignment or current()
    if folder is None:
        theory = theory_from_book(assignment.course_root / "assignments" / assignment.name / "theory.md")
        folder = assignment.source_dir
    else:
        template = Path(folder) / TEMPLATE
        theory = theory_from_template(template) if template.is_file() else []
    return theory + notebook_items(Path(folder), assignment)


def outline(items: list[Item]) -> str:
    """The question list for Gradescope's "written" assignment, in PDF order."""
    lines = ["page | id | title | points", "---:|---|---|---:"]
    for page, item in enumerate(items, 1):
        lines.append(f"{page} | {item.id} | {item.title} | {item.points:g}")
    total = sum(i.points for i in items)
    lines.append(f" | | **total ({sum(i.kind != 'figure' for i in items)} questions)** | **{total:g}**")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- PDF

def _math_to_mathml(tex: str) -> str:
    from latex2mathml.converter import convert

    block = tex.startswith("$$")
    body = tex[2:-2] if block else tex[1:-1]
    return convert(body.strip(), display="block" if block else "inline")


def markdown_html(text: str) -> tuple[str, list[str]]:
    """Markdown with TeX math to HTML with MathML; returns (html, problems)."""
    import mistune

    problems, formulas = [], []

    def keep(match: re.Match) -> str:
        formulas.append(match.group(0))
        return f"MATHPLACEHOLDER{len(formulas) - 1}X"

    protected = _MATH.sub(keep, text)
    rendered = mistune.html(protected)
    for number, tex in enumerate(formulas):
        try:
            mathml = _math_to_mathml(tex)
        except Exception as error:  # an unsupported command: show the TeX, say so
            problems.append(f"could not render {tex[:60]!r} ({type(error).__name__})")
            mathml = f"<code>{html.escape(tex)}</code>"
        rendered = rendered.replace(f"MATHPLACEHOLDER{number}X", mathml)
    return rendered, problems


def _figure_html(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        data = output.get("data", {}) if isinstance(output, dict) else {}
        png = data.get("image/png")
        if png:
            png = "".join(png) if isinstance(png, list) else png
            parts.append(f'<img src="data:image/png;base64,{png.strip()}">')
    return "\n".join(parts)


STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 11pt; margin: 0; }
section { break-before: page; }
section:first-of-type { break-before: auto; }
h2 { font-size: 13pt; border-bottom: 1px solid #999; padding-bottom: 4px; }
img { max-width: 100%; max-height: 22cm; display: block; margin: 8px 0; }
.missing { color: #a00; font-style: italic; }
.asked { color: #444; border-left: 3px solid #bbb; padding-left: 8px; margin-bottom: 12px; }
math[display="block"] { margin: 8px 0; }
"""


def render_html(folder: Path, items: list[Item], title: str) -> tuple[str, list[str]]:
    """The document, and what is missing or could not be rendered (warnings)."""
    warnings: list[str] = []
    cells: dict[str, dict[str, dict]] = {}
    sections = []
    for item in items:
        path = Path(folder) / item.notebook
        if item.notebook not in cells:
            try:
                cells[item.notebook] = {c.get("id"): c for c in _cells(path)}
            except (OSError, ValueError, KeyError) as error:
                cells[item.notebook] = {}
                warnings.append(f"{item.notebook}: cannot be read ({error})")
        cell = cells[item.notebook].get(item.cell)
        body, asked = "", ""
        if cell is None:
            warnings.append(f"{item.id}: cell {item.cell!r} is missing from {item.notebook}")
        elif item.kind == "figure":
            body = _figure_html(cell)
            if not body:
                warnings.append(f"{item.id} ({item.title}): no figure; run that cell of {item.notebook} and save")
        else:
            text = _text(cell).strip()
            if not text or UNANSWERED in text:
                warnings.append(f"{item.id} ({item.title}): not answered yet ({item.notebook})")
            body, problems = markdown_html(text)
            warnings += [f"{item.id}: {p}" for p in problems]
            if item.kind == "answer":  # the question as the notebook asks it, for the grader
                order = list(cells[item.notebook])
                before = order.index(item.cell) - 1
                if before >= 0:
                    asked = markdown_html(_text(cells[item.notebook][order[before]]))[0]
        if not body:
            body = '<p class="missing">(missing)</p>'
        heading = markdown_html(item.heading)[0].strip()
        heading = heading[3:-4] if heading.startswith("<p>") and heading.endswith("</p>") else heading
        asked = f'<div class="asked">{asked}</div>\n' if asked else ""
        sections.append(f"<section><h2>{heading}</h2>\n{asked}{body}\n</section>")
    document = (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f"<style>{STYLE}</style></head><body>\n"
                + "\n".join(sections) + "\n</body></html>\n")
    return document, warnings


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html_path: Path, pdf_path: Path, browser: str) -> None:
    with tempfile.TemporaryDirectory(prefix="written-pdf-") as profile:
        done = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
             f"--user-data-dir={profile}", f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()],
            capture_output=True, text=True, timeout=180)
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise RuntimeError(f"{browser} could not print the PDF: {(done.stderr or done.stdout).strip()[-500:]}")


def build_pdf(folder: Path, out: Path | None = None, assignment: Assignment | None = None) -> dict:
    """Write the written-work PDF of ``folder`` (a student's assignment folder).

    Returns ``{"pdf": path or None, "html": path, "warnings": [...], "items": n}``;
    never raises for a student's mistake (missing answers or figures are warnings).
    """
    assignment = assignment or current()
    folder = Path(folder)
    out = Path(out or folder / f"{assignment.name}_written.pdf")
    items = registry(folder, assignment)
    warnings = []
    if not (folder / TEMPLATE).is_file():
        warnings.append(f"{TEMPLATE} is missing: the theory answers go there (it comes with the release)")
    document, found = render_html(folder, items, assignment.title)
    warnings += found
    html_path = out.with_suffix(".html")
    html_path.write_text(document, encoding="utf-8")
    browser = find_chromium()
    result = {"pdf": None, "html": html_path, "warnings": warnings, "items": len(items)}
    if browser is None:
        result["error"] = (f"no Chromium here to print the PDF: open {html_path.name} in your browser and print "
                           "it to PDF (Ctrl+P, 'Save as PDF'), or install Chromium (Debian/Ubuntu: "
                           "`sudo apt-get install chromium`) and run this again")
        return result
    try:
        print_pdf(html_path, out, browser)
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as error:
        result["error"] = f"{error}; open {html_path.name} in your browser and print it to PDF instead"
        return result
    result["pdf"] = out
    return result


def main(argv=None) -> int:
    """``python -m autograder outline``: the written questions with points, in PDF order."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder outline", description=main.__doc__)
    parser.parse_args(argv)
    print(outline(registry()))
    return 0
