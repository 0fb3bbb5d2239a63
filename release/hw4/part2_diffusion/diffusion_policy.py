"""Part 2.4: a diffusion policy that plans action chunks around an obstacle.

Paper: Chi et al. 2023, "Diffusion Policy: Visuomotor Policy Learning via Action
Diffusion" (a 1-D temporal U-Net with FiLM conditioning that denoises a chunk of H
future actions given the observation, executed in a receding horizon).

The policy is your ``DiffusionModel`` from 2.2 (your loss with CFG dropout, your guided
sampler, your ``NoiseScheduler``) around a different network: a 1-D U-Net over the
action chunk, conditioned on the observation. Samples are action chunks of shape
(H, 2); the condition is the observation (B, 6) of ``push_task.observe``, and the null
condition of classifier-free guidance is ``torch.zeros_like(obs)`` as before.

You implement four functions: ``FiLMResBlock1D.forward``, ``make_training_pairs``,
``rollout`` and ``episode_outcome``. The network, the policies and their training
are provided.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from part2_diffusion import push_task
from part2_diffusion.diffusion_model import DiffusionModel
from part2_diffusion.noise_scheduler import NoiseScheduler
from part2_diffusion.unet import timestep_embedding

HORIZON = 16          # H: actions per chunk
EXECUTE_STEPS = 8     # actions executed from each chunk before planning again
ROLLOUT_STEPS = 40    # steps of one evaluation episode


class FiLMResBlock1D(nn.Module):
    """A residual block over time with FiLM conditioning (Perez et al. 2018; Chi et al. 2023, fig. 2).

    Args:
        in_channels, out_channels: channels of the input and of the output.
        cond_dim: size of the conditioning vector (timestep and observation embeddings).
        kernel_size: odd width of the two temporal convolutions (padding keeps the length).
        groups: GroupNorm groups (must divide ``out_channels``).

    Layers (provided): ``conv1``, ``norm1``, ``film`` (a Linear from cond_dim to
    2 * out_channels), ``conv2``, ``norm2`` and ``skip`` (a 1x1 convolution, or the
    identity when the channel counts agree).
    """

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, kernel_size: int = 5,
                 groups: int = 8):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.norm1 = nn.GroupNorm(groups, out_channels)
        self.film = nn.Linear(cond_dim, 2 * out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.norm2 = nn.GroupNorm(groups, out_channels)
        self.skip = nn.Conv1d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()
        nn.init.zeros_(self.film.weight)   # FiLM starts as the identity: (1 + 0) * h + 0
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Args:
            x: float32 (B, in_channels, L), a sequence of L feature vectors.
            cond: float32 (B, cond_dim).
        Returns:
            float32 (B, out_channels, L):
            ``h = mish(norm1(conv1(x)))``; ``gamma, beta = film(cond).chunk(2, dim=1)`` (gamma
            first, each (B, out_channels)); ``h = (1 + gamma) * h + beta``, the same scale and
            shift at every time step; ``h = mish(norm2(conv2(h)))``; return ``h + skip(x)``.
        """
        # TODO: the block above. gamma and beta are (B, out_channels): give them a
        # trailing axis so that they broadcast over the L time steps.
        raise NotImplementedError("FiLMResBlock1D.forward: not implemented yet")


class ConditionalUNet1D(nn.Module):
    """The noise-prediction network of the policy (provided; do not edit).

    Called as ``net(x, t, obs)``: x float32 (B, H, 2) an action chunk, t int64 (B,)
    timesteps, obs float32 (B, OBS_DIM) observations -> float32 (B, H, 2). Time runs
    along the chunk: the 2 action coordinates are the input channels of 1-D
    convolutions over H steps; one level of down- and up-sampling (H must be even).
    Every residual block is FiLM-conditioned on ``[timestep embedding, observation
    embedding]``: one block on the way down, one in the middle and one on the way up.
    """

    def __init__(self, obs_dim: int = push_task.OBS_DIM, action_dim: int = push_task.ACTION_DIM,
                 channels: int = 64, embed_dim: int = 64):
        super().__init__()
        c1, c2 = channels, 2 * channels
        self.embed_dim = embed_dim
        self.time_mlp = nn.Sequential(nn.Linear(embed_dim, embed_dim), nn.Mish(), nn.Linear(embed_dim, embed_dim))
        self.obs_mlp = nn.Sequential(nn.Linear(obs_dim, embed_dim), nn.Mish(), nn.Linear(embed_dim, embed_dim))
        cond = 2 * embed_dim
        self.down = FiLMResBlock1D(action_dim, c1, cond)
        self.downsample = nn.Conv1d(c1, c1, 3, stride=2, padding=1)
        self.mid = FiLMResBlock1D(c1, c2, cond)
        self.upsample = nn.ConvTranspose1d(c2, c2, 4, stride=2, padding=1)
        self.up = FiLMResBlock1D(c2 + c1, c1, cond)
        self.out = nn.Conv1d(c1, action_dim, 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] % 2:
            raise ValueError(f"x must be (B, H, action_dim) with an even H, got {tuple(x.shape)}")
        if t.dtype != torch.int64 or t.shape != x.shape[:1]:
            raise TypeError(f"t must be an int64 tensor of shape ({x.shape[0]},), got {t.dtype} {tuple(t.shape)}")
        cond = torch.cat([self.time_mlp(timestep_embedding(t, self.embed_dim)), self.obs_mlp(obs)], dim=1)
        h = x.transpose(1, 2)                               # (B, action_dim, H): time is the conv axis
        skip = self.down(h, cond)                           # (B, c1, H)
        h = self.mid(self.downsample(skip), cond)           # (B, c2, H / 2)
        h = self.up(torch.cat([self.upsample(h), skip], dim=1), cond)   # back to H steps, with the skip
        return self.out(h).transpose(1, 2)                  # (B, H, action_dim)


