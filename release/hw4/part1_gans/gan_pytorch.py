"""Part 1: a GAN on SVHN (32x32 RGB house-number digits).

You implement the functions marked TODO; everything else is provided. Every random
number comes from the provided ``randomizer`` module, never from ``torch.rand*``,
so your results can be compared with the stored answers.

Conventions: images are float32 tensors of shape (N, 3, 32, 32). The data loader
gives them in [0, 1]; the networks work in [-1, 1] (``preprocess_img``).
"""
from __future__ import annotations

import math
import os

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Sampler
from tqdm.auto import tqdm

import randomizer

NOISE_DIM = 96
# Parameter budgets the checks enforce: enough for DCGAN-style nets that learn SVHN
# in minutes, small enough to train on a Colab GPU (or slowly on a CPU).
MAX_D_PARAMS = 2_000_000
MAX_G_PARAMS = 4_000_000


# --------------------------------------------------------------------------- provided helpers

def preprocess_img(x):
    """Map images from [0, 1] (as loaded) to [-1, 1] (what D and G work with)."""
    return 2 * x - 1.0


def deprocess_img(x):
    """Map images from [-1, 1] back to [0, 1] for display."""
    return (x + 1.0) / 2.0


def rel_error(x, y):
    """Largest relative error between two arrays (for comparing with expected numbers)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class ChunkSampler(Sampler):
    """Samples ``num_samples`` consecutive indices starting at ``start`` (in order).

    Used to split one data set into a training and a validation chunk.
    """

    def __init__(self, num_samples: int, start: int = 0):
        self.num_samples = num_samples
        self.start = start

    def __iter__(self):
        return iter(range(self.start, self.start + self.num_samples))

    def __len__(self):
        return self.num_samples


def load_svhn(data_dir="data", batch_size=128, num_train=None, num_val=None, download=False,
              max_train=None):
    """SVHN training images as two loaders: ``(loader_train, loader_val)``.

    Reads ``<data_dir>/train_32x32.mat`` with ``torchvision.datasets.SVHN`` (set
    ``download=True`` once to fetch it). Each batch is ``(x, y)`` with ``x`` of shape
    (B, 3, 32, 32), float32 in [0, 1], and ``y`` the digit labels (unused by the GAN).
    ``num_train`` / ``num_val`` default to everything but the last 5,000 images / those;
    ``max_train`` caps the training images (smoke runs).
    """
    import torchvision.datasets as dset
    import torchvision.transforms as T

    class SVHNFile(dset.SVHN):
        # torchvision accepts only the official file (by its MD5); any file in the same
        # format will do here (a subset, or the small files the tests write)
        def _check_integrity(self):
            return os.path.isfile(os.path.join(self.root, self.filename))

    data = SVHNFile(str(data_dir), split="train", download=download, transform=T.ToTensor())
    total = len(data)
    if num_val is None:
        num_val = min(5000, total // 10)
    if num_train is None:
        num_train = total - num_val
    if max_train is not None:
        num_train = min(num_train, max_train)
    if num_train + num_val > total:
        raise ValueError(f"asked for {num_train} + {num_val} images, the data set has {total}")
    loader_train = DataLoader(data, batch_size=batch_size, sampler=ChunkSampler(num_train, 0))
    loader_val = DataLoader(data, batch_size=batch_size, sampler=ChunkSampler(num_val, num_train))
    return loader_train, loader_val


def seconds_per_iteration(D, G, loader, batch_size, noise_size=NOISE_DIM, device=None, iterations=3) -> float:
    """Wall-clock seconds one iteration of your ``train_gan`` takes here, measured on
    copies of D and G (nothing is trained) over ``iterations`` batches of ``loader``
    (the first one, which warms up, is not counted). The randomizer's state is
    left as it was."""
    import contextlib
    import copy
    import io
    import time

    batches = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == iterations:
            break
    D2, G2 = copy.deepcopy(D), copy.deepcopy(G)
    opt_D, opt_G = get_optimizer(D2), get_optimizer(G2)
    state = randomizer.get_state()
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # train_gan's own progress lines are not wanted here
            train_gan(D2, G2, opt_D, opt_G, discriminator_loss, generator_loss, batches[:1], show_every=10**9,
                      batch_size=batch_size, noise_size=noise_size, num_epochs=1, device=device)
            started = time.perf_counter()
            train_gan(D2, G2, opt_D, opt_G, discriminator_loss, generator_loss, batches[1:], show_every=10**9,
                      batch_size=batch_size, noise_size=noise_size, num_epochs=1, device=device)
        if device is not None and torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)
        return (time.perf_counter() - started) / max(len(batches) - 1, 1)
    finally:
        randomizer.set_state(state)


def show_images(images, ncols=None, title=None):
    """Show a grid of images: (N, 3, 32, 32) in [0, 1], a numpy array or a tensor."""
    import matplotlib.pyplot as plt

    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    images = np.clip(np.asarray(images, dtype=np.float32), 0, 1)
    count = images.shape[0]
    ncols = ncols or int(math.ceil(math.sqrt(count)))
    nrows = int(math.ceil(count / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 1.2, nrows * 1.2), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img in zip(axes.flat, images):
        ax.imshow(img.transpose(1, 2, 0))  # (3, H, W) -> (H, W, 3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@torch.no_grad()
def eval_discriminator(D, oracle_G, loader, device, noise_dim=NOISE_DIM, max_batches=20):
    """How well ``D`` tells real SVHN images from a trained oracle generator's fakes.

    Returns ``{"real_accuracy", "fake_accuracy", "accuracy"}``: the fraction of real
    images with logit > 0, of oracle fakes with logit < 0, and their mean. A
    discriminator that has kept up with its own generator should beat 0.5.
    """
    was_training = D.training
    D.eval()
    real_hits = fake_hits = seen = 0
    try:
        for i, (x, _) in enumerate(loader):
            if i >= max_batches:
                break
            x = preprocess_img(x.to(device))  # (B, 3, 32, 32) in [-1, 1]
            fakes = oracle_G(2 * randomizer.rand((x.shape[0], noise_dim), device=device) - 1)
            real_hits += int((D(x).reshape(-1) > 0).sum())
            fake_hits += int((D(fakes).reshape(-1) < 0).sum())
            seen += x.shape[0]
    finally:
        D.train(was_training)
    if seen == 0:
        raise ValueError("the loader gave no images")
    real, fake = real_hits / seen, fake_hits / seen
    return {"real_accuracy": real, "fake_accuracy": fake, "accuracy": (real + fake) / 2}


# --------------------------------------------------------------------------- TODO: noise

def sample_noise(batch_size, dim, device=None):
    """Uniform random noise for the generator.

    Inputs:
    - batch_size: int, number of noise vectors N
    - dim: int, dimension D of each vector
    - device: where the result lives (None: the CPU)

    Returns: float32 tensor of shape (N, D), uniform on [-1, 1), computed exactly as
    ``2 * randomizer.rand((batch_size, dim), device=device) - 1`` (the stored answers
    depend on it; ``torch.rand`` gives different numbers).
    """
    # TODO: return uniform noise on [-1, 1) of shape (batch_size, dim) from `randomizer.rand`
    raise NotImplementedError("sample_noise: not implemented yet")


# --------------------------------------------------------------------------- TODO: networks

def discriminator():
    """The discriminator D: images -> one real-vs-fake logit per image.

    Returns an ``nn.Module`` mapping (N, 3, 32, 32) images in [-1, 1] to logits of shape
    (N, 1) (raw scores, no sigmoid: the loss applies it). It must work for any N >= 1
    (with N = 1 in eval mode) and have at most ``MAX_D_PARAMS`` = 2,000,000 parameters,
    every one of them used.

    Recommended (DCGAN-style): two strided 4x4 convolutions (3 -> 64 -> 128 channels,
    32 -> 16 -> 8 pixels), each followed by LeakyReLU(0.01) (batch norm on the second),
    then a linear layer with bias to one logit.
    """
    # TODO: build and return the discriminator as an nn.Module (e.g. nn.Sequential)
    raise NotImplementedError("discriminator: not implemented yet")


def generator(noise_dim=NOISE_DIM):
    """The generator G: noise -> images.

    Returns an ``nn.Module`` mapping noise of shape (N, noise_dim) to images of shape
    (N, 3, 32, 32) in [-1, 1]; the last layer is ``nn.Tanh()``. It must work for any
    N >= 1 (with N = 1 in eval mode) and have at most ``MAX_G_PARAMS`` = 4,000,000
    parameters, every one of them used.

    Recommended (DCGAN-style): a linear layer to 256 x 4 x 4, then three 4x4
    transposed convolutions with stride 2 (256 -> 128 -> 64 -> 3 channels, 4 -> 8 -> 16
    -> 32 pixels), batch norm and ReLU between them, tanh at the end.
    """
    # TODO: build and return the generator as an nn.Module (e.g. nn.Sequential)
    raise NotImplementedError("generator: not implemented yet")


# --------------------------------------------------------------------------- TODO: losses

def bce_loss(input, target):
    """Binary cross-entropy on logits, averaged over all elements.

    Inputs:
    - input: float tensor of logits s, any shape
    - target: float tensor of the same shape, targets t in [0, 1] (not only 0 and 1)

    Returns: scalar tensor, mean of ``-[t * log sigmoid(s) + (1 - t) * log(1 - sigmoid(s))]``.
    It must stay finite and accurate for logits of magnitude 100 and more, so do not
    take the log of a sigmoid: use the equivalent stable form
    ``max(s, 0) - s * t + log(1 + exp(-|s|))``.
    """
    # TODO: compute the mean binary cross-entropy with the stable formula above
    raise NotImplementedError("bce_loss: not implemented yet")


def discriminator_loss(logits_real, logits_fake):
    """The discriminator's loss (GAN paper eq. 1, as a minimisation).

    Inputs:
    - logits_real: (N, 1) logits D gave real images
    - logits_fake: (N, 1) logits D gave generated images

    Returns: scalar tensor ``bce_loss(logits_real, 1) + bce_loss(logits_fake, 0)``, each
    term a mean over its elements (targets as tensors shaped like the logits).
    """
    # TODO: real images should be classified 1, fakes 0; use bce_loss
    raise NotImplementedError("discriminator_loss: not implemented yet")


def generator_loss(logits_fake):
    """The generator's non-saturating loss: ``bce_loss(logits_fake, 1)``.

    Inputs:
    - logits_fake: (N, 1) logits D gave generated images

    Returns: scalar tensor, ``-mean(log sigmoid(logits_fake))``. (The minimax form,
    ``-bce_loss(logits_fake, 0)``, has vanishing gradients when D wins early on.)
    """
    # TODO: the generator wants its fakes classified 1; use bce_loss
    raise NotImplementedError("generator_loss: not implemented yet")


def get_optimizer(model):
    """An Adam optimizer for ``model``'s parameters: lr = 1e-3, betas = (0.5, 0.999).

    (beta1 = 0.5 instead of the default 0.9, as in DCGAN: less momentum keeps the
    two players from overshooting each other.)
    """
    # TODO: return torch.optim.Adam over model.parameters() with the hyper-parameters above
    raise NotImplementedError("get_optimizer: not implemented yet")


# --------------------------------------------------------------------------- TODO: training

def train_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss, loader_train,
              show_every=250, batch_size=128, noise_size=NOISE_DIM, num_epochs=10, device=None):
    """Train the GAN; return the sample grids seen along the way.

    Inputs:
    - D, G: the discriminator and generator (nn.Module), already on ``device``
    - D_solver, G_solver: their optimizers
    - discriminator_loss, generator_loss: the loss functions to use (call these, not
      the module's functions of the same name: a grader may pass instrumented ones)
    - loader_train: yields ``(x, y)`` with x (batch_size, 3, 32, 32) in [0, 1]
    - show_every: keep a snapshot of the fakes every ``show_every`` iterations
    - batch_size, noise_size: fakes per step and the noise dimension
    - num_epochs: passes over ``loader_train``
    - device: where to train (None: the device of D's parameters)

    Returns: a list of numpy float32 arrays (up to 16 images, 3, 32, 32) in [0, 1], the
    fakes of iterations 0, show_every, 2 * show_every, ...

    Each iteration: (1) a discriminator step on the real batch rescaled to [-1, 1] and
    on fakes ``G(sample_noise(batch_size, noise_size))`` detached from G, (2) a generator
    step (on those same fakes, not detached, or on fresh noise). Each step zeroes its
    own gradients, back-propagates its own loss and steps only its own optimizer.
    """
    if device is None:
        device = next(D.parameters()).device
    images = []
    iter_count = 0
    for epoch in range(num_epochs):
        for x, _ in tqdm(loader_train, desc=f"epoch {epoch + 1}/{num_epochs}", leave=False):
            if len(x) != batch_size:
                continue  # a last, smaller batch would unbalance real and fake
            x = x.to(device)
            # TODO: one discriminator step, then one generator step (see the docstring).
            # Leave `fake_images` (the fakes of this iteration), `d_total_error` and
            # `g_error` (the two losses) defined for the progress report below.
            raise NotImplementedError("train_gan: not implemented yet")

            if iter_count % show_every == 0:
                tqdm.write(f"Iter: {iter_count}, D: {d_total_error.item():.4}, G: {g_error.item():.4}")
                images.append(deprocess_img(fake_images[:16]).detach().cpu().float().numpy())
            iter_count += 1
    return images
