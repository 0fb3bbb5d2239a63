"""Part 2.4 (the diffusion policy) on the reference: the task's data, the pieces fitting
together, and a small-budget training run showing that the diffusion policy keeps both
ways around the obstacle while the MSE baseline collapses onto the middle more often."""
from __future__ import annotations

import sys

import pytest
import torch

from tests.mutants import SOURCE

sys.path.insert(0, str(SOURCE))
import randomizer  # noqa: E402
from part2_diffusion import push_task  # noqa: E402
from part2_diffusion.diffusion_model import DiffusionModel  # noqa: E402
from part2_diffusion.diffusion_policy import (HORIZON, ConditionalUNet1D, DiffusionPolicy,  # noqa: E402
                                              episode_outcome, make_training_pairs, rollout)
from part2_diffusion.noise_scheduler import NoiseScheduler  # noqa: E402

# The smoke budget: 2,000 steps of 64 pairs (the notebook: 2,500 of 128), half the width,
# a larger learning rate.
SMOKE = {"demos": 100, "epochs": 40, "channels": 16, "steps": 50, "batch": 64, "lr": 3e-3}


def _demos(n=400, seed=0):
    randomizer.seed(seed)
    scenes = push_task.sample_scenes(n)
    positions, sides = push_task.demonstrations(scenes)
    return scenes, positions, sides


def test_demonstrations_are_bimodal_reproducible_and_clear_the_obstacle():
    scenes, positions, sides = _demos()
    again = _demos()
    assert torch.equal(positions, again[1]) and torch.equal(sides, again[2])
    assert positions.shape == (400, push_task.DEMO_STEPS + 1, 2) and positions.dtype == torch.float32
    assert torch.allclose(positions[:, 0], scenes.start) and torch.allclose(positions[:, -1], scenes.goal, atol=1e-6)
    left = (sides == 1).float().mean().item()
    assert 0.4 < left < 0.6 and set(sides.tolist()) == {-1, 1}
    # every demonstration is a success by the task's own judge, on the side it was drawn for
    success, collided = episode_outcome(positions, scenes.goal, scenes.obstacle)
    assert success.all() and not collided.any()
    assert torch.equal(push_task.passing_side(positions, scenes), sides)


def test_training_pairs_replay_the_demonstrations():
    scenes, positions, _ = _demos(n=5)
    obs, chunks = make_training_pairs(positions, scenes, HORIZON)
    steps = positions.shape[1] - 1
    assert obs.shape == (5 * steps, push_task.OBS_DIM) and chunks.shape == (5 * steps, HORIZON, 2)
    # executing the first action of every chunk from the start retraces each demonstration
    first = chunks[:, 0].reshape(5, steps, 2)
    assert torch.allclose(scenes.start[:, None] + first.cumsum(1), positions[:, 1:], atol=1e-5)
    assert (chunks[steps - 1, 1:] == 0).all()  # past the end, the expert rests


def test_rollout_of_the_expert_chunks_reaches_every_goal():
    """A policy that plays back the demonstration's chunk at the current time step, in a
    receding horizon, reproduces it: rollout and the training pairs agree."""
    scenes, positions, _ = _demos(n=6)
    _, chunks = make_training_pairs(positions, scenes, HORIZON)
    steps = positions.shape[1] - 1
    chunks = chunks.reshape(6, steps, HORIZON, 2)
    clock = iter(range(0, 10 * steps, 8))

    def expert(obs):
        k = next(clock)
        return chunks[:, k] if k < steps else torch.zeros(6, HORIZON, 2)

    path = rollout(expert, scenes, num_steps=40, execute_steps=8)
    assert torch.allclose(path[:, :steps + 1], positions, atol=1e-5)
    success, collided = episode_outcome(path, scenes.goal, scenes.obstacle)
    assert success.all() and not collided.any()


def test_the_policy_is_the_students_diffusion_model_on_the_1d_unet():
    policy = DiffusionPolicy(denoising_steps=10, channels=8)
    assert isinstance(policy.model, DiffusionModel) and isinstance(policy.model.noise_scheduler, NoiseScheduler)
    assert isinstance(policy.model.noise_pred_net, ConditionalUNet1D)
    assert policy.model.input_shape == (HORIZON, 2)
    randomizer.seed(3)
    obs = push_task.observe(push_task.sample_scenes(4).start, push_task.sample_scenes(4))
    chunks = policy(obs, guidance_weight=1.0)
    assert chunks.shape == (4, HORIZON, 2) and torch.isfinite(chunks).all()


@pytest.mark.slow
def test_diffusion_policy_keeps_both_modes_and_mse_collapses_to_the_middle():
    from autograder.cli import tool_module

    bench = tool_module("bench-policy")
    train_policies, evaluate = bench.train_policies, bench.evaluate

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trained = train_policies(**SMOKE)
        diffusion = evaluate(trained["diffusion"][0])
        baseline = evaluate(trained["MSE"][0])
    finally:
        torch.set_num_threads(threads)
    shares = {name: {k: r[k] for k in ("left", "right", "middle", "success_rate")}
              for name, r in (("diffusion", diffusion), ("MSE", baseline))}
    assert diffusion["left"] >= 0.25 and diffusion["right"] >= 0.25, shares
    assert baseline["middle"] > diffusion["middle"], shares
