"""Smoke test: the reference image generator trains on small CIFAR-format data on
the CPU, its loss falls clearly, and its samples are finite and in range."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from tests.mutants import SOURCE
from tests.tiny_data import write_cifar10

sys.path.insert(0, str(SOURCE))
import randomizer  # noqa: E402
from part2_diffusion.image_gen import ImageGenerator, cifar10_paths  # noqa: E402


@pytest.mark.slow
def test_reference_trains_and_samples(tmp_path):
    write_cifar10(tmp_path, per_batch=100)
    paths = cifar10_paths(tmp_path, download=False)
    assert len(paths) == 5
    randomizer.seed(0)
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = ImageGenerator(denoising_steps=50, channels=16, device="cpu", augment=True)
        images, labels = gen.load_dataset(paths[:2], batch_size=32)
        assert images.shape == (60, 3, 32, 32) and set(labels.tolist()) == {1, 2, 3}
        losses = gen.train_policy(epochs=25, lr=2e-3, warmup_steps=5, progress=False)
        assert len(losses) == 25 * 2 and all(np.isfinite(losses))
        first, last = np.mean(losses[:5]), np.mean(losses[-10:])
        assert last < 0.5 * first, (first, last)
        assert gen.model.sampling_net is gen.model.ema.module
        samples = gen.model.generate_sample(torch.tensor([1, 2, 3]), guidance_weight=2.0, threshold=True)
        assert torch.isfinite(samples).all() and samples.abs().max() <= 1.001
        plain = gen.model.generate_sample(torch.tensor([1, 2, 3]), guidance_weight=0.0)
        assert torch.isfinite(plain).all() and plain.abs().max() < 5
        pixels = gen.generate_images(guidance=1.0, num_samples=2)
        assert pixels.shape == (6, 32, 32, 3) and pixels.dtype == np.uint8
    finally:
        torch.set_num_threads(threads)
