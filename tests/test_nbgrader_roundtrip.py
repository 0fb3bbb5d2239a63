"""The nbgrader round trip with the real nbgrader, and nbgrader == Gradescope scores.

A temporary course (this repository's ``nbgrader_config.py``, root moved to the
temporary folder) gets ``source/hw4``; ``nbgrader generate_assignment`` records the
cells; ``submitted/<student>/hw4`` holds the reference modules, the untouched release
and catalogue mistakes, each with the release notebooks; ``nbgrader autograde`` runs
them (smoke mode, tiny data); each student's autograded total must equal the engine's
total (public + hidden checks: what ``python -m autograder grade`` gives), cell by cell.
"""
from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.manifest import current
from autograder.release import nbgrader_env
from tests.mutants import add_infinite_loops, build_submission
from tests.tiny_data import write_all

LOOPING = "NoiseScheduler.denoise_step"  # the "loops" student's function that never returns

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("nbgrader")]

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "hw4"
RELEASE = ROOT / "release" / "hw4"
NOTEBOOKS = current().notebooks
CHECK_CALL = re.compile(r"""check\(\s*["']([\w.]+)["']\s*(,\s*hidden\s*=\s*True)?""")
REPORT = ROOT / "build" / "roundtrip.json"


def _catalogue_mistakes() -> tuple:
    """A couple of realistic mistakes: the first mutant that loses points in each
    part's catalogue (they edit different files, so one submission holds both)."""
    edits = []
    for part in ("part1", "part2"):
        catalogue = importlib.import_module(f"tests.catalogue_{part}")
        edits.extend(next(m for m in catalogue.MUTANTS if m.loses).edits)
    return tuple(edits)


def _nbgrader(course: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=3000)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _answer_written_questions(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "markdown":
            cell.source = cell.source.replace("YOUR ANSWER HERE", "My own answer, in my own words.")
    nbformat.write(nb, notebook)


def _check_cells() -> dict[str, tuple[str, bool]]:
    """grade_id -> (function, hidden) for every autograded check cell of the source."""
    cells = {}
    for name in NOTEBOOKS:
        for cell in nbformat.read(SOURCE / name, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
                found = CHECK_CALL.findall(cell.source)
                assert len(found) == 1, f"{name} cell {meta['grade_id']}: one check(...) call per cell"
                cells[meta["grade_id"]] = (found[0][0], bool(found[0][1]))
    return cells


_ROUNDTRIP: dict = {}  # the autograde run, once per worker even if the fixture is torn down early


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    if not _ROUNDTRIP:
        _ROUNDTRIP.update(_roundtrip(tmp_path_factory))
    return _ROUNDTRIP


def _roundtrip(tmp_path_factory):
    if not (RELEASE / "randomizer.py").is_file():
        pytest.fail("release/hw4 is missing: run `make release`")
    base = tmp_path_factory.mktemp("nbgrader")
    course = base / "course"
    shutil.copytree(SOURCE, course / "source" / "hw4",
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "data", "*.zip"))
    # the notebooks find the instructor's autograder a few folders up, as in the repository
    (course / "autograder").symlink_to(ROOT / "autograder", target_is_directory=True)
    (course / "nbgrader_config.py").write_text(
        f"load_subconfig({str(ROOT / 'nbgrader_config.py')!r})\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.GenerateAssignment.post_convert_hook = None  # never rebuild the repository's release\n")
    (base / "jupyter").mkdir()
    data = write_all(base / "data")
    env = nbgrader_env(JUPYTER_CONFIG_DIR=str(base / "jupyter"), HW4_SMOKE="1", HW4_DATA_DIR=str(data),
                       OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    env.pop("NBGRADER_EXECUTION", None)
    _nbgrader(course, env, "generate_assignment", "hw4", "--force")

    students: dict[str, Path] = {}
    submitted = course / "submitted"
    reference = build_submission(submitted / "reference" / "hw4")
    for name in NOTEBOOKS:
        shutil.copyfile(RELEASE / name, reference / name)
        _answer_written_questions(reference / name)
    students["reference"] = reference
    untouched = submitted / "untouched" / "hw4"
    shutil.copytree(RELEASE, untouched, ignore=shutil.ignore_patterns("__pycache__"))
    students["untouched"] = untouched
    mistakes = build_submission(submitted / "mistakes" / "hw4", _catalogue_mistakes())
    for notebook in NOTEBOOKS:
        shutil.copyfile(RELEASE / notebook, mistakes / notebook)
    students["mistakes"] = mistakes
    loops = add_infinite_loops(build_submission(submitted / "loops" / "hw4"), {LOOPING})
    for notebook in NOTEBOOKS:
        shutil.copyfile(RELEASE / notebook, loops / notebook)
    students["loops"] = loops

    _nbgrader(course, env, "autograde", "hw4", "--force")

    from autograder.engine import grade_folder

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", env["PATH"])  # nbgrader's Gradebook calls alembic
        from nbgrader.api import Gradebook

        nbgrader_scores = {}
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "hw4") as gradebook:
            for student in students:
                cells = {}
                for notebook in gradebook.find_submission("hw4", student).notebooks:
                    for grade in notebook.grades:
                        cells[grade.name] = {"auto": grade.auto_score, "max": grade.max_score,
                                             "type": grade.cell.cell_type,
                                             "manual": grade.needs_manual_grade}
                nbgrader_scores[student] = cells
    engine_reports = {student: grade_folder(folder, device="cpu", include_hidden=True)
                      for student, folder in students.items()}
    summary = {s: {"nbgrader_autograded": sum(c["auto"] or 0 for c in nbgrader_scores[s].values()
                                              if c["type"] == "code"),
                   "gradescope": engine_reports[s].score, "max": engine_reports[s].max_score}
               for s in students}
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(summary, indent=1) + "\n")
    return {"course": course, "students": students, "nbgrader": nbgrader_scores,
            "engine": engine_reports, "summary": summary}


