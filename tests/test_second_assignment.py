"""A second, tiny assignment goes through the whole pipeline without an engine edit.

The course built here is what an instructor adding next year's homework writes: a
copy of the ``autograder`` engine, ``nbgrader_config.py`` and ``requirements.txt`` as they are, and
only data plus check modules of its own:

    source/tiny/assignment.toml      the manifest
    source/tiny/randomizer.py        the provided randomizer (HW4's)
    source/tiny/vectors/ops.py       two student functions with solution fences
    source/tiny/tiny.ipynb           one notebook: set-up, check cells, a written answer
    tiny_checks.py                   public checks (shipped to students)
    tiny_checks_hidden.py            hidden checks

and it takes that through ``answers``, ``grade``, ``release`` (with the notebook's
check-cell points written from the registry), the student's copy of the release,
``nbgrader generate_assignment`` / ``autograde`` and the Gradescope zip.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.release import nbgrader_env

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("second_assignment")  # one worker builds the tiny course once

MANIFEST = """\
name = "tiny"
title = "Tiny: vector operations"
answers = "answers/tiny"
submission_zip = "tiny_submission.zip"

[[files]]
path = "vectors/ops.py"
functions = ["scale", "unit"]

[[parts]]
id = "ops"
title = "Vector operations"
notebook = "tiny.ipynb"
checks = "tiny_checks"
hidden_checks = "tiny_checks_hidden"

[runner]
preload = ["torch"]
"""

OPS = '''\
"""Vector operations: the tiny assignment's student file."""
import torch


def scale(x, k):
    """``k * x``. x: (B, D) float32, k: a Python float; returns (B, D) float32."""
    ### BEGIN SOLUTION
    return k * x
    ### END SOLUTION


def unit(x):
    """Each row of x divided by its Euclidean norm. x: (B, D) float32, no zero row;
    returns (B, D) float32 whose rows have norm 1."""
    ### BEGIN SOLUTION
    return x / torch.linalg.vector_norm(x, dim=1, keepdim=True)
    ### END SOLUTION
'''

CHECKS = '''\
"""Public checks of the tiny assignment."""
import numpy as np

from autograder.checks.api import Close, Hint, check

OPS = "vectors/ops.py"


def _scale(env):
    import torch

    x = torch.arange(6, dtype=torch.float32, device=env.device).reshape(2, 3)
    return {"y": env.module(OPS).scale(x, 2.5)}


def _unit(env):
    env.seed(0)
    x = env.randomizer.randn((4, 3), device=env.device)
    return {"u": env.module(OPS).unit(x)}


CHECKS = [
    check(id="ops.scale.values", title="scale: every element times k", module=OPS, function="scale",
          points=2, call="scale(arange(6).reshape(2, 3), 2.5)", run=_scale, expect={"y": Close()}),
    check(id="ops.unit.values", title="unit: rows of norm 1", module=OPS, function="unit", points=3,
          call="unit(x) for x = randn((4, 3)) after seed(0)", run=_unit, expect={"u": Close()},
          hints=[Hint("the rows must have norm 1: divide by the square root of the sum of squares",
                      lambda got, ans: not np.allclose(np.linalg.norm(got["u"], axis=1), 1, atol=1e-4))]),
]
'''

HIDDEN = '''\
"""Hidden checks of the tiny assignment."""
from autograder.checks.api import Close, check

import tiny_checks as p


def _unit_wide(env):
    env.seed(5)
    x = env.randomizer.randn((2, 50), device=env.device)
    return {"u": env.module(p.OPS).unit(x)}