# ------------------------------------------------------------------ data and evaluation
def make_training_pairs(positions: torch.Tensor, scenes: push_task.Scenes, horizon: int = HORIZON):
    """Turn demonstrations into (observation, action chunk) training pairs.

    Args:
        positions: float32 (N, S + 1, 2), N demonstrations of S steps, start included.
        scenes: the N scenes they were made in (``push_task.Scenes``).
        horizon: H, the actions per chunk.
    Returns:
        obs: float32 (N * S, OBS_DIM); chunks: float32 (N * S, H, 2). Row ``n * S + k``
        (demonstration n, time k = 0 .. S-1) holds the observation at position
        ``positions[n, k]`` (``push_task.observe``) and the H actions
        ``a_k, a_{k+1}, ..., a_{k+H-1}`` that follow it, where
        ``a_j = positions[n, j + 1] - positions[n, j]``; the actions after the end of the
        demonstration (j >= S) are zero: at the goal the expert stays put.
    """
    if positions.dim() != 3 or positions.shape[0] != len(scenes) or positions.shape[2] != 2:
        raise ValueError(f"positions must be (N, S + 1, 2) with N = {len(scenes)}, got {tuple(positions.shape)}")
    # TODO: the actions from the positions, padded with zeros, sliced into chunks of H,
    # and the matching observations, in the row order above.
    raise NotImplementedError("make_training_pairs: not implemented yet")


def rollout(policy: Callable[[torch.Tensor], torch.Tensor], scenes: push_task.Scenes,
            num_steps: int = ROLLOUT_STEPS, execute_steps: int = EXECUTE_STEPS) -> torch.Tensor:
    """Run a chunking policy in a receding horizon, all N scenes at once.

    Args:
        policy: maps observations float32 (N, OBS_DIM) to action chunks float32 (N, H, 2).
        scenes: N scenes; every episode starts at ``scenes.start``.
        num_steps: how many actions each episode executes.
        execute_steps: how many actions of each chunk are executed before the policy is
            called again, 1 <= execute_steps <= H.
    Returns:
        float32 (N, num_steps + 1, 2): the positions, the start first. Step k (0-based)
        executes ``chunk[:, k % execute_steps]`` of the chunk planned at step
        ``execute_steps * (k // execute_steps)`` from the observation
        ``push_task.observe(position, scenes)`` of that moment: ``position = position + action``
        (``scenes.start`` itself is never changed). The policy is called
        ``ceil(num_steps / execute_steps)`` times; the episode does not stop early
        (``episode_outcome`` judges it afterwards). A ``ValueError`` when the chunks
        are shorter than ``execute_steps``.
    """
    if execute_steps < 1:
        raise ValueError(f"execute_steps must be >= 1, got {execute_steps}")
    # TODO: the loop above. Check that the chunks are long enough (a ValueError when
    # chunk.shape[1] < execute_steps).
    raise NotImplementedError("rollout: not implemented yet")


def episode_outcome(trajectories: torch.Tensor, goal: torch.Tensor, obstacle: torch.Tensor,
                    radius: float = push_task.OBSTACLE_RADIUS, tolerance: float = push_task.GOAL_TOLERANCE):
    """Judge episodes: did each reach its goal before touching the obstacle?

    Args:
        trajectories: float32 (N, S + 1, 2) positions; goal, obstacle: float32 (N, 2).
        radius: a position collides when its distance to the obstacle centre is < radius.
        tolerance: a position reaches the goal when its distance to it is <= tolerance.
    Returns:
        success, collided: bool (N,) each. ``success``: some position reaches the goal and
        no position before it (nor that one) collides. ``collided``: some position
        collides and none before it reached the goal. (Positions are judged, not the
        segments between them: steps are short next to the obstacle.) Both are False
        for an episode that neither reaches nor collides.
    """
    # TODO: distances of every position to the goal and to the obstacle, then the first
    # time each event happens (an episode ends at its first event).
    raise NotImplementedError("episode_outcome: not implemented yet")


