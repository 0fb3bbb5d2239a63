"""The Gradescope autograder zip, unpacked and run as Gradescope would."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder import gradescope, results
from autograder.manifest import current

from conftest import DEVICES
from tests.mutants import add_infinite_loops, build_submission

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "hw4"
STUDENT_FILES = current().student_modules


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    return gradescope.build_zip(tmp_path_factory.mktemp("zip") / "autograder.zip")


# Lines the contract itself spells out (SPEC section 3), which checks may use too.
CONTRACT_LINES = {"null = torch.zeros_like(cond)", "net = self.sampling_net"}


def _solution_lines() -> set[str]:
    """Every substantial line inside a solution fence of a source module: an
    assignment or a return of some length (a bare ``opt.zero_grad()`` may appear
    in a hint's wording)."""
    lines = set()
    for rel in STUDENT_FILES:
        inside = False
        for line in (SOURCE / rel).read_text().splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) >= 20 and not line.strip().startswith("#") \
                    and ("=" in line or line.strip().startswith("return ")):
                lines.add(line.strip())
    return lines - CONTRACT_LINES


def test_zip_is_reproducible_and_holds_no_solution(autograder_zip, tmp_path):
    again = gradescope.build_zip(tmp_path / "again.zip")
    assert again.read_bytes() == autograder_zip.read_bytes()
    solution = _solution_lines()
    assert solution, "the reference has no solution fences?"
    with zipfile.ZipFile(autograder_zip) as archive:
        names = archive.namelist()
        assert {"setup.sh", "run_autograder", "autograder/answers/hidden.npz",
                "autograder/answers/public.npz", "release/hw4/randomizer.py"} <= set(names)
        assert not any(n.startswith("source/") for n in names)
        for name in names:
            text = archive.read(name).decode("utf-8", "replace")
            assert "### BEGIN SOLUTION" not in text, name
            # Whole code lines: a docstring quoting the contract (``z = ...``) is no leak.
            code_lines = {line.strip() for line in text.splitlines()}
            leaked = sorted(solution & code_lines)
            assert not leaked, f"{name} leaks solution lines: {leaked[:3]}"


def _install(autograder_zip: Path, root: Path, submission_files: dict[str, Path]) -> None:
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / name, 0o755)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    os.chmod(root / "run_autograder", 0o755)
    for rel, src in submission_files.items():
        target = root / "submission" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, target)
    (root / "submission").mkdir(exist_ok=True)


def _run(root: Path, device: str = "cpu") -> dict:
    env = {"PATH": os.environ["PATH"], "AUTOGRADER_ROOT": str(root), "HW4_PYTHON": sys.executable,
           "HW4_DEVICE": device}
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    results.validate(data)
    return data


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_reference_gets_full_marks_end_to_end(autograder_zip, tmp_path, device):
    root = tmp_path / "autograder"
    _install(autograder_zip, root, {rel: SOURCE / rel for rel in STUDENT_FILES})
    data = _run(root, device)
    failed = [t for t in data["tests"] if t["status"] != "passed"]
    assert not failed, failed
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) > 0


@pytest.mark.slow
def test_untouched_release_gets_zero_end_to_end(autograder_zip, tmp_path):
    root = tmp_path / "autograder"
    release = ROOT / "release" / "hw4"
    _install(autograder_zip, root, {rel: release / rel for rel in STUDENT_FILES})
    data = _run(root)
    assert data["score"] == 0
    for test in data["tests"]:
        assert "not implemented yet" in test["output"], test
        assert "Traceback" not in test["output"]


@pytest.mark.slow
def test_a_loop_costs_only_its_function_end_to_end(autograder_zip, tmp_path):
    """generate_sample loops forever: Gradescope still gets a score for everything else."""
    from autograder.engine import select_checks

    looping = "DiffusionModel.generate_sample"
    submission = add_infinite_loops(build_submission(tmp_path / "sub"), {looping})
    root = tmp_path / "autograder"
    _install(autograder_zip, root, {rel: submission / rel for rel in STUDENT_FILES})
    data = _run(root)
    failed = {t["number"] for t in data["tests"] if t["status"] != "passed"}
    assert failed == {c.id for c in select_checks(function=looping)}
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) - sum(
        c.points for c in select_checks(function=looping))
    assert "run_autograder" in (root / "run_autograder").name
    assert '--budget "$BUDGET"' in (root / "run_autograder").read_text()
