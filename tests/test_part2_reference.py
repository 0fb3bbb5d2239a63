"""Part 2 end to end through the grader: the reference gets full marks, the
student release (solution fences stripped) gets zero with one clear line per
check, the stored answers are reproducible, and the checks never load torch in
the trusted parent."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from autograder import npzio
from autograder.engine import answer_path, cpu_capability, generate_answers, grade_folder, stored_cpu_capability
from autograder.manifest import current
from autograder.release import strip_module
from tests.mutants import ROOT, SOURCE

PART2_FILES = tuple(f.path for f in current().files if f.path.startswith("part2_diffusion/"))


def test_reference_full_marks():
    report = grade_folder(SOURCE, only="part2")
    failing = {t["id"]: t["output"] for t in report.tests if t["status"] != "passed"}
    assert not failing, failing
    assert report.max_score >= 30 and report.score == report.max_score
    assert any(t["visibility"] != "visible" for t in report.tests)  # hidden checks ran too


def test_stub_scores_zero_with_clear_messages(tmp_path):
    for rel in PART2_FILES:
        target = tmp_path / "sub" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(strip_module((SOURCE / rel).read_text(), rel))
    report = grade_folder(tmp_path / "sub", only="part2")
    assert report.tests and report.score == 0
    for test in report.tests:
        assert test["output"].count("\n") == 0, test["output"]
        assert "not implemented yet" in test["output"], test["output"]
        assert test["output"].startswith(test["function"].split(".")[0]), test["output"]


def test_stub_scheduler_does_not_cost_other_functions(tmp_path):
    """A missing NoiseScheduler.__init__ only costs the schedule checks."""
    rel = "part2_diffusion/noise_scheduler.py"
    text = (SOURCE / rel).read_text()
    start, end = text.index("        ### BEGIN SOLUTION\n        self.alphas"), text.index("### END SOLUTION") + 17
    (tmp_path / "sub" / "part2_diffusion").mkdir(parents=True)
    for other in PART2_FILES:
        (tmp_path / "sub" / other).write_text((SOURCE / other).read_text())
    (tmp_path / "sub" / rel).write_text(
        text[:start] + '        raise NotImplementedError("NoiseScheduler.__init__: not implemented yet")\n'
        + text[end:])
    report = grade_folder(tmp_path / "sub", only="part2")
    assert report.failed_ids() == {"part2.schedule.t100", "part2.schedule.t50"}


@pytest.mark.slow
def test_stored_answers_reproduce(tmp_path, monkeypatch):
    stored = {}
    for hidden in (False, True):
        stored.update({k: v for k, v in npzio.load(answer_path(hidden)).items() if k.startswith("part2.")})
    assert stored, "no stored Part 2 answers: run `python -m autograder answers --only part2`"
    stored_capability = stored_cpu_capability()
    monkeypatch.setenv("HW4_ANSWERS_DIR", str(tmp_path))
    generate_answers(only="part2")
    fresh = {}
    for hidden in (False, True):
        fresh.update({k: v for k, v in npzio.load(answer_path(hidden)).items() if k.startswith("part2.")})
    assert fresh.keys() == stored.keys()
    exact = stored_capability == cpu_capability()
    for key in stored:
        assert fresh[key].dtype == stored[key].dtype and fresh[key].shape == stored[key].shape, key
        if exact or stored[key].dtype.kind not in "fc":
            assert np.array_equal(fresh[key], stored[key]), key
        else:  # another CPU's vector kernels: float32 results may differ in the last bits
            assert np.allclose(fresh[key], stored[key], rtol=1e-5, atol=1e-6), key


def test_check_modules_do_not_import_torch():
    code = ("import sys; import autograder.checks.part2, autograder.checks.part2_hidden; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
