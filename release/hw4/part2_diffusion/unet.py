"""Noise-prediction networks for Part 2 (provided; do not edit).

* :class:`UNet` is the conditional U-Net you train on 32x32 CIFAR images. It
  predicts the noise ``eps_theta(x_t, t, c)`` from a noisy image, the timestep
  (sinusoidal embedding, as in the Transformer and DDPM papers) and the class
  label (a learned embedding; class 0 is the "no class" null condition of
  classifier-free guidance).
* :class:`TinyNoiseNet` is a small network with fixed, formula-made weights. The
  checks use it so that ``generate_sample`` and ``compute_loss_on_batch`` run in a
  fraction of a second and give the same numbers on every machine.

Both are called as ``net(x, t, cond)`` with ``x`` of shape (B, ...), ``t`` an int64
tensor of shape (B,) and ``cond`` an int64 tensor of shape (B,).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _check_inputs(x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, num_steps: int,
                  num_classes: int) -> None:
    """Clear errors for the mistakes that would otherwise fail deep inside the network."""
    if not isinstance(t, torch.Tensor) or t.dtype != torch.int64 or t.shape != (x.shape[0],):
        got = f"{t.dtype} tensor of shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise TypeError(f"t must be an int64 tensor of shape (B,) = ({x.shape[0]},), got {got}")
    if not isinstance(cond, torch.Tensor) or cond.dtype != torch.int64 or cond.shape != (x.shape[0],):
        got = f"{cond.dtype} tensor of shape {tuple(cond.shape)}" if isinstance(cond, torch.Tensor) \
            else type(cond).__name__
        raise TypeError(f"cond must be an int64 tensor of class labels of shape (B,) = ({x.shape[0]},), got {got}")
    if t.device != x.device or cond.device != x.device:
        raise ValueError(f"x, t and cond must be on the same device, got {x.device}, {t.device}, {cond.device}")
    if t.numel() and x.device.type == "cpu":  # on CUDA the range check would stall the GPU
        low, high = int(t.min()), int(t.max())
        if low < 0 or high >= num_steps:
            raise IndexError(f"timesteps must lie in [0, {num_steps - 1}], got values in [{low}, {high}]")
        low, high = int(cond.min()), int(cond.max())
        if low < 0 or high >= num_classes:
            raise IndexError(f"class labels must lie in [0, {num_classes - 1}], got values in [{low}, {high}]")


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Vaswani et al. 2017, section 3.5).

    Args:
        t: int64 (B,) timesteps.
        dim: even embedding size.
    Returns:
        float32 (B, dim): ``[cos(t * f_0), ..., cos(t * f_{dim/2-1}), sin(...)]`` with
        frequencies ``f_k = max_period ** (-k / (dim / 2))``.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None, :]  # (B, half)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with GroupNorm and SiLU; the embedding sets a per-channel
    scale and shift after the second normalisation (FiLM, as in improved DDPM)."""

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, groups: int = 8):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * out_ch)
        self.norm2 = nn.GroupNorm(groups, out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity: stable early training
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(F.silu(emb))[:, :, None, None].chunk(2, dim=1)  # (B, out_ch, 1, 1) each
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return h + self.skip(x)


class SelfAttention(nn.Module):
    """Single-head self-attention over the pixels of a low-resolution feature map."""

    def __init__(self, ch: int, groups: int = 8):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.out = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)  # (B, C, HW) each
        attn = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return x + self.out(attn.transpose(1, 2).reshape(b, c, h, w))


