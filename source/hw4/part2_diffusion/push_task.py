"""A 2-D reaching task with two equally good ways around an obstacle (provided; do not edit).

A point agent starts near the bottom of the square [-1, 1]^2 and must reach a goal near
the top. A disc-shaped obstacle of radius :data:`OBSTACLE_RADIUS` sits between them.
The demonstrations pass it on the left or on the right with equal probability, so the
expert's action distribution at the start is *bimodal*: the average of the two modes
drives straight into the obstacle. This is the situation where behaviour cloning with a
mean-squared-error loss fails and a diffusion policy does not (Chi et al. 2023,
"Diffusion Policy", section 2 and figure 3).

Conventions (float32 tensors, the batch first):

* a **scene** is a start, a goal and an obstacle centre, each (N, 2);
* an **observation** is ``[position, goal, obstacle]``, (N, OBS_DIM) = (N, 6);
* an **action** is the displacement of one step, (N, 2): the next position is ``position + action``;
* a **trajectory** is the positions (N, S + 1, 2), the start included.

Everything random comes from ``randomizer``, so a seed gives the same demonstrations on
every machine. A few thousand demonstrations take well under a second.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

import randomizer

OBSTACLE_RADIUS = 0.3      # the agent collides when it comes closer than this to the centre
GOAL_TOLERANCE = 0.08      # the goal is reached within this distance
DEMO_STEPS = 32            # steps of one demonstration (and a rollout's default length is 40)
OBS_DIM = 6                # [position (2), goal (2), obstacle centre (2)]
ACTION_DIM = 2
ACTION_SCALE = 0.1         # actions are divided by this before training: chunks of order 1


@dataclass
class Scenes:
    """A batch of N scenes: ``start``, ``goal`` and ``obstacle`` centre, float32 (N, 2) each."""

    start: torch.Tensor
    goal: torch.Tensor
    obstacle: torch.Tensor

    def __len__(self) -> int:
        return self.start.shape[0]

    def to(self, device) -> "Scenes":
        return Scenes(self.start.to(device), self.goal.to(device), self.obstacle.to(device))

    def __getitem__(self, index) -> "Scenes":
        return Scenes(self.start[index], self.goal[index], self.obstacle[index])


def sample_scenes(n: int, device=None) -> Scenes:
    """N random scenes: start near (0, -0.8), goal near (0, 0.8) (each +-0.15 sideways,
    +-0.05 up and down), the obstacle half way between them, moved by up to +-0.05."""
    jitter = 2 * randomizer.rand((n, 6)) - 1    # one draw: every value in [-1, 1)
    start = torch.stack([0.15 * jitter[:, 0], -0.8 + 0.05 * jitter[:, 1]], dim=1)
    goal = torch.stack([0.15 * jitter[:, 2], 0.8 + 0.05 * jitter[:, 3]], dim=1)
    obstacle = (start + goal) / 2 + 0.05 * jitter[:, 4:6]
    return Scenes(start, goal, obstacle).to(device)


def side_normal(scenes: Scenes) -> torch.Tensor:
    """Unit vectors (N, 2) perpendicular to start -> goal, pointing to the agent's left."""
    direction = scenes.goal - scenes.start
    direction = direction / direction.norm(dim=1, keepdim=True)
    return torch.stack([-direction[:, 1], direction[:, 0]], dim=1)


def demonstrations(scenes: Scenes, steps: int = DEMO_STEPS):
    """Expert trajectories around the obstacle, left or right with probability 1/2 each.

    Each is a quadratic Bezier curve from start to goal whose middle point passes the
    obstacle centre at a clearance of 0.1-0.16 beyond its radius, sampled at ``steps``
    equal parameter steps.

    Returns:
        positions: float32 (N, steps + 1, 2), ``positions[:, 0]`` the start and
            ``positions[:, -1]`` the goal;
        sides: int64 (N,), +1 for the left of start -> goal, -1 for the right.
    """
    n, device = len(scenes), scenes.start.device
    draws = randomizer.rand((n, 2)).to(device)
    sides = torch.where(draws[:, 0] < 0.5, 1, -1).to(torch.int64)
    clearance = OBSTACLE_RADIUS + 0.1 + 0.06 * draws[:, 1]
    waypoint = scenes.obstacle + (sides * clearance)[:, None] * side_normal(scenes)
    # the control point that makes the curve pass through the waypoint at s = 1/2
    control = 2 * waypoint - (scenes.start + scenes.goal) / 2
    s = torch.linspace(0, 1, steps + 1, device=device)[None, :, None]
    positions = ((1 - s) ** 2 * scenes.start[:, None] + 2 * s * (1 - s) * control[:, None]
                 + s ** 2 * scenes.goal[:, None])
    return positions.float(), sides


def observe(position: torch.Tensor, scenes: Scenes) -> torch.Tensor:
    """The observation ``[position, goal, obstacle]``: float32 (N, OBS_DIM)."""
    if position.shape != scenes.start.shape:
        raise ValueError(f"position must have shape {tuple(scenes.start.shape)}, got {tuple(position.shape)}")
    return torch.cat([position, scenes.goal, scenes.obstacle], dim=1)


def passing_side(trajectories: torch.Tensor, scenes: Scenes) -> torch.Tensor:
    """Which way each trajectory went around the obstacle: int64 (N,), +1 left, -1 right,
    0 neither (it never got past the obstacle, or passed it closer than its radius).

    Judged at the first position beyond the obstacle's centre along start -> goal.
    """
    along = scenes.goal - scenes.start
    along = along / along.norm(dim=1, keepdim=True)
    relative = trajectories - scenes.obstacle[:, None]                   # (N, S + 1, 2)
    ahead = (relative * along[:, None]).sum(-1)                         # distance past the centre
    lateral = (relative * side_normal(scenes)[:, None]).sum(-1)         # + on the left
    past = ahead > 0
    first = past.float().argmax(dim=1)                                  # first index past the centre
    at = lateral.gather(1, first[:, None])[:, 0]
    side = torch.where(at.abs() >= OBSTACLE_RADIUS, torch.sign(at), torch.zeros_like(at)).to(torch.int64)
    return torch.where(past.any(dim=1), side, torch.zeros_like(side))


def plot_rollouts(ax, trajectories: torch.Tensor, scenes: Scenes, success=None, title: str = "",
                  max_shown: int = 50):
    """Draw trajectories (N, S + 1, 2) relative to their obstacle centre, so that scenes
    with different obstacles share one picture: green reached the goal, red did not."""
    import matplotlib.pyplot as plt

    shown = min(max_shown, trajectories.shape[0])
    relative = (trajectories[:shown] - scenes.obstacle[:shown, None]).cpu().numpy()
    goals = (scenes.goal[:shown] - scenes.obstacle[:shown]).cpu().numpy()
    ok = np.ones(shown, bool) if success is None else np.asarray(success[:shown].cpu())
    ax.add_patch(plt.Circle((0, 0), OBSTACLE_RADIUS, color="0.6"))
    for path, good in zip(relative, ok):
        ax.plot(path[:, 0], path[:, 1], color="tab:green" if good else "tab:red", alpha=0.5, lw=1)
    ax.scatter(goals[:, 0], goals[:, 1], marker="*", color="gold", edgecolor="k", s=60, zorder=3)
    ax.set_xlim(-1, 1)
    ax.set_ylim(-1.1, 1.1)
    ax.set_aspect("equal")
    ax.set_title(title)
    return ax
