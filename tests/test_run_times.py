"""Honest run times and a visible smoke switch: the notebooks say what training
costs, measure the student's own code before a long cell, and cap the data in smoke
mode. The measurement trains nothing and leaves the randomizer where it was."""
from __future__ import annotations

import importlib
import re
import sys

import nbformat
import pytest
import torch

from autograder.manifest import current
from tests.mutants import SOURCE
from tests.tiny_data import write_cifar10, write_svhn


@pytest.fixture(scope="module")
def hw4():
    if str(SOURCE) not in sys.path:
        sys.path.insert(0, str(SOURCE))
    return {name: importlib.import_module(name) for name in
            ("randomizer", "part1_gans.gan_pytorch", "part2_diffusion.image_gen")}


# How each notebook's smoke mode caps its data (the images loaded, the demonstrations made).
SMOKE_DATA_CAP = {"part1_gans.ipynb": r"^SMOKE_IMAGES = \d+", "part2_diffusion.ipynb": r"^SMOKE_IMAGES = \d+",
                  "part2_policy.ipynb": r"^DEMOS = \d+ if SMOKE else \d+"}


@pytest.mark.parametrize("name", current().notebooks)
def test_smoke_switch_is_visible_in_the_config_cell(name):
    nb = nbformat.read(SOURCE / name, as_version=4)
    config = next(c for c in nb.cells if c.id == "config")
    assert re.search(r"^SMOKE = False$", config.source, re.MULTILINE), "a switch the student flips"
    assert re.search(SMOKE_DATA_CAP[name], config.source, re.MULTILINE), "smoke mode caps the data"
    estimate = [c for c in nb.cells if c.id == "estimate"]
    train = [i for i, c in enumerate(nb.cells) if c.id == "train"]
    assert estimate and nb.cells.index(estimate[0]) == train[0] - 1, "the estimate comes right before training"


def test_svhn_is_capped_in_smoke_mode(hw4, tmp_path):
    gan = hw4["part1_gans.gan_pytorch"]
    data = write_svhn(tmp_path / "data", train=96, test=8)
    full, _ = gan.load_svhn(data, batch_size=8)
    capped, val = gan.load_svhn(data, batch_size=8, max_train=24)
    assert len(capped.sampler) == 24 < len(full.sampler) and len(val.sampler) > 0


def test_gan_iteration_is_measured_without_training_or_drawing(hw4, tmp_path):
    gan, randomizer = hw4["part1_gans.gan_pytorch"], hw4["randomizer"]
    loader, _ = gan.load_svhn(write_svhn(tmp_path / "data", train=64, test=8), batch_size=8)
    randomizer.seed(3)
    D, G = gan.discriminator(), gan.generator()
    before = [p.detach().clone() for p in [*D.parameters(), *G.parameters()]]
    randomizer.seed(5)
    seconds = gan.seconds_per_iteration(D, G, loader, batch_size=8)
    after_measuring = randomizer.rand((4,))
    randomizer.seed(5)
    assert seconds > 0 and torch.equal(after_measuring, randomizer.rand((4,)))
    assert all(torch.equal(a, b) for a, b in zip(before, [*D.parameters(), *G.parameters()]))


def test_diffusion_step_is_measured_without_training_or_drawing(hw4, tmp_path):
    image_gen, randomizer = hw4["part2_diffusion.image_gen"], hw4["randomizer"]
    paths = image_gen.cifar10_paths(write_cifar10(tmp_path / "data", per_batch=40).parent, download=False)
    gen = image_gen.ImageGenerator(denoising_steps=10, channels=16, device="cpu", augment=True)
    gen.load_dataset(paths[:1], batch_size=8)
    before = [p.detach().clone() for p in gen.model.noise_pred_net.parameters()]
    randomizer.seed(7)
    seconds = gen.seconds_per_step()
    after_measuring = randomizer.randn((3,))
    randomizer.seed(7)
    assert seconds > 0 and torch.equal(after_measuring, randomizer.randn((3,)))
    assert all(torch.equal(a, b) for a, b in zip(before, gen.model.noise_pred_net.parameters()))
    assert gen.model.ema is None and not gen.losses
