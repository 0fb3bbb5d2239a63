"""The written half: one registry of questions and figures serves the book, the theory
answer template, the notebooks' manually graded cells, the PDF and the instructor's
outline; collect_submission.py builds the PDF that Gradescope's written assignment takes."""
from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import nbformat
import pytest

from autograder import book
from autograder.engine import select_checks
from autograder.manifest import current
from autograder.written import TEMPLATE, UNANSWERED, outline, registry, theory_from_template

matplotlib.use("Agg")
ASSIGNMENT = current()
RELEASE = ASSIGNMENT.release_dir
BROWSER = pytest.mark.skipif(shutil.which("chromium") is None, reason="needs headless Chromium")


def test_book_template_and_notebooks_agree_on_every_written_item():
    instructor = registry()
    student = registry(RELEASE)
    assert [(i.id, i.title, i.points, i.kind) for i in instructor] == [(i.id, i.title, i.points, i.kind) for i in student]
    theory = [i for i in instructor if i.kind == "theory"]
    assert [(f"theory.{q['number']}", q["points"]) for q in book.theory_questions()] == [(i.id, i.points) for i in theory]
    assert theory_from_template(RELEASE / TEMPLATE) == [i for i in student if i.kind == "theory"]
    # every manually graded cell of every notebook is in the registry, with its points
    manual = []
    for part in ASSIGNMENT.parts:
        for cell in nbformat.read(RELEASE / part.notebook, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and meta.get("grade") and cell.cell_type == "markdown":
                manual.append((f"{part.id}.{meta['grade_id']}", float(meta["points"])))
    assert manual == [(i.id, i.points) for i in instructor if i.kind == "answer"]
    assert [(f["notebook"], f["cell"]) for f in ASSIGNMENT.figures] == \
        [(i.notebook, i.cell) for i in instructor if i.kind == "figure"]


def test_outline_lists_the_pdf_order_and_code_plus_written_is_the_total():
    items = registry()
    text = outline(items)
    rows = [line.split(" | ") for line in text.splitlines()[2:-1]]
    assert [(int(r[0]), r[1]) for r in rows] == [(n, i.id) for n, i in enumerate(items, 1)]
    written = sum(i.points for i in items)
    code = sum(c.points for c in select_checks(include_hidden=True))
    assert f"**{written:g}**" in text.splitlines()[-1]
    # the book's overview table states the homework's total the same way
    tables = book.points_tables(book.BOOK, RELEASE)
    assert f"**{code + written:g}**" in tables["points.md"], tables["points.md"]
    done = subprocess.run([sys.executable, "-m", "autograder", "outline"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == text


def _png(color: str) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, 1], color=color)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


ANSWER = "Answer to {id}: the loss is $\\frac{{1}}{{2}}\\|x - \\hat x\\|^2$ and nothing else."


def _completed_release(folder: Path, leave_unanswered: str | None = None) -> Path:
    """A student's copy with every written answer filled, notebooks 'executed' and a
    figure in each figure cell."""
    shutil.copytree(RELEASE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for item in registry(folder):
        path = folder / item.notebook
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.id == item.cell)
        if item.kind == "figure":
            cell.outputs = [nbformat.v4.new_output("stream", text="Iter: 250, D: 1.2 (a training log)\n"),
                            nbformat.v4.new_output("display_data", data={"image/png": _png("red"), "text/plain": "<Figure>"})]
            cell.execution_count = 1
        elif item.id != leave_unanswered:
            cell.source = ANSWER.format(id=item.id)
        nbformat.write(nb, path)
    for part in ASSIGNMENT.parts:  # every code cell ran
        nb = nbformat.read(folder / part.notebook, as_version=4)
        for number, cell in enumerate(c for c in nb.cells if c.cell_type == "code" and c.source.strip()):
            cell.execution_count = cell.execution_count or number + 1
        nbformat.write(nb, folder / part.notebook)
    return folder


def _collect(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    env.pop("PYTHONPATH", None)
    return subprocess.run([sys.executable, "collect_submission.py", "--no-checks", *args], cwd=folder,
                          capture_output=True, text=True, env=env, timeout=600)


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


@BROWSER
@pytest.mark.slow
def test_collect_submission_writes_the_pdf_one_question_per_page(tmp_path):
    items = registry(RELEASE)
    skipped = items[1].id
    folder = _completed_release(tmp_path / ASSIGNMENT.name, leave_unanswered=skipped)
    done = _collect(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    warned = re.findall(r"WARNING \(written work\): (\S+) ", done.stdout)
    assert warned == [skipped], done.stdout
    assert done.stdout.index("WARNING (written work)") < done.stdout.index("Wrote ")  # before packing
    pdf = folder / f"{ASSIGNMENT.name}_written.pdf"
    pages = _pages(pdf)
    assert len(pages) == len(items)
    for page, item in zip(pages, items):
        head = page.strip().splitlines()[0]
        assert head.startswith(f"{item.id}:"), (item.id, head)
        if item.kind == "figure":
            assert "a training log" not in page
        elif item.id == skipped:
            assert UNANSWERED in page
        else:
            assert f"Answer to {item.id}" in page and UNANSWERED not in page
            assert "$" not in page and "\\frac" not in page, page  # math rendered, no raw TeX
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert len(images.strip().splitlines()) - 2 >= sum(i.kind == "figure" for i in items)
    # built twice from the same inputs: the same pages and text
    first = pages
    assert _collect(folder).returncode == 0
    assert _pages(pdf) == first


@BROWSER
def test_untouched_release_lists_what_is_missing_and_still_packs(tmp_path):
    folder = tmp_path / ASSIGNMENT.name
    shutil.copytree(RELEASE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    done = _collect(folder, "--force")
    warned = re.findall(r"WARNING \(written work\): (\S+) ", done.stdout)
    assert warned == [i.id for i in registry(RELEASE)], done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert (folder / f"{ASSIGNMENT.name}_submission.zip").is_file()
    assert (folder / f"{ASSIGNMENT.name}_written.pdf").is_file()


def test_without_chromium_the_html_is_kept_with_instructions(tmp_path, monkeypatch):
    from autograder import written

    folder = tmp_path / ASSIGNMENT.name
    shutil.copytree(RELEASE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(written, "find_chromium", lambda: None)
    result = written.build_pdf(folder)
    assert result["pdf"] is None and "print it to PDF" in result["error"]
    page = result["html"].read_text()
    assert page.count("<section>") == len(registry(folder)) and "<math" in page
