"""The instructor's oracle command trains the reference generator on data in the SVHN
format and exports a TorchScript file that loads without the reference code."""
from __future__ import annotations

import warnings

import pytest
import torch

from autograder.cli import tool_module
from tests.tiny_data import write_svhn

oracle = tool_module("oracle")  # an instructor tool of the assignment (manifest [tools])


@pytest.mark.slow
def test_oracle_trains_exports_and_evaluates(tmp_path):
    data = write_svhn(tmp_path / "data", train=64, test=8)
    out = tmp_path / "oracle_generator.pt"
    assert oracle.main(["--", "--data-dir", str(data), "--epochs", "1", "--batch-size", "16",
                        "--num-train", "48", "--device", "cpu", "--out", str(out),
                        "--grid", str(tmp_path / "grid.png")]) == 0
    assert out.stat().st_size > 0 and (tmp_path / "grid.png").stat().st_size > 0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        oracle_G = torch.jit.load(str(out), map_location="cpu")
    z = 2 * torch.rand(5, 96, generator=torch.Generator().manual_seed(1)) - 1
    with torch.no_grad():
        images = oracle_G(z)
    assert images.shape == (5, 3, 32, 32) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    with torch.no_grad():  # saved in eval mode: the same noise gives the same images
        assert torch.equal(images, oracle_G(z))

    # the notebook's use: eval_discriminator with the loaded oracle
    gan, _ = oracle._reference(oracle.SOURCE_HW4)
    loader_train, loader_val = gan.load_svhn(data, batch_size=8, num_train=48)
    D = gan.discriminator()
    scores = gan.eval_discriminator(D, oracle_G, loader_val, torch.device("cpu"))
    assert set(scores) == {"real_accuracy", "fake_accuracy", "accuracy"}
    assert all(0 <= v <= 1 for v in scores.values())


def test_oracle_refuses_a_folder_without_the_reference(tmp_path):
    with pytest.raises(SystemExit, match="reference solution"):
        oracle.main(["--hw4", str(tmp_path), "--data-dir", str(tmp_path)])
