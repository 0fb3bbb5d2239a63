"""Smoke test: the reference GAN trains on a small data set in the SVHN on-disk format
(a real ``.mat`` file, read by the real loader) on the CPU; its losses stay finite and
its samples move toward the data's colour statistics."""
from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
import torch
from scipy.io import savemat

from tests.mutants import SOURCE


@pytest.fixture(scope="module")
def gan():
    if str(SOURCE) not in sys.path:
        sys.path.insert(0, str(SOURCE))
    return importlib.import_module("part1_gans.gan_pytorch")


def write_red_svhn(root, count=256, seed=0):
    """``root/train_32x32.mat``: reddish images with a bright disc at a random place."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32]
    images = np.empty((32, 32, 3, count), dtype=np.uint8)   # SVHN stores (H, W, C, N)
    for i in range(count):
        image = np.array([220.0, 60.0, 40.0]) + rng.normal(0, 15, (32, 32, 3))
        cx, cy = rng.integers(8, 24, 2)
        disc = ((xx - cx) ** 2 + (yy - cy) ** 2 < 36)[..., None]
        images[..., i] = np.clip(np.where(disc, 255 - image, image), 0, 255)
    labels = (np.arange(count) % 10 + 1).reshape(count, 1).astype(np.uint8)  # SVHN labels 1..10
    root.mkdir(parents=True, exist_ok=True)
    savemat(root / "train_32x32.mat", {"X": images, "y": labels})
    return root


def test_loader_reads_the_mat_file(gan, tmp_path):
    root = write_red_svhn(tmp_path, count=40)
    loader_train, loader_val = gan.load_svhn(root, batch_size=8)
    assert len(loader_train.sampler) == 36 and len(loader_val.sampler) == 4
    x, y = next(iter(loader_train))
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    assert abs(float(x[:, 0].mean()) - float(x[:, 2].mean())) > 0.2   # channels in the right order
    with pytest.raises(ValueError):
        gan.load_svhn(root, num_train=40, num_val=5)


@pytest.mark.slow
def test_reference_trains_toward_the_data(gan, tmp_path):
    torch.set_num_threads(1)
    randomizer = gan.randomizer   # the one sample_noise draws from
    root = write_red_svhn(tmp_path)
    loader, _ = gan.load_svhn(root, batch_size=32, num_train=224, num_val=32)
    data_colour = torch.cat([x for x, _ in loader]).mean((0, 2, 3))   # (3,) mean colour in [0, 1]

    randomizer.seed(0)
    torch.manual_seed(0)
    D, G = gan.discriminator(), gan.generator()

    def sample_colour():
        randomizer.seed(123)   # the same noise before and after training
        with torch.no_grad():
            return gan.deprocess_img(G(gan.sample_noise(64, gan.NOISE_DIM))).mean((0, 2, 3))

    def recording(loss_fn, history):
        def loss(*args):
            value = loss_fn(*args)
            history.append(float(value.detach()))
            return value
        return loss

    before = float((sample_colour() - data_colour).norm())
    d_losses, g_losses = [], []
    snapshots = gan.train_gan(D, G, gan.get_optimizer(D), gan.get_optimizer(G),
                              recording(gan.discriminator_loss, d_losses), recording(gan.generator_loss, g_losses),
                              loader, show_every=20, batch_size=32, num_epochs=9)
    after = float((sample_colour() - data_colour).norm())

    assert len(d_losses) == len(g_losses) == 63
    assert np.isfinite(d_losses).all() and np.isfinite(g_losses).all()
    assert len(snapshots) == 4 and all(s.shape == (16, 3, 32, 32) for s in snapshots)
    assert after < 0.6 * before, f"mean colour distance to the data: {before:.3f} before, {after:.3f} after"