class UNet(nn.Module):
    """Conditional noise-prediction U-Net for (B, 3, 32, 32) images.

    Resolutions 32 -> 16 -> 8 with ``channels * mult`` feature maps, one residual
    block per level on the way down and two on the way up (with skip connections),
    self-attention at 8x8.

    Args:
        num_steps: number of diffusion timesteps T (t lies in [0, T-1]).
        num_classes: size of the class embedding table, including the null class 0.
        channels: base width (32 for quick CPU runs, 64 for real training).
        in_channels: image channels.
    Forward:
        x (B, in_channels, 32, 32) float, t int64 (B,), cond int64 (B,) -> eps (B, in_channels, 32, 32).
    """

    def __init__(self, num_steps: int, num_classes: int, channels: int = 64, in_channels: int = 3,
                 mults: tuple = (1, 2, 2)):
        super().__init__()
        self.num_steps, self.num_classes = int(num_steps), int(num_classes)
        emb_dim = 4 * channels
        self.time_dim = channels
        self.time_mlp = nn.Sequential(nn.Linear(channels, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(num_classes, emb_dim)
        self.conv_in = nn.Conv2d(in_channels, channels, 3, padding=1)

        widths = [channels * m for m in mults]
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        skips, ch = [channels], channels
        for level, width in enumerate(widths):
            self.down.append(ResBlock(ch, width, emb_dim))
            ch = width
            skips.append(ch)
            last = level == len(widths) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(ch, ch, 3, stride=2, padding=1))
            if not last:
                skips.append(ch)
        self.mid1 = ResBlock(ch, ch, emb_dim)
        self.mid_attn = SelfAttention(ch)
        self.mid2 = ResBlock(ch, ch, emb_dim)

        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for level, width in reversed(list(enumerate(widths))):
            blocks = nn.ModuleList()
            for _ in range(2):
                blocks.append(ResBlock(ch + skips.pop(), width, emb_dim))
                ch = width
            self.up.append(blocks)
            self.upsample.append(nn.Upsample(scale_factor=2, mode="nearest") if level > 0 else nn.Identity())
        self.norm_out = nn.GroupNorm(8, ch)
        self.conv_out = nn.Conv2d(ch, in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        _check_inputs(x, t, cond, self.num_steps, self.num_classes)
        emb = self.time_mlp(timestep_embedding(t, self.time_dim).to(x.dtype)) + self.class_emb(cond)  # (B, emb_dim)
        h = self.conv_in(x)
        skips = [h]
        for block, down in zip(self.down, self.downsample):
            h = block(h, emb)
            skips.append(h)
            if not isinstance(down, nn.Identity):
                h = down(h)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for blocks, up in zip(self.up, self.upsample):
            for block in blocks:
                h = block(torch.cat([h, skips.pop()], dim=1), emb)
            h = up(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class TinyNoiseNet(nn.Module):
    """A deterministic stand-in for the U-Net, used by the checks.

    ``eps(x, t, c) = tanh(W x + u_t + v_c)`` on the flattened sample, with weights
    made from fixed formulas (no random initialisation), so it gives the same
    numbers on every machine. Works for samples of any shape.

    Args:
        input_shape: shape of one sample, e.g. (2,) or (3, 8, 8).
        num_steps: number of timesteps T.
        num_classes: number of class labels, including the null class 0.
        variant: a different integer gives a different (equally deterministic) network.
    """

    def __init__(self, input_shape, num_steps: int, num_classes: int, variant: int = 0):
        super().__init__()
        self.input_shape = tuple(int(d) for d in input_shape)
        self.num_steps, self.num_classes = int(num_steps), int(num_classes)
        dim = math.prod(self.input_shape)
        i = torch.arange(1, dim + 1, dtype=torch.float64)
        phase = 0.9 * variant
        weight = 0.6 * torch.eye(dim, dtype=torch.float64) \
            + 0.4 * torch.cos(0.7 * torch.outer(i, i) + phase) / math.sqrt(dim)
        steps = torch.arange(1, num_steps + 1, dtype=torch.float64)
        classes = torch.arange(1, num_classes + 1, dtype=torch.float64)
        self.weight = nn.Parameter(weight.float())
        self.time_table = nn.Parameter((0.5 * torch.sin(0.37 * torch.outer(steps, i) + phase)).float())
        self.class_table = nn.Parameter((0.8 * torch.cos(1.3 * torch.outer(classes, i) - phase)).float())

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        _check_inputs(x, t, cond, self.num_steps, self.num_classes)
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"x must have shape (B, {', '.join(map(str, self.input_shape))}), got {tuple(x.shape)}")
        flat = x.reshape(x.shape[0], -1)  # (B, D)
        h = flat @ self.weight.T + self.time_table[t] + self.class_table[cond]
        return torch.tanh(h).reshape(x.shape)
