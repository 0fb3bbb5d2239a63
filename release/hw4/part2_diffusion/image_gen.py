"""Class-conditional image generation on three CIFAR-10 classes.

You fill in the two sizes in ``ImageGenerator.__init__`` and ``load_dataset``; the
rest (augmentation, training, sampling, plotting) is provided.

CIFAR-10 "python version" batches (``data_batch_1`` .. ``data_batch_5``, ``test_batch``)
are pickled dicts with ``b"data"``: uint8 (N, 3072), each row the 1024 red, then
1024 green, then 1024 blue values of a 32x32 image in row-major order, and
``b"labels"``: N ints in 0..9.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

import randomizer
from part2_diffusion.diffusion_model import DiffusionModel
from part2_diffusion.unet import UNet

CLASS_NAMES = ("airplane", "automobile", "bird")  # CIFAR-10 labels 0, 1, 2 -> our labels 1, 2, 3


def cifar10_paths(data_dir="data", download: bool = True) -> list[str]:
    """Paths of the CIFAR-10 training batches under ``data_dir/cifar-10-batches-py``.

    Downloads the data set (170 MB) with torchvision when it is missing and
    ``download`` is true; returns whichever ``data_batch_*`` files exist, sorted.
    """
    folder = Path(data_dir) / "cifar-10-batches-py"
    if download and not folder.is_dir():
        import torchvision

        torchvision.datasets.CIFAR10(root=str(data_dir), train=True, download=True)
    paths = sorted(str(p) for p in folder.glob("data_batch_*"))
    if not paths:
        raise FileNotFoundError(f"no CIFAR-10 batches in {folder}")
    return paths


class ImageGenerator:
    """A class-conditional DDPM with classifier-free guidance for 32x32 RGB images.

    Args:
        denoising_steps: number of diffusion steps T.
        p_uncond: CFG dropout probability used in training.
        channels: base width of the U-Net (32 is quick on a CPU, 64 for real training).
        device: where to train and sample (default: CUDA when available, else CPU).
        augment: apply :meth:`augment` to every training batch.

    Attributes set by you: ``input_shape`` (the shape of one image, channels first)
    and ``condition_dim`` (the number of class labels the network knows, including
    the null class 0).
    """

    def __init__(self, denoising_steps: int = 500, p_uncond: float = 0.1, channels: int = 64,
                 device=None, augment: bool = False):
        # TODO: set `self.input_shape` (one image, channels first) and
        # `self.condition_dim` (three classes plus the null class 0).
        raise NotImplementedError("ImageGenerator.__init__: not implemented yet")
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.augment_data = augment
        net = UNet(denoising_steps, self.condition_dim, channels=channels, in_channels=self.input_shape[0])
        self.model = DiffusionModel(net, denoising_steps, p_uncond=p_uncond, input_shape=self.input_shape,
                                    device=self.device)
        self.images: torch.Tensor | None = None
        self.labels: torch.Tensor | None = None
        self.batch_size = 64
        self.losses: list[float] = []

    def load_dataset(self, dataset_paths, batch_size: int = 64):
        """Read CIFAR-10 python batches and keep the first three classes.

        Args:
            dataset_paths: paths of pickled CIFAR-10 batches, read in the given order.
            batch_size: training batch size.
        Returns:
            ``(images, labels)``: images float32 (N, 3, 32, 32) scaled from [0, 255] to
            [-1, 1]; labels int64 (N,) in {1, 2, 3} (CIFAR labels 0, 1, 2 shifted by one,
            since 0 is the null class). Images keep their order in the files. Both stay
            on the CPU; they are also stored as ``self.images`` and ``self.labels``.
        """
        if isinstance(dataset_paths, (str, os.PathLike)):
            dataset_paths = [dataset_paths]
        # TODO: read every batch (pickle.load(f, encoding="bytes")), keep labels 0, 1, 2,
        # shift them to 1, 2, 3, and build `images` and `labels` as described above.
        raise NotImplementedError("ImageGenerator.load_dataset: not implemented yet")
        self.images, self.labels, self.batch_size = images, labels, int(batch_size)
        return images, labels

    # ------------------------------------------------------------------ provided
    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """Label-preserving augmentation of a batch (B, 3, H, W): random horizontal flips.

        A flipped airplane is still an airplane, and the generator learns the same
        distribution; rotations, colour changes or crops that leave the data
        distribution would show up in the samples. Add your own here if you like.
        """
        flip = randomizer.rand((images.shape[0],), device=images.device) < 0.5
        return torch.where(flip[:, None, None, None], images.flip(-1), images)

    def train_policy(self, epochs: int, **kwargs) -> list[float]:
        """Train for ``epochs`` passes over the loaded data; returns (and keeps) the step losses."""
        if self.images is None:
            raise RuntimeError("call load_dataset(...) first")
        losses = self.model.train(self.images, self.labels, epochs, batch_size=self.batch_size,
                                  augment=self.augment if self.augment_data else None, **kwargs)
        self.losses.extend(losses)
        return losses

    def seconds_per_step(self, steps: int = 3) -> float:
        """Wall-clock seconds one training step takes here, measured on a copy of the
        model (nothing is trained) over ``steps`` batches (the first, which warms up, is
        not counted). The randomizer's state is left as it was."""
        if self.images is None:
            raise RuntimeError("call load_dataset(...) first")
        return self.model.seconds_per_step(self.images, self.labels, self.batch_size, steps,
                                           augment=self.augment if self.augment_data else None)

    def generate_images(self, guidance: float = 0, num_samples: int = 8, threshold: bool = False,
                        class_label: int | None = None) -> np.ndarray:
        """Sample images; returns uint8 (B, H, W, C).

        With ``class_label=None``, ``num_samples`` images of each class 1, 2, 3 in that
        order (B = 3 * num_samples); otherwise ``num_samples`` images of that class.
        """
        if class_label is None:
            labels = torch.arange(1, len(CLASS_NAMES) + 1).repeat_interleave(num_samples)
        else:
            if not 1 <= class_label <= len(CLASS_NAMES):
                raise ValueError(f"class_label must be 1..{len(CLASS_NAMES)}, got {class_label}")
            labels = torch.full((num_samples,), int(class_label), dtype=torch.int64)
        samples = self.model.generate_sample(labels.to(self.device), guidance_weight=guidance, threshold=threshold)
        pixels = ((samples.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)  # [-1, 1] -> {0..255}
        return pixels.permute(0, 2, 3, 1).cpu().numpy()  # (B, C, H, W) -> (B, H, W, C)


def show_samples(images: np.ndarray, num_per_class: int, title: str = "", ax=None):
    """Plot the output of ``generate_images(class_label=None)`` as one row per class."""
    import matplotlib.pyplot as plt

    rows = images.shape[0] // num_per_class
    h, w = images.shape[1:3]
    grid = images[:rows * num_per_class].reshape(rows, num_per_class, h, w, -1)
    grid = grid.transpose(0, 2, 1, 3, 4).reshape(rows * h, num_per_class * w, -1)  # rows of images side by side
    if ax is None:
        _, ax = plt.subplots(figsize=(num_per_class * 0.9 + 1.5, rows * 0.9 + 0.6))
    ax.imshow(grid)
    ax.set_xticks([])
    ax.set_yticks([(r + 0.5) * h for r in range(rows)])
    ax.set_yticklabels(CLASS_NAMES[:rows] if rows <= len(CLASS_NAMES) else range(rows))
    ax.set_title(title)
    return ax
