"""Part 1 end to end through the grader: the reference gets full marks, the
student release (solution fences stripped) gets zero with one clear line per
check, the stored answers are reproducible, the checks never load torch in the
trusted parent, and each function's checks are independent of the others."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from autograder import npzio
from autograder.engine import answer_path, cpu_capability, generate_answers, grade_folder, stored_cpu_capability, select_checks
from autograder.manifest import current
from autograder.release import strip_module
from tests.mutants import ROOT, SOURCE

GAN = "part1_gans/gan_pytorch.py"
FUNCTIONS = next(f.functions for f in current().files if f.path == GAN)


def test_reference_full_marks():
    report = grade_folder(SOURCE, only="part1")
    failing = {t["id"]: t["output"] for t in report.tests if t["status"] != "passed"}
    assert not failing, failing
    assert report.max_score >= 30 and report.score == report.max_score
    assert any(t["visibility"] != "visible" for t in report.tests)  # hidden checks ran too


def test_every_function_is_checked_publicly_and_hidden():
    public = {c.function for c in select_checks("part1", include_hidden=False)}
    hidden = {c.function for c in select_checks("part1", hidden_only=True)}
    assert public == set(FUNCTIONS)
    assert hidden >= set(FUNCTIONS) - {"get_optimizer", "discriminator"}
    for c in select_checks("part1"):
        assert c.points >= 1 and c.call and c.title, c.id


def _stub(tmp_path):
    target = tmp_path / "sub" / GAN
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(strip_module((SOURCE / GAN).read_text(), GAN))
    return tmp_path / "sub"


def test_stub_scores_zero_with_clear_messages(tmp_path):
    report = grade_folder(_stub(tmp_path), only="part1")
    assert report.tests and report.score == 0
    for test in report.tests:
        assert test["output"].count("\n") == 0, test["output"]
        assert "not implemented yet" in test["output"], test["output"]
        assert test["output"].startswith(test["function"]), test["output"]


def test_stub_names_each_function(tmp_path):
    text = (_stub(tmp_path) / GAN).read_text()
    assert "### BEGIN SOLUTION" not in text
    for name in FUNCTIONS:
        assert f'NotImplementedError("{name}: not implemented yet")' in text or \
            f"NotImplementedError('{name}: not implemented yet')" in text, name
    # the provided helpers survive the strip
    for helper in ("def preprocess_img", "def show_images", "class ChunkSampler", "def eval_discriminator",
                   "def load_svhn", "tqdm.write("):
        assert helper in text, helper


@pytest.mark.parametrize("function", ["bce_loss", "sample_noise"])
def test_one_missing_function_costs_only_its_checks(tmp_path, function):
    """The loss and train_gan checks use stand-ins for bce_loss / sample_noise, so a
    missing one of those costs only its own checks."""
    text = (SOURCE / GAN).read_text()
    start = text.index(f"def {function}(")
    begin = text.index("### BEGIN SOLUTION", start)
    end = text.index("### END SOLUTION", begin) + len("### END SOLUTION")
    indent = "    "
    stubbed = text[:begin] + f'raise NotImplementedError("{function}: not implemented yet")' + text[end:]
    assert stubbed.count(indent + f'raise NotImplementedError("{function}') == 1
    target = tmp_path / "sub" / GAN
    target.parent.mkdir(parents=True)
    target.write_text(stubbed)
    report = grade_folder(tmp_path / "sub", only="part1")
    assert report.failed_ids() == {c.id for c in select_checks("part1", function=function)}


@pytest.mark.slow
def test_stored_answers_reproduce(tmp_path, monkeypatch):
    stored = {}
    for hidden in (False, True):
        stored.update({k: v for k, v in npzio.load(answer_path(hidden)).items() if k.startswith("part1.")})
    assert stored, "no stored Part 1 answers: run `python -m autograder answers --only part1`"
    stored_capability = stored_cpu_capability()
    monkeypatch.setenv("HW4_ANSWERS_DIR", str(tmp_path))
    generate_answers(only="part1")
    fresh = {}
    for hidden in (False, True):
        fresh.update({k: v for k, v in npzio.load(answer_path(hidden)).items() if k.startswith("part1.")})
    assert fresh.keys() == stored.keys()
    exact = stored_capability == cpu_capability()
    for key in stored:
        assert fresh[key].dtype == stored[key].dtype and fresh[key].shape == stored[key].shape, key
        if exact or stored[key].dtype.kind not in "fc":
            assert np.array_equal(fresh[key], stored[key]), key
        else:  # another CPU's vector kernels: float32 results may differ in the last bits
            assert np.allclose(fresh[key], stored[key], rtol=1e-5, atol=1e-6), key


def test_check_modules_do_not_import_torch():
    code = ("import sys; import autograder.checks.part1, autograder.checks.part1_hidden; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
