"""The grader tells students and graders what is wrong with the submitted notebooks
(the written half lives there), without changing any code point."""
from __future__ import annotations

import json
import shutil

import nbformat

from autograder.engine import grade_folder, notebook_notes
from autograder.manifest import current

NOTEBOOKS = current().notebooks
RELEASE = current().release_dir


def _bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()


def _executed(name: str, answered: bool) -> bytes:
    nb = nbformat.read(RELEASE / name, as_version=4)
    for number, cell in enumerate(c for c in nb.cells if c.cell_type == "code" and c.source.strip()):
        cell.execution_count = number + 1
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution") and answered:
            cell.source = "The losses oscillate because each player chases the other."
    return _bytes(nb)


def test_complete_notebooks_give_no_note():
    assert notebook_notes({name: _executed(name, answered=True) for name in NOTEBOOKS}) == []


def test_each_notebook_problem_is_named():
    first, second = NOTEBOOKS[0], NOTEBOOKS[1]
    notes = "\n".join(notebook_notes({first: (RELEASE / first).read_bytes()}))
    assert f"{first}: never executed" in notes and f"{second}: not in the submission" in notes
    unanswered = [c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(RELEASE / first, as_version=4).cells
                  if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")]
    assert unanswered and f"{first}: written answers still say 'YOUR ANSWER HERE': {', '.join(unanswered)}" in notes
    broken = "\n".join(notebook_notes({first: b"{not json", second: _executed(second, answered=True)}))
    assert f"{first}: not a readable notebook" in broken and second not in broken


def test_notebook_problems_change_no_points(tmp_path):
    complete = tmp_path / "complete"
    shutil.copytree(current().source_dir, complete, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__", "instructor"))
    for name in NOTEBOOKS:
        (complete / name).write_bytes(_executed(name, answered=True))
    broken = tmp_path / "broken"
    shutil.copytree(complete, broken)
    (broken / NOTEBOOKS[0]).write_text("{not json")
    (broken / NOTEBOOKS[1]).unlink()
    good, bad = grade_folder(complete, only="part1.sample_noise"), grade_folder(broken, only="part1.sample_noise")
    assert good.score == bad.score == good.max_score > 0
    assert "Notebooks" not in good.output and "not a readable notebook" in bad.output
    results = tmp_path / "results.json"
    bad.write_json(results)
    assert "not in the submission" in json.loads(results.read_text())["output"]
