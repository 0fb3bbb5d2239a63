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


class _MLP(torch.nn.Module):
    """A small noise predictor for 2-D points: x, timestep and class embeddings summed."""

    def __init__(self, width=128):
        super().__init__()
        from part2_diffusion.unet import timestep_embedding

        self.embed_t = timestep_embedding
        self.cls = torch.nn.Embedding(4, width)
        self.tproj = torch.nn.Linear(32, width)
        self.inp = torch.nn.Linear(2, width)
        self.body = torch.nn.Sequential(torch.nn.SiLU(), torch.nn.Linear(width, width), torch.nn.SiLU(),
                                        torch.nn.Linear(width, width), torch.nn.SiLU(), torch.nn.Linear(width, 2))

    def forward(self, x, t, c):
        return self.body(self.inp(x) + self.tproj(self.embed_t(t, 32)) + self.cls(c))


@pytest.mark.slow
def test_reference_learns_a_conditional_mixture_and_guidance_sharpens_it():
    """End to end on a problem with a known answer: three Gaussian blobs (std 0.08), one per
    class. Conditional samples land on their class's blob with the right spread; guidance
    concentrates them; the null class covers all three blobs."""
    from part2_diffusion.diffusion_model import DiffusionModel

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        randomizer.seed(0)
        centers = torch.tensor([[0.6, 0.0], [-0.3, 0.52], [-0.3, -0.52]])
        labels = randomizer.randint(1, 4, (3000,))
        data = centers[labels - 1] + 0.08 * randomizer.randn((3000, 2))
        model = DiffusionModel(_MLP(), 100, p_uncond=0.2, input_shape=(2,))
        losses = model.train(data, labels, epochs=40, batch_size=256, lr=3e-3, warmup_steps=20, progress=False)
        assert np.mean(losses[-20:]) < 0.3 * np.mean(losses[:10])
        cond = torch.tensor([1, 2, 3] * 100)
        spread = {}
        for w in (0.0, 2.0):
            randomizer.seed(1)
            samples = model.generate_sample(cond, guidance_weight=w)
            nearest = torch.cdist(samples, centers).argmin(1) + 1
            assert (nearest == cond).float().mean() > 0.97, w
            spread[w] = float((samples - centers[cond - 1]).norm(dim=1).median())
        assert 0.06 < spread[0.0] < 0.14  # a 2-D Gaussian of std 0.08 has median radius 0.094
        assert spread[2.0] < 0.8 * spread[0.0]
        randomizer.seed(2)
        free = model.generate_sample(torch.zeros(300, dtype=torch.int64))
        counts = torch.bincount(torch.cdist(free, centers).argmin(1), minlength=3)
        assert counts.min() > 50, counts
    finally:
        torch.set_num_threads(threads)
