"""The notebooks run: the source notebooks top to bottom on the reference (smoke mode,
tiny data in the real formats), the release notebooks until their first TODO, which
fails with the clear not-implemented message, and the setup cell as Colab sees it."""
from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.manifest import current
from autograder.release import setup_cell

SETUP_CELL = setup_cell()
from tests.tiny_data import write_all

pytestmark = pytest.mark.xdist_group("notebooks")

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "hw4"
RELEASE = ROOT / "release" / "hw4"
NOTEBOOKS = current().notebooks


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_all(tmp_path_factory.mktemp("hw4-data"))


def _kernel_env(data_dir: Path, **extra) -> dict:
    env = dict(os.environ, HW4_SMOKE="1", HW4_DATA_DIR=str(data_dir), OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1", **extra)
    for name in ("PYTHONPATH", "NBGRADER_EXECUTION", "HW4_PROVIDED"):
        env.pop(name, None)
    return env


def _run(notebook: Path, env: dict, allow_errors: bool = False, timeout: int = 600) -> nbformat.NotebookNode:
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(notebook.parent)}})
    client.execute(env=env)
    return nb


def _copy(tree: Path, dest: Path) -> Path:
    shutil.copytree(tree, dest, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "data", "*.zip"))
    return dest


def test_source_setup_cells_are_the_standard_one():
    for name in NOTEBOOKS:
        nb = nbformat.read(SOURCE / name, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert first.id == "setup" and first.metadata["nbgrader"]["grade_id"] == "setup"
        assert first.source == SETUP_CELL, f"{name}: run `python -m autograder release --write-setup-cell`"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_source_notebook_runs_top_to_bottom_in_smoke_mode(name, tmp_path, data_dir):
    hw4 = _copy(SOURCE, tmp_path / "hw4")
    # as in the repository: the instructor's autograder one folder above hw4/
    (tmp_path / "autograder").symlink_to(ROOT / "autograder", target_is_directory=True)
    nb = _run(hw4 / name, _kernel_env(data_dir))
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = {c.id: "".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
               for c in nb.cells if c.cell_type == "code"}
    assert re.search(r"The next cell runs [\d,]+ (iterations|steps) at about [\d.]+ s each", printed["estimate"])
    assert "points (public checks)" in printed["check_all"] and "[FAIL]" not in printed["check_all"]
    checks = [c for c in nb.cells if "check(" in c.source and c.metadata.get("nbgrader", {}).get("grade")]
    assert checks, f"{name} has no check cells"
    for cell in checks:
        result = [o for o in cell.outputs if o.output_type == "execute_result"]
        points = cell.metadata["nbgrader"]["points"]
        assert result and float(result[0]["data"]["text/plain"]) == points, \
            f"{name}: the reference does not get full points in {cell.metadata['nbgrader']['grade_id']}"
        # what the student sees: a verdict, not a bare number
        assert result[0]["data"]["text/html"] == f"<span>&#10003; {points:g} / {points:g} points</span>"
        assert not [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"], \
            "output on stderr makes nbgrader give the cell 0 points"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_release_notebook_stops_at_the_first_todo_with_a_clear_message(name, tmp_path, data_dir):
    if not (RELEASE / name).is_file():
        pytest.fail("release/hw4 is missing: run `make release`")
    hw4 = _copy(RELEASE, tmp_path / "hw4")
    with pytest.raises(CellExecutionError) as failure:
        _run(hw4 / name, _kernel_env(data_dir))
    error = failure.value
    assert error.ename == "NotImplementedError", f"{name} failed with something worse:\n{error}"
    # "<function>: not implemented yet"; every cell before it ran without an error
    assert re.fullmatch(r"[\w.]+: not implemented yet", error.evalue.strip()), error.evalue


@pytest.mark.slow
def test_setup_cell_in_colab_fetches_the_release_and_moves_into_it(tmp_path):
    """A fake google.colab (no network, no Drive): the cell downloads the release zip
    from a file:// URL, installs nothing (all present), mounts Drive where asked and
    moves into the hw4 folder, after which `check` is importable."""
    if not (RELEASE / "randomizer.py").is_file():
        pytest.fail("release/hw4 is missing: run `make release`")
    archive = tmp_path / "hw4-release.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(RELEASE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zipped.write(path, Path("hw4") / path.relative_to(RELEASE))
    home = tmp_path / "content"
    home.mkdir()
    fake = _fake_colab_cell(home)
    for use_drive, folder in ((False, home / "hw4"), (True, home / "drive" / "MyDrive" / "hw4")):
        nb = nbformat.v4.new_notebook()
        setup = SETUP_CELL.replace("USE_DRIVE = True", f"USE_DRIVE = {use_drive}")
        probe = ("import os, autograder.notebook\n"
                 "print('CWD', os.getcwd())\nprint('AUTOGRADER', autograder.notebook.__file__)\n"
                 "print('MOUNTS', MOUNTS)\n"
                 "print('POINTS', check('sample_noise'))")
        nb.cells = [nbformat.v4.new_code_cell(fake), nbformat.v4.new_code_cell(setup),
                    nbformat.v4.new_code_cell(probe)]
        client = NotebookClient(nb, timeout=300, kernel_name="python3",
                                resources={"metadata": {"path": str(tmp_path)}})
        client.execute(env=dict(os.environ, HW4_COLAB_HOME=str(home), HW4_RELEASE_URL=archive.as_uri(),
                                PYTHONDONTWRITEBYTECODE="1"))
        text = "".join(o.get("text", "") for c in nb.cells for o in c.outputs)
        assert f"CWD {folder}" in text, text
        if os.geteuid() == 0:  # as on Colab: a readable copy, since the checks drop privileges
            assert re.search(r"AUTOGRADER /\S*hw4-autograder-\w+/autograder/notebook.py", text), text
        else:
            assert f"AUTOGRADER {folder / 'autograder' / 'notebook.py'}" in text, text
        # graded for real, from a folder only root can read (like Drive): stubs score 0
        # with the not-implemented message, not a crash of the sandbox
        assert "POINTS 0.0" in text and "not implemented yet" in text and "SIGKILL" not in text, text
        assert "installing" not in text
        assert ("MOUNTS ['" + str(home / "drive") + "']" in text) == use_drive, text
        assert (folder / "randomizer.py").read_bytes() == (RELEASE / "randomizer.py").read_bytes()
    # a second run keeps the student's edits (nothing is downloaded over them)
    edited = home / "hw4" / "part2_diffusion" / "noise_scheduler.py"
    edited.write_text("# my work\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(fake),
                nbformat.v4.new_code_cell(SETUP_CELL.replace("USE_DRIVE = True", "USE_DRIVE = False"))]
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute(env=dict(os.environ, HW4_COLAB_HOME=str(home), HW4_RELEASE_URL=archive.as_uri()))
    assert edited.read_text() == "# my work\n"


def _fake_colab_cell(home: Path) -> str:
    """Code for a cell that makes the kernel look like Colab: a google.colab module
    whose drive.mount records the mount point and creates MyDrive."""
    return (
        "import sys, types, pathlib\n"
        "MOUNTS = []\n"
        "google = types.ModuleType('google'); colab = types.ModuleType('google.colab')\n"
        "drive = types.ModuleType('google.colab.drive')\n"
        "def _mount(point):\n"
        "    MOUNTS.append(point); (pathlib.Path(point) / 'MyDrive').mkdir(parents=True, exist_ok=True)\n"
        "drive.mount = _mount; colab.drive = drive; google.colab = colab\n"
        "sys.modules.update({'google': google, 'google.colab': colab, 'google.colab.drive': drive})\n"
    )


def test_setup_cell_outside_colab_changes_nothing(tmp_path):
    """In JupyterLab (no google.colab) the cell only finds the autograder next to hw4."""
    hw4 = tmp_path / "hw4"
    (hw4 / "autograder").mkdir(parents=True)
    (hw4 / "autograder" / "__init__.py").write_text("")
    (hw4 / "autograder" / "notebook.py").write_text("def check(name):\n    return 0.0\n\n\ndef check_all(part=None):\n    pass\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP_CELL),
                nbformat.v4.new_code_cell("import os; print('CWD', os.getcwd()); print(check('x'))")]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(hw4)}}
                   ).execute(env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    text = "".join(o.get("text", "") for c in nb.cells for o in c.outputs)
    assert f"CWD {hw4}" in text and "0.0" in text
    assert sorted(p.name for p in hw4.iterdir()) == ["autograder"]