def test_every_check_has_a_notebook_cell_with_its_points():
    from autograder.checks import all_checks

    cells = _check_cells()
    covered = set(cells.values())
    points: dict[tuple[str, bool], float] = {}
    for check in all_checks(include_hidden=True):
        points[(check.function, check.hidden)] = points.get((check.function, check.hidden), 0) + check.points
    missing = sorted(key for key in points if not any(f == key[0] or f == key[0].split(".")[-1]
                                                      for f, h in covered if h == key[1]))
    assert not missing, f"checks without a check(...) cell in the notebooks: {missing}"
    cell_points = {}
    for name in NOTEBOOKS:
        for cell in nbformat.read(SOURCE / name, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade_id") in cells:
                cell_points[meta["grade_id"]] = meta["points"]
    for grade_id, (function, hidden) in cells.items():
        want = sum(p for (f, h), p in points.items() if h == hidden and (f == function or f.split(".")[-1] == function))
        assert cell_points[grade_id] == want, f"{grade_id}: points {cell_points[grade_id]} != checks' {want}"


def test_nbgrader_totals_equal_the_engine_totals(roundtrip):
    lines = [f"{'submission':<28} {'nbgrader':>9} {'gradescope':>11} {'max':>6}"]
    for student, row in roundtrip["summary"].items():
        lines.append(f"{student:<28} {row['nbgrader_autograded']:>9g} {row['gradescope']:>11g} {row['max']:>6g}")
    print("\n".join(lines))
    for student, row in roundtrip["summary"].items():
        assert row["nbgrader_autograded"] == pytest.approx(row["gradescope"], abs=1e-9), "\n".join(lines)
    assert roundtrip["summary"]["reference"]["gradescope"] == roundtrip["summary"]["reference"]["max"]
    assert roundtrip["summary"]["untouched"]["gradescope"] == 0
    assert all(row["gradescope"] < row["max"] for s, row in roundtrip["summary"].items() if s != "reference")


def test_each_check_cell_scores_its_functions_checks(roundtrip):
    cells = _check_cells()
    for student, scores in roundtrip["nbgrader"].items():
        tests = roundtrip["engine"][student].tests
        for grade_id, (function, hidden) in cells.items():
            want = sum(t["score"] for t in tests
                       if (t["visibility"] != "visible") == hidden
                       and (t["function"] == function or t["function"].split(".")[-1] == function))
            assert scores[grade_id]["auto"] == pytest.approx(want, abs=1e-9), f"{student}: {grade_id}"


def test_written_answers_stay_manually_graded(roundtrip):
    for student, scores in roundtrip["nbgrader"].items():
        written = {gid: c for gid, c in scores.items() if c["type"] == "markdown"}
        assert written, "no manually graded written-answer cells"
        for grade_id, cell in written.items():
            if student == "reference":  # answered: waits for a person
                assert cell["manual"] and cell["auto"] is None, grade_id
            else:  # left as released: nbgrader gives 0 without asking anyone
                assert cell["auto"] == 0, grade_id


def test_students_modules_are_graded_not_the_reference(roundtrip):
    for student, folder in roundtrip["students"].items():
        graded = roundtrip["course"] / "autograded" / student / "hw4"
        for rel in current().student_modules:
            if (folder / rel).exists():
                assert (graded / rel).read_bytes() == (folder / rel).read_bytes(), f"{student}: {rel}"
        assert not (graded / "autograder").exists(), "a submitted autograder/ copy must not be used"


def test_long_cells_are_skipped_under_autograde(roundtrip):
    graded = roundtrip["course"] / "autograded" / "reference" / "hw4"
    for name in NOTEBOOKS:
        nb = nbformat.read(graded / name, as_version=4)
        guarded = [c for c in nb.cells if c.cell_type == "code" and "NBGRADER_EXECUTION" in c.source]
        assert guarded, f"{name}: no cell checks NBGRADER_EXECUTION"
        for cell in guarded:
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "skip" in text.lower(), f"{name}: a guarded cell did not say it was skipped: {cell.source[:80]!r}"
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{name}: the reference raised under autograde: {errors[0]['ename']}: {errors[0]['evalue']}"


def test_a_loop_costs_only_its_function_under_nbgrader(roundtrip):
    """denoise_step loops forever: nbgrader and the engine both take exactly its points."""
    from autograder.engine import select_checks

    loops = roundtrip["engine"]["loops"]
    assert loops.failed_ids() == {c.id for c in select_checks(function=LOOPING)}
    lost = sum(c.points for c in select_checks(function=LOOPING))
    reference = roundtrip["summary"]["reference"]["nbgrader_autograded"]
    assert roundtrip["summary"]["loops"]["nbgrader_autograded"] == pytest.approx(reference - lost)
