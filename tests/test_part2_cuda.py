"""Part 2 on a GPU (run by `make gpu-check`; skipped without CUDA): the stored CPU
answers hold on CUDA, and training uses mixed precision, channels-last and the EMA."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from autograder.engine import grade_folder
from tests.conftest import HAS_CUDA
from tests.mutants import SOURCE
from tests.tiny_data import write_cifar10

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device")]


def test_reference_full_marks_on_cuda():
    report = grade_folder(SOURCE, device="cuda", only="part2")
    failing = {t["id"]: t["output"] for t in report.tests if t["status"] != "passed"}
    assert not failing, failing


def test_training_on_cuda(tmp_path):
    sys.path.insert(0, str(SOURCE))
    import randomizer
    from part2_diffusion.image_gen import ImageGenerator, cifar10_paths

    write_cifar10(tmp_path, per_batch=100)
    randomizer.seed(0)
    gen = ImageGenerator(denoising_steps=50, channels=32, device="cuda", augment=True)
    gen.load_dataset(cifar10_paths(tmp_path, download=False), batch_size=32)
    losses = gen.train_policy(epochs=4, lr=1e-3, warmup_steps=5, progress=False)
    assert all(np.isfinite(losses))
    net = gen.model.noise_pred_net
    assert next(net.parameters()).is_cuda
    assert gen.model.sampling_net is gen.model.ema.module
    samples = gen.model.generate_sample(torch.tensor([1, 2, 3], device="cuda"), guidance_weight=2.0, threshold=True)
    assert samples.is_cuda and samples.dtype == torch.float32 and torch.isfinite(samples).all()
    assert gen.generate_images(guidance=1.0, num_samples=2).shape == (6, 32, 32, 3)
