"""The DDPM noise schedule, forward process and reverse step (Ho et al. 2020).

Notation (0-indexed timesteps t = 0 .. T-1, as in the code):

* ``beta_t``: variance of the noise added at step t (a linear schedule, provided);
* ``alpha_t = 1 - beta_t`` and ``alpha_bar_t = alpha_0 * alpha_1 * ... * alpha_t``;
* ``alpha_bar_{-1} = 1`` (no noise before the first step).

Every random number comes from ``randomizer`` (never ``torch.randn``), so your
results can be compared with the stored answers.
"""
from __future__ import annotations

import torch

import randomizer


class NoiseScheduler:
    """Linear-beta DDPM schedule.

    Args:
        num_steps: number of diffusion steps T (timesteps are 0 .. T-1).
        beta_start, beta_end: first and last beta of the linear schedule.
        device: where the schedule tensors live (default CPU).

    Attributes (float32 tensors of shape (num_steps,) on ``self.device``):
        betas, alphas, alpha_bars.
    """

    def __init__(self, num_steps: int, beta_start: float = 1e-4, beta_end: float = 0.02, device=None):
        if int(num_steps) != num_steps or num_steps < 1:
            raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
        if not 0 < beta_start <= beta_end < 1:
            raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}")
        self.num_steps = int(num_steps)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.betas = torch.linspace(beta_start, beta_end, self.num_steps, dtype=torch.float32, device=self.device)
        # TODO: compute `self.alphas` and `self.alpha_bars` from `self.betas`
        # (float32, shape (num_steps,), on self.device; alpha_bars is a cumulative product).
        raise NotImplementedError("NoiseScheduler.__init__: not implemented yet")

    def add_noise(self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """Sample x_t ~ q(x_t | x_0) in closed form (DDPM eq. 4).

        Args:
            original_samples: x_0, float32 (B, ...) (any number of trailing dimensions).
            noise: eps ~ N(0, I), same shape as ``original_samples``.
            timesteps: int64 (B,), one timestep in [0, T-1] per sample.
        Returns:
            float32 (B, ...): ``sqrt(alpha_bar_t) * x_0 + sqrt(1 - alpha_bar_t) * eps``,
            on the device of the inputs.
        """
        if noise.shape != original_samples.shape:
            raise ValueError(f"noise has shape {tuple(noise.shape)}, samples {tuple(original_samples.shape)}")
        if timesteps.shape != original_samples.shape[:1]:
            raise ValueError(f"timesteps must have shape (B,) = ({original_samples.shape[0]},), "
                             f"got {tuple(timesteps.shape)}")
        # TODO: pick alpha_bar_t for every sample, make it broadcast over the trailing
        # dimensions of any shape, and return x_t (eq. 4).
        raise NotImplementedError("NoiseScheduler.add_noise: not implemented yet")

    def denoise_step(self, model_prediction: torch.Tensor, t: int, x_t: torch.Tensor,
                     threshold: bool = False) -> torch.Tensor:
        """One reverse step: sample x_{t-1} ~ p(x_{t-1} | x_t).

        Args:
            model_prediction: the predicted noise eps_theta(x_t, t), float32 (B, ...).
            t: the current timestep, a Python int in [0, T-1].
            x_t: the current sample, float32, same shape as ``model_prediction``.
            threshold: if True, clamp the predicted x_0 to [-1, 1] and take the
                posterior mean of q(x_{t-1} | x_t, x_0) (eq. 6, 7, 15).
        Returns:
            float32 x_{t-1}, same shape and device as ``x_t``. Adds
            ``sigma_t * z`` with ``sigma_t = sqrt(beta_t)`` and
            ``z = randomizer.randn(x_t.shape, device=x_t.device)`` only when t > 0.
        """
        if isinstance(t, torch.Tensor):
            t = int(t.item())
        if not 0 <= t < self.num_steps:
            raise IndexError(f"t must lie in [0, {self.num_steps - 1}], got {t}")
        if model_prediction.shape != x_t.shape:
            raise ValueError(f"model_prediction has shape {tuple(model_prediction.shape)}, x_t {tuple(x_t.shape)}")
        # TODO: compute x_{t-1}. Without thresholding use Algorithm 2 (eq. 11 mean);
        # with it, x0_hat (eq. 15) clamped to [-1, 1] and the posterior mean (eq. 7),
        # with alpha_bar_{-1} = 1. Add sqrt(beta_t) * z only when t > 0.
        raise NotImplementedError("NoiseScheduler.denoise_step: not implemented yet")
