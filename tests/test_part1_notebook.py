"""The Part 1 notebook's structure (nbgrader metadata, points that match the check
registry, no committed outputs) and its ungraded oracle cell, run on its own with and
without an oracle file. The whole notebook runs in tests/test_notebooks_execute.py."""
from __future__ import annotations

import contextlib
import io
import os
import pathlib
import re
import warnings
from collections import defaultdict

import matplotlib.pyplot as plt
import nbformat
import pytest
import torch

from autograder.cli import tool_module
from autograder.engine import select_checks
from autograder.manifest import current
from tests.mutants import SOURCE
from tests.tiny_data import write_svhn

oracle = tool_module("oracle")  # an instructor tool of the assignment (manifest [tools])

NOTEBOOK = SOURCE / "part1_gans.ipynb"
FUNCTIONS = next(f.functions for f in current().files if f.path == "part1_gans/gan_pytorch.py")
CHECK_CALL = re.compile(r"""check\("(\w+)"(, hidden=True)?\)""")


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(NOTEBOOK, as_version=4)


def _cell(nb, cid):
    return next(c for c in nb.cells if c.id == cid)


def test_committed_without_outputs_and_valid(nb):
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.id
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))


def test_check_cells_match_the_registry(nb):
    want = defaultdict(int)
    for c in select_checks("part1"):
        want[(c.function, c.hidden)] += c.points
    found = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        calls = CHECK_CALL.findall(cell.source)
        if not calls:
            continue
        assert len(calls) == 1 and meta.get("grade") and meta.get("locked") and not meta.get("solution"), cell.id
        function, hidden = calls[0][0], bool(calls[0][1])
        if hidden:
            assert cell.source.startswith("### BEGIN HIDDEN TESTS\n") and cell.source.endswith("### END HIDDEN TESTS")
        found[(function, hidden)] = meta["points"]
    assert found == dict(want)
    assert {f for f, _ in found} == set(FUNCTIONS)


def test_written_questions_are_manually_graded(nb):
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "markdown"]
    assert len(answers) >= 3
    for cell in answers:
        meta = cell.metadata["nbgrader"]
        assert meta["grade"] and not meta["task"] and meta["points"] > 0 and not meta["locked"]
        assert cell.source.startswith("### BEGIN SOLUTION\n") and cell.source.endswith("### END SOLUTION")
    for cell in nb.cells:  # explanations are read-only
        if cell.cell_type == "markdown" and cell not in answers:
            assert cell.metadata["nbgrader"]["locked"], cell.id


def test_long_cells_skip_under_autograding(nb):
    # each guarded cell says it skipped (nbgrader round trip); nothing else mentions the variable
    guarded = {c.id for c in nb.cells if c.cell_type == "code" and "NBGRADER_EXECUTION" in c.source}
    assert guarded == {"data", "estimate", "train", "save", "oracle"}
    for cid in guarded:
        source = _cell(nb, cid).source
        assert source.startswith('if os.environ.get("NBGRADER_EXECUTION")') or "\nif os.environ.get(\"NBGRADER" in source
        assert 'print("Skipped' in source, cid


def _run_oracle_cell(nb, tmp_path, monkeypatch, oracle_file=None):
    gan, randomizer = oracle._reference(oracle.SOURCE_HW4)
    _, loader_val = gan.load_svhn(write_svhn(tmp_path / "data", train=40, test=4), batch_size=4)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("HW4_ORACLE", str(oracle_file or tmp_path / "absent.pt"))
    namespace = {name: getattr(gan, name) for name in ("NOISE_DIM", "sample_noise", "deprocess_img",
                                                       "show_images", "eval_discriminator")}
    namespace.update(os=os, pathlib=pathlib, warnings=warnings, plt=plt, torch=torch, randomizer=randomizer,
                     loader_val=loader_val, DEVICE=torch.device("cpu"),
                     D=gan.discriminator())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(_cell(nb, "oracle").source, namespace)
    plt.close("all")
    return printed.getvalue(), gan


def test_oracle_cell_skips_without_the_file(nb, tmp_path, monkeypatch):
    printed, _ = _run_oracle_cell(nb, tmp_path, monkeypatch)
    assert "skipped" in printed and "absent.pt" in printed


def test_oracle_cell_evaluates_with_the_file(nb, tmp_path, monkeypatch):
    gan, _ = oracle._reference(oracle.SOURCE_HW4)
    path = tmp_path / "oracle_generator.pt"
    oracle.export(gan.generator(), path, gan.NOISE_DIM)   # untrained, but a real TorchScript file
    printed, _ = _run_oracle_cell(nb, tmp_path, monkeypatch, path)
    assert re.search(r"real images called real: [\d.]+%, oracle fakes called fake: [\d.]+%, accuracy: [\d.]+%",
                     printed), printed
