"""collect_submission.py: the zip students upload, its refusals and warnings, and the
public checks it runs on what it packed. Runs in copies of the student release."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.manifest import current

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "hw4"
RELEASE = ROOT / "release" / "hw4"
MODULES = current().student_modules
NOTEBOOKS = current().notebooks


@pytest.fixture
def tmp_path(tmp_path):
    """Readable by everybody: as root, the engine runs the student's code (and the
    release's own autograder copy) under an unprivileged uid, which cannot enter
    pytest's private temporary folders."""
    for folder in [tmp_path, *tmp_path.parents]:
        if folder == Path(tempfile.gettempdir()):
            break
        os.chmod(folder, os.stat(folder).st_mode | 0o755)
    return tmp_path


def _student_copy(tmp_path: Path, solved: bool, executed: bool) -> Path:
    """A student's hw4 folder: the release, optionally with the reference modules
    and notebooks that look executed."""
    if not (RELEASE / "collect_submission.py").is_file():
        pytest.fail("release/hw4 is missing: run `make release`")
    hw4 = tmp_path / "hw4"
    shutil.copytree(RELEASE, hw4, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    if solved:
        for rel in MODULES:
            shutil.copyfile(SOURCE / rel, hw4 / rel)
    if executed:
        for name in NOTEBOOKS:
            nb = nbformat.read(hw4 / name, as_version=4)
            for number, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
                cell.execution_count = number + 1
                cell.outputs = [nbformat.v4.new_output("stream", text="ok\n")]
            nbformat.write(nb, hw4 / name)
    return hw4


def _collect(hw4: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    env.pop("PYTHONPATH", None)
    # the written-work PDF has its own tests (tests/test_written_pdf.py)
    return subprocess.run([sys.executable, "collect_submission.py", "--no-pdf", *args], cwd=hw4,
                          capture_output=True, text=True, env=env, timeout=900)


def test_complete_submission_is_zipped_at_the_graders_paths(tmp_path):
    hw4 = _student_copy(tmp_path, solved=True, executed=True)
    done = _collect(hw4, "--no-checks")
    assert done.returncode == 0, done.stdout + done.stderr
    with zipfile.ZipFile(hw4 / "hw4_submission.zip") as archive:
        assert sorted(archive.namelist()) == sorted(MODULES + NOTEBOOKS)
        assert archive.read(MODULES[0]) == (SOURCE / MODULES[0]).read_bytes()
    assert "ERROR" not in done.stdout and "WARNING" not in done.stdout
    assert "Upload the zip to Gradescope" in done.stdout


def test_missing_file_is_refused_unless_forced(tmp_path):
    hw4 = _student_copy(tmp_path, solved=True, executed=True)
    (hw4 / "part2_diffusion" / "image_gen.py").unlink()
    done = _collect(hw4, "--no-checks")
    assert done.returncode == 1
    assert "part2_diffusion/image_gen.py: missing" in done.stdout and "No zip written" in done.stdout
    assert not (hw4 / "hw4_submission.zip").exists()
    forced = _collect(hw4, "--no-checks", "--force")
    assert forced.returncode == 1 and "INCOMPLETE" in forced.stdout
    with zipfile.ZipFile(hw4 / "hw4_submission.zip") as archive:
        assert len(archive.namelist()) == len(MODULES) + len(NOTEBOOKS) - 1  # all but the missing one


def test_unexecuted_notebook_is_refused(tmp_path):
    hw4 = _student_copy(tmp_path, solved=True, executed=False)
    done = _collect(hw4, "--no-checks")
    assert done.returncode == 1
    for name in NOTEBOOKS:
        assert f"{name}: never executed" in done.stdout


def test_unfinished_todos_and_syntax_errors_are_reported(tmp_path):
    hw4 = _student_copy(tmp_path, solved=False, executed=True)
    done = _collect(hw4, "--no-checks")
    assert done.returncode == 0, done.stdout  # unfinished work may still be handed in
    warned = re.findall(r"WARNING: (\S+): still not implemented: (.+)", done.stdout)
    assert sorted(rel for rel, _ in warned) == sorted(MODULES)
    assert "sample_noise" in dict(warned)["part1_gans/gan_pytorch.py"]
    (hw4 / MODULES[0]).write_text("def broken(:\n")
    done = _collect(hw4, "--no-checks")
    assert done.returncode == 1 and f"{MODULES[0]}: SyntaxError on line 1" in done.stdout


@pytest.mark.slow
def test_public_checks_run_on_the_packed_files(tmp_path):
    """The summary's public score is the engine's public score for the same zip."""
    from autograder.engine import grade_folder

    hw4 = _student_copy(tmp_path, solved=True, executed=True)
    # a mistake in the packed copy must show up in the printed checks
    text = (hw4 / MODULES[0]).read_text()
    (hw4 / MODULES[0]).write_text(text.replace("lr=1e-3", "lr=1e-2", 1))
    done = _collect(hw4)
    assert done.returncode == 0, done.stdout + done.stderr
    found = re.search(r"public checks: ([\d.]+) / ([\d.]+) points", done.stdout)
    assert found, done.stdout
    report = grade_folder(hw4 / "hw4_submission.zip", include_hidden=False)
    assert (float(found.group(1)), float(found.group(2))) == (report.score, report.max_score)
    if "lr=1e-2" in (hw4 / MODULES[0]).read_text():
        assert report.score < report.max_score


def test_empty_cells_left_unrun_are_no_warning_but_skipped_code_is(tmp_path):
    """Jupyter never numbers an empty cell (the release's hidden-test cells are empty);
    only code that was skipped deserves the warning."""
    hw4 = _student_copy(tmp_path, solved=True, executed=True)
    name = NOTEBOOKS[0]
    nb = nbformat.read(hw4 / name, as_version=4)
    empty = [c for c in nb.cells if c.cell_type == "code" and not c.source.strip()]
    assert empty, "the release's hidden-test cells should be empty code cells"
    for cell in empty:
        cell.execution_count, cell.outputs = None, []
    nbformat.write(nb, hw4 / name)
    done = _collect(hw4, "--no-checks")
    assert done.returncode == 0 and "were not run" not in done.stdout, done.stdout
    skipped = next(c for c in nb.cells if c.cell_type == "code" and c.source.strip() and c.id != "setup")
    skipped.execution_count, skipped.outputs = None, []
    nbformat.write(nb, hw4 / name)
    done = _collect(hw4, "--no-checks")
    assert re.search(rf"WARNING: {re.escape(name)}: 1 of \d+ code cells were not run", done.stdout), done.stdout