CHECKS = [
    check(id="ops.unit.wide", title="unit: 50 columns", module=p.OPS, function="unit", points=2,
          hidden=True, call="unit(x) for x = randn((2, 50)) after seed(5)", run=_unit_wide,
          expect={"u": Close()}),
]
'''

SETUP = """\
import pathlib, sys
for _root in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents][:4]:
    if (_root / "autograder" / "__init__.py").exists():
        sys.path.insert(0, str(_root))
        break
from autograder.notebook import check"""


def _notebook() -> nbformat.NotebookNode:
    def meta(grade_id, **extra):
        base = {"grade": False, "grade_id": grade_id, "locked": True, "schema_version": 3,
                "solution": False, "task": False}
        base.update(extra)
        return {"nbgrader": base}

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(SETUP, id="setup", metadata=meta("setup")),
        nbformat.v4.new_markdown_cell("Write `scale` and `unit` in `vectors/ops.py`.", id="intro"),
        # points 0: `release --write-points` fills them in from the registry
        nbformat.v4.new_code_cell('check("scale")', id="check_scale", metadata=meta("check_scale", grade=True, points=0)),
        nbformat.v4.new_code_cell('check("unit")', id="check_unit", metadata=meta("check_unit", grade=True, points=0)),
        nbformat.v4.new_code_cell('### BEGIN HIDDEN TESTS\ncheck("unit", hidden=True)\n### END HIDDEN TESTS',
                                  id="check_unit_hidden", metadata=meta("check_unit_hidden", grade=True, points=0)),
        nbformat.v4.new_markdown_cell("### BEGIN SOLUTION\nNormalising keeps directions only.\n### END SOLUTION",
                                      id="why", metadata=meta("why", grade=True, solution=True, locked=False, points=1)),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _run(args, cwd, **env):
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env})
    assert done.returncode == 0, f"{' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"
    return done


def _grade(folder: Path, cwd: Path, *extra) -> dict:
    out = folder.parent / f"{folder.name}-results.json"
    _run([sys.executable, "-m", "autograder", "grade", str(folder), "--json", str(out), *extra], cwd)
    return json.loads(out.read_text())


def _student(dest: Path, release: Path, ops: str) -> Path:
    shutil.copytree(release, dest, ignore=shutil.ignore_patterns("__pycache__", "autograder", "answers", "tiny_checks*"))
    (dest / "vectors" / "ops.py").write_text(ops)
    return dest


# A realistic mistake: the rows divided by the squared norm.
WRONG_UNIT = OPS.replace("torch.linalg.vector_norm(x, dim=1, keepdim=True)", "(x ** 2).sum(dim=1, keepdim=True)")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The tiny course, with answers generated and the release built."""
    course = tmp_path_factory.mktemp("second") / "course"
    shutil.copytree(ROOT / "autograder", course / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__", "answers", "part1*.py", "part2*.py"))
    for name in ("nbgrader_config.py", "requirements.txt"):
        shutil.copy(ROOT / name, course / name)
    source = course / "source" / "tiny"
    (source / "vectors").mkdir(parents=True)
    (source / "assignment.toml").write_text(MANIFEST)
    shutil.copy(ROOT / "source" / "hw4" / "randomizer.py", source / "randomizer.py")
    (source / "vectors" / "ops.py").write_text(OPS)
    nbformat.write(_notebook(), source / "tiny.ipynb")
    (course / "tiny_checks.py").write_text(CHECKS)
    (course / "tiny_checks_hidden.py").write_text(HIDDEN)
    _run([sys.executable, "-m", "autograder", "answers"], course)
    _run([sys.executable, "-m", "autograder", "release", "--write-points"], course)
    return course


def test_answers_live_where_the_manifest_says(course):
    answers = course / "answers" / "tiny"
    assert sorted(p.name for p in answers.iterdir()) == ["hidden.npz", "public.npz", "timings.json"]
    with zipfile.ZipFile(answers / "public.npz") as public, zipfile.ZipFile(answers / "hidden.npz") as hidden:
        assert {n.partition("/")[0] for n in public.namelist()} == {"ops.scale.values", "ops.unit.values"}
        assert {n.partition("/")[0] for n in hidden.namelist()} == {"ops.unit.wide"}


def test_reference_gets_full_marks_and_a_mistake_loses_its_function(course, tmp_path):
    reference = _grade(course / "source" / "tiny", course)
    assert reference["score"] == 7 and all(t["status"] == "passed" for t in reference["tests"])
    wrong = _student(tmp_path / "wrong", course / "release" / "tiny", WRONG_UNIT)
    scores = {t["name"]: t["score"] for t in _grade(wrong, course)["tests"]}
    assert sum(scores.values()) == 2 and scores["scale: every element times k"] == 2


def test_release_is_stripped_and_carries_only_public_grading(course):
    release = course / "release" / "tiny"
    files = sorted(p.relative_to(release).as_posix() for p in release.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    grading = [f for f in files if f.startswith("autograder/")]
    assert sorted(set(files) - set(grading)) == [
        "answers/tiny/public.npz", "answers/tiny/timings.json", "assignment.toml", "randomizer.py", "requirements.txt",
        "tiny.ipynb", "tiny_checks.py", "vectors/ops.py"]
    assert "autograder/manifest.py" in grading and not any("part1" in f or "hidden" in f for f in grading)
    ops = (release / "vectors" / "ops.py").read_text()
    assert ops.count("not implemented yet") == 2 and "vector_norm" not in ops
    timed = json.loads((release / "answers" / "tiny" / "timings.json").read_text())["seconds"]
    assert set(timed) == {"ops.scale.values", "ops.unit.values"}
    cells = {c.id: c for c in nbformat.read(release / "tiny.ipynb", as_version=4).cells}
    assert cells["check_scale"].metadata.nbgrader.points == 2
    assert cells["check_unit"].metadata.nbgrader.points == 3
    assert "check_unit_hidden" not in cells or "hidden=True" not in cells["check_unit_hidden"].source
    untouched = _grade(release, course)
    assert untouched["score"] == 0 and len(untouched["tests"]) == 3
    assert all("not implemented yet" in t["output"] for t in untouched["tests"])


def test_students_copy_of_the_release_checks_on_its_own(course, tmp_path):
    """A student's copy (no course around it): public checks only, from the copy's package."""
    copy = tmp_path / "tiny"
    shutil.copytree(course / "release" / "tiny", copy)
    (copy / "vectors" / "ops.py").write_text(OPS)
    done = _run([sys.executable, "-c", textwrap.dedent("""
        from autograder.notebook import check
        print("points", check("scale") + check("unit"))
    """)], copy, PYTHONPATH="")
    assert "points 5" in done.stdout, done.stdout
    assert "hidden" not in done.stdout


def test_gradescope_zip_grades_the_tiny_assignment(course, tmp_path):
    zip_path = tmp_path / "autograder.zip"
    _run([sys.executable, "-m", "autograder", "gradescope", "--out", str(zip_path)], course)
    root = tmp_path / "gs"
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        assert {"tiny_checks.py", "tiny_checks_hidden.py", "answers/tiny/hidden.npz",
                "release/tiny/assignment.toml", "release/tiny/vectors/ops.py"} <= names
        assert not any(n.startswith("source/") for n in names)
        archive.extractall(root / "source")
    os.chmod(root / "source" / "run_autograder", 0o755)
    submission = root / "submission" / "vectors"
    submission.mkdir(parents=True)
    (submission / "ops.py").write_text(WRONG_UNIT)
    _run([str(root / "source" / "run_autograder")], root,
         AUTOGRADER_ROOT=str(root), HW4_PYTHON=sys.executable, PYTHONPATH="")
    data = json.loads((root / "results" / "results.json").read_text())
    assert (data["score"], sum(t["max_score"] for t in data["tests"])) == (2, 7)


@pytest.mark.slow
def test_nbgrader_generates_and_autogrades_the_tiny_assignment(course, tmp_path):
    env = nbgrader_env(JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter"), OMP_NUM_THREADS="1",
                       MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    env.pop("NBGRADER_EXECUTION", None)
    (tmp_path / "jupyter").mkdir()

    def nbgrader(*args):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"nbgrader {args}:\n{done.stdout}\n{done.stderr}"

    before = (course / "release" / "tiny" / "vectors" / "ops.py").read_text()
    nbgrader("generate_assignment", "tiny", "--force")
    # the hook rebuilt the release: the module is stripped again, not nbgrader's verbatim copy
    assert (course / "release" / "tiny" / "vectors" / "ops.py").read_text() == before
    submitted = course / "submitted" / "alice" / "tiny"
    (submitted / "vectors").mkdir(parents=True)
    shutil.copy(course / "release" / "tiny" / "tiny.ipynb", submitted / "tiny.ipynb")
    (submitted / "vectors" / "ops.py").write_text(WRONG_UNIT)
    nbgrader("autograde", "tiny", "--force")
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "tiny") as gradebook:
        grades = {g.name: g.auto_score for nb in gradebook.find_submission("tiny", "alice").notebooks
                  for g in nb.grades}
    assert grades["check_scale"] == 2 and grades["check_unit"] == 0 and grades["check_unit_hidden"] == 0
    assert (course / "autograded" / "alice" / "tiny" / "vectors" / "ops.py").read_text() == WRONG_UNIT


def test_an_assignment_named_in_the_environment_is_found_in_a_students_copy(course, tmp_path):
    """A kernel that ran check() has AUTOGRADER_ASSIGNMENT=<name>; a copy of the release
    elsewhere (its package inside the assignment folder) must still find its manifest."""
    copy = tmp_path / "tiny"
    shutil.copytree(course / "release" / "tiny", copy)
    done = _run([sys.executable, "-c", "from autograder.manifest import current; print(current().path)"],
                copy, AUTOGRADER_ASSIGNMENT="tiny", PYTHONPATH="")
    assert done.stdout.strip() == str((copy / "assignment.toml").resolve())
