"""DDPM training loss with classifier-free guidance dropout, and guided sampling.

Papers: Ho et al. 2020, "Denoising Diffusion Probabilistic Models" (DDPM) and
Ho & Salimans 2022, "Classifier-Free Diffusion Guidance" (CFG).

You implement ``compute_loss_on_batch`` and ``generate_sample``; the constructor
and the training loop ``train`` are provided. Every random number comes from
``randomizer`` (never ``torch.randn``).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

import randomizer
from part2_diffusion.noise_scheduler import NoiseScheduler


class DiffusionModel:
    """A noise-prediction network plus its DDPM schedule.

    Args:
        noise_pred_net: ``nn.Module`` called as ``net(x, t, cond)``: x (B, *input_shape),
            t int64 (B,), cond (B, ...) -> predicted noise (B, *input_shape).
        denoising_steps: number of diffusion steps T.
        p_uncond: probability of replacing a sample's condition by the null
            condition during training (CFG dropout).
        input_shape: shape of one sample, e.g. (3, 32, 32).
        device: where the network, the schedule and the samples live (default CPU).
        noise_scheduler: a ready :class:`NoiseScheduler` (default: a new one with T steps).

    Attributes: ``noise_pred_net`` (the network being trained), ``sampling_net`` (the
    network to sample with: the EMA copy after training, else ``noise_pred_net``),
    ``noise_scheduler``, ``denoising_steps``, ``p_uncond``, ``input_shape``, ``device``.
    """

    def __init__(self, noise_pred_net: nn.Module, denoising_steps: int, p_uncond: float = 0.1,
                 input_shape=(3, 32, 32), device=None, noise_scheduler: NoiseScheduler | None = None):
        if not 0.0 <= p_uncond <= 1.0:
            raise ValueError(f"p_uncond must lie in [0, 1], got {p_uncond}")
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.denoising_steps = int(denoising_steps)
        self.p_uncond = float(p_uncond)
        self.input_shape = tuple(int(d) for d in input_shape)
        self.noise_pred_net = noise_pred_net.to(self.device)
        self.sampling_net = self.noise_pred_net
        self.ema: AveragedModel | None = None
        self.noise_scheduler = noise_scheduler or NoiseScheduler(self.denoising_steps, device=self.device)

    def compute_loss_on_batch(self, data: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Simple DDPM loss (eq. 14) with classifier-free guidance dropout.

        Args:
            data: clean samples x_0, float32 (B, *input_shape), on ``self.device``.
            cond: conditions with the batch first, e.g. class labels int64 (B,);
                the null condition is ``torch.zeros_like(cond)``.
        Returns:
            A float32 scalar tensor: the mean over all elements of
            ``(noise_pred_net(x_t, t, cond') - eps) ** 2``, where, drawn in this way
            (the order of the three draws does not matter),
            ``t = randomizer.randint(0, T, (B,))``, ``eps = randomizer.randn(data.shape)``,
            ``x_t = noise_scheduler.add_noise(data, eps, t)``, and ``cond'`` is ``cond`` with
            the rows where ``randomizer.rand((B,)) < p_uncond`` replaced by the null condition.
        """
        # TODO: draw t, eps and the per-sample dropout mask from `randomizer` (on
        # data.device), replace the dropped rows of cond by zeros, noise the data with
        # self.noise_scheduler.add_noise, and return the mean squared error (eq. 14).
        ### BEGIN SOLUTION
        batch = data.shape[0]
        # 1. a timestep and a noise sample per example (Algorithm 1, lines 3-4)
        t = randomizer.randint(0, self.denoising_steps, (batch,), device=data.device)
        eps = randomizer.randn(data.shape, device=data.device)
        # 2. CFG dropout: each example independently loses its condition (CFG Algorithm 1)
        drop = randomizer.rand((batch,), device=data.device) < self.p_uncond
        drop = drop.reshape(-1, *([1] * (cond.dim() - 1)))  # (B,) -> (B, 1, ...) to broadcast over cond
        cond = torch.where(drop, torch.zeros_like(cond), cond)
        # 3. regress the noise that made x_t (eq. 14)
        x_t = self.noise_scheduler.add_noise(data, eps, t)
        return F.mse_loss(self.noise_pred_net(x_t, t, cond), eps)
        ### END SOLUTION

    @torch.no_grad()
    def generate_sample(self, cond: torch.Tensor, guidance_weight: float = 0.0,
                        threshold: bool = False) -> torch.Tensor:
        """Sample with classifier-free guidance (DDPM Algorithm 2, CFG eq. 6).

        Args:
            cond: conditions with the batch first, e.g. class labels int64 (B,).
            guidance_weight: w >= 0; 0 samples the plain conditional model.
            threshold: passed on to ``noise_scheduler.denoise_step``.
        Returns:
            float32 (B, *input_shape) on ``self.device``: start from
            ``x = randomizer.randn((B, *input_shape))``; for t = T-1 down to 0 predict
            ``eps = (1 + w) * net(x, t, cond) - w * net(x, t, null)`` with
            ``net = self.sampling_net`` and ``null = torch.zeros_like(cond)``, then
            ``x = noise_scheduler.denoise_step(eps, t, x, threshold)``.
        """
        if guidance_weight < 0:
            raise ValueError(f"guidance_weight must be >= 0, got {guidance_weight}")
        # TODO: the sampling loop above. The network takes t as an int64 tensor of
        # shape (B,); the scheduler's denoise_step takes t as a Python int.
        ### BEGIN SOLUTION
        batch = cond.shape[0]
        net = self.sampling_net
        x = randomizer.randn((batch, *self.input_shape), device=self.device)
        null = torch.zeros_like(cond)
        for t in reversed(range(self.denoising_steps)):
            steps = torch.full((batch,), t, dtype=torch.int64, device=self.device)
            if guidance_weight == 0:
                eps = net(x, steps, cond)
            else:
                # conditional and unconditional predictions in one forward pass of 2B samples
                eps_cond, eps_null = net(torch.cat([x, x]), torch.cat([steps, steps]),
                                         torch.cat([cond, null])).chunk(2)
                eps = (1 + guidance_weight) * eps_cond - guidance_weight * eps_null  # CFG eq. 6
            x = self.noise_scheduler.denoise_step(eps, t, x, threshold=threshold)
        return x
        ### END SOLUTION

    # ------------------------------------------------------------------ provided
    def train(self, images: torch.Tensor, labels: torch.Tensor, epochs: int, batch_size: int = 64,
              lr: float = 2e-4, warmup_steps: int = 200, ema_decay: float = 0.999,
              augment=None, progress: bool = True) -> list[float]:
        """Train ``noise_pred_net`` on (images, labels); returns the loss of every step.

        Adam with a linear warm-up then cosine decay of the learning rate
        (``torch.optim.lr_scheduler``), an exponential moving average of the weights
        (``torch.optim.swa_utils``, used for sampling afterwards), mixed precision and
        channels-last memory on CUDA. The data stays on the device when it fits.

        Args:
            images: float32 (N, *input_shape) in [-1, 1]; labels: int64 (N,).
            augment: optional function applied to every batch of images.
        """
        net, device = self.noise_pred_net, self.device
        n = images.shape[0]
        if n == 0:
            raise ValueError("no training images")
        steps_per_epoch = math.ceil(n / batch_size)
        total = max(1, epochs * steps_per_epoch)
        on_cuda = device.type == "cuda"
        channels_last = on_cuda and images.dim() == 4  # image batches only (the 1-D policy's chunks are 3-D)
        if channels_last:
            net.to(memory_format=torch.channels_last)
        # Keep the whole data set on the device when it uses under a quarter of its free memory.
        fits = not on_cuda or images.numel() * 4 < torch.cuda.mem_get_info(device)[0] // 4
        images, labels = (images.to(device), labels.to(device)) if fits else (images.pin_memory(), labels)

        optimizer = torch.optim.Adam(net.parameters(), lr=lr)
        warmup = max(1, min(warmup_steps, total // 10))
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [
            torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=1e-2, total_iters=warmup),
            torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total - warmup), eta_min=lr * 0.05),
        ], milestones=[warmup])
        if self.ema is None:
            # the average spans at most a tenth of the run, so short runs still get a trained copy
            decay = max(0.0, min(ema_decay, 1 - 10 / total))
            self.ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
        amp_dtype = torch.bfloat16 if on_cuda and torch.cuda.is_bf16_supported() else torch.float16
        scaler = torch.amp.GradScaler("cuda", enabled=on_cuda and amp_dtype == torch.float16)

        losses: list[float] = []
        net.train()
        bar = tqdm(total=total, desc="training", disable=not progress)
        for _ in range(epochs):
            order = randomizer.rand((n,)).argsort()  # a shuffle from the seeded randomizer
            for start in range(0, n, batch_size):
                index = order[start:start + batch_size]
                x = images[index.to(images.device)].to(device, non_blocking=True)
                y = labels[index.to(labels.device)].to(device, non_blocking=True)
                if augment is not None:
                    x = augment(x)
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=amp_dtype, enabled=on_cuda):
                    loss = self.compute_loss_on_batch(x, y)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                self.ema.update_parameters(net)
                losses.append(float(loss.detach()))
                bar.update(1)
                if len(losses) % 20 == 0:
                    bar.set_postfix(loss=f"{sum(losses[-20:]) / 20:.4f}")
        bar.close()
        net.eval()
        self.sampling_net = self.ema.module.eval()
        return losses

    def seconds_per_step(self, data: torch.Tensor, cond: torch.Tensor, batch_size: int, steps: int = 3,
                         augment=None) -> float:
        """Wall-clock seconds one step of :meth:`train` on (data, cond) takes here,
        measured on a copy of this model (nothing is trained) over ``steps`` batches
        after one warm-up batch. The randomizer's state is left as it was."""
        import copy
        import time

        model = copy.deepcopy(self)
        model.ema = None
        n = min(len(data), steps * batch_size)
        state = randomizer.get_state()
        try:
            model.train(data[:batch_size], cond[:batch_size], 1, batch_size=batch_size, augment=augment,
                        progress=False)
            started = time.perf_counter()
            done = model.train(data[:n], cond[:n], 1, batch_size=batch_size, augment=augment, progress=False)
            if model.device.type == "cuda":
                torch.cuda.synchronize(model.device)
            return (time.perf_counter() - started) / max(len(done), 1)
        finally:
            randomizer.set_state(state)