# ------------------------------------------------------------------ policies (provided)
class DiffusionPolicy:
    """Your ``DiffusionModel`` on :class:`ConditionalUNet1D`: samples chunks (H, 2) given
    observations. Actions are divided by ``push_task.ACTION_SCALE`` for training and
    multiplied back after sampling.

    Args:
        denoising_steps: T; the schedule's betas run from 1e-4 to ``beta_end`` (with few
            steps a larger beta_end still ends close to pure noise).
        p_uncond: CFG dropout probability.
        channels: width of the U-Net.
    """

    def __init__(self, denoising_steps: int = 50, beta_end: float = 0.2, p_uncond: float = 0.1,
                 channels: int = 32, horizon: int = HORIZON, device=None):
        self.device = torch.device(device or "cpu")
        self.horizon = horizon
        scheduler = NoiseScheduler(denoising_steps, beta_end=beta_end, device=self.device)
        self.model = DiffusionModel(ConditionalUNet1D(channels=channels), denoising_steps, p_uncond=p_uncond,
                                    input_shape=(horizon, push_task.ACTION_DIM), device=self.device,
                                    noise_scheduler=scheduler)

    def fit(self, obs: torch.Tensor, chunks: torch.Tensor, epochs: int, batch_size: int = 256,
            lr: float = 1e-3, progress: bool = True) -> list[float]:
        """Train on pairs from :func:`make_training_pairs`; returns the loss of every step."""
        if chunks.shape[1:] != (self.horizon, push_task.ACTION_DIM):
            raise ValueError(f"chunks must be (N, {self.horizon}, {push_task.ACTION_DIM}), got {tuple(chunks.shape)}")
        return self.model.train(chunks / push_task.ACTION_SCALE, obs, epochs, batch_size=batch_size, lr=lr,
                                warmup_steps=50, progress=progress)

    def seconds_per_step(self, obs: torch.Tensor, chunks: torch.Tensor, batch_size: int = 256,
                         steps: int = 5) -> float:
        """Wall-clock seconds one training step of :meth:`fit` takes here, measured on a
        copy of the model (nothing is trained) over ``steps`` batches after one warm-up
        batch. The randomizer's state is left as it was."""
        return self.model.seconds_per_step(chunks / push_task.ACTION_SCALE, obs, batch_size, steps)

    def __call__(self, obs: torch.Tensor, guidance_weight: float = 0.0) -> torch.Tensor:
        """Action chunks float32 (B, H, 2) for observations (B, OBS_DIM)."""
        chunk = self.model.generate_sample(obs.to(self.device), guidance_weight=guidance_weight)
        return chunk.to(obs.device) * push_task.ACTION_SCALE


class MSEPolicyModel(DiffusionModel):
    """Behaviour cloning with a mean-squared-error loss on the same network: the chunk is
    ``net(0, 0, obs)``, one deterministic prediction per observation (no noise, no steps)."""

    def compute_loss_on_batch(self, data: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        zeros_t = torch.zeros(data.shape[0], dtype=torch.int64, device=data.device)
        return F.mse_loss(self.noise_pred_net(torch.zeros_like(data), zeros_t, cond), data)

    @torch.no_grad()
    def generate_sample(self, cond: torch.Tensor, guidance_weight: float = 0.0, threshold: bool = False):
        shape = (cond.shape[0], *self.input_shape)
        zeros_t = torch.zeros(shape[0], dtype=torch.int64, device=self.device)
        return self.sampling_net(torch.zeros(shape, device=self.device), zeros_t, cond)


class MSEPolicy(DiffusionPolicy):
    """The baseline: :class:`DiffusionPolicy`'s network and training loop, trained with
    :class:`MSEPolicyModel`'s regression loss."""

    def __init__(self, channels: int = 32, horizon: int = HORIZON, device=None):
        self.device = torch.device(device or "cpu")
        self.horizon = horizon
        self.model = MSEPolicyModel(ConditionalUNet1D(channels=channels), 1, p_uncond=0.0,
                                    input_shape=(horizon, push_task.ACTION_DIM), device=self.device)


def success_rate(policy, scenes: push_task.Scenes, **rollout_args) -> dict:
    """Roll ``policy`` out in every scene and summarise: the trajectories, the success and
    collision flags, and the share of episodes that passed left, right, or neither."""
    trajectories = rollout(policy, scenes, **rollout_args)
    success, collided = episode_outcome(trajectories, scenes.goal, scenes.obstacle)
    side = push_task.passing_side(trajectories, scenes)
    return {"trajectories": trajectories, "success": success, "collided": collided,
            "success_rate": success.float().mean().item(), "collision_rate": collided.float().mean().item(),
            "left": (side == 1).float().mean().item(), "right": (side == -1).float().mean().item(),
            "middle": (side == 0).float().mean().item()}


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())

