"""Public checks for Part 2.4 (the diffusion policy).

Each function is graded on its own: the FiLM block gets weights set by the check, the
training pairs are made from random positions, the rollout runs a deterministic
stand-in policy (a formula of the observation, deliberately not a trained network nor
any student function) that records what it sees, and the outcome test judges
hand-made and random trajectories. The task module ``push_task.py`` is provided.

Nothing here imports torch at module level: the trusted parent only reads the
declarations; ``run`` functions execute in the sandboxed child.
"""
from __future__ import annotations

import numpy as np

from .api import Close, Exact, Hint, check
from .helpers import close

POLICY = "part2_diffusion/diffusion_policy.py"
TASK = "part2_diffusion/push_task.py"

# Tolerances (proven by tests/catalogue_part2_policy.py). A block of two convolutions
# and two GroupNorms in float32: formulations differ in the last bits of O(1) values.
BLOCK_TOL = Close(rtol=1e-5, atol=1e-5)
# Differences of positions and copies of them: exact up to float32 rounding.
DATA_TOL = Close(rtol=1e-6, atol=1e-6)
# Sums of up to a few dozen actions of size 0.1, in any order of summation.
PATH_TOL = Close(rtol=1e-5, atol=1e-5)


def _close(a, b) -> bool:
    """Equal enough for a hint's diagnosis (looser than the checks' own tolerances)."""
    return close(a, b, rtol=1e-4, atol=1e-5)


def random_scenes(env, n, seed):
    """N scenes of the task's own distribution (push_task.sample_scenes), seeded."""
    env.seed(seed)
    return env.module(TASK).sample_scenes(n, device=env.device)


# --------------------------------------------------------------------------- FiLM block

def run_film(in_ch, out_ch, cond_dim, length, batch, kernel, groups, seed):
    def run(env):
        import torch

        block_class = env.module(POLICY).FiLMResBlock1D
        env.seed(seed)
        block = block_class(in_ch, out_ch, cond_dim, kernel_size=kernel, groups=groups).to(env.device)
        # weights from the randomizer, by name, so that every submission has the same block;
        # GroupNorm's affine parameters near 1 and 0, FiLM large enough that gamma matters
        with torch.no_grad():
            for name, param in sorted(block.named_parameters()):
                values = env.randomizer.randn(tuple(param.shape), device=env.device)
                if name.startswith("norm") and name.endswith("weight"):
                    values = 1 + 0.2 * values
                elif name.startswith("film"):
                    values = 0.5 * values
                else:
                    values = values / max(1.0, float(param[0].numel()) ** 0.5)
                param.copy_(values)
        x = env.randomizer.randn((batch, in_ch, length), device=env.device)
        cond = env.randomizer.randn((batch, cond_dim), device=env.device)
        out = block(x, cond)
        with torch.no_grad():  # the same block with the FiLM layer at zero: (1 + 0) * h + 0
            block.film.weight.zero_()
            block.film.bias.zero_()
        plain = block(x, cond)
        return {"out": out.detach(), "zero_film": plain.detach()}
    return run


FILM_HINTS = [
    Hint("the output must have shape (B, out_channels, L): gamma and beta are (B, out_channels) and need "
         "a trailing axis (gamma[:, :, None]) to broadcast over the L time steps.",
         lambda got, ans: got["out"].shape != ans["out"].shape),
    Hint("with the FiLM layer at zero the block must equal the unconditioned block: (1 + gamma) * h + beta "
         "with gamma = beta = 0 leaves h unchanged. Yours differs there too: check the two convolutions, "
         "the GroupNorms, Mish and the residual `h + skip(x)`.",
         lambda got, ans: got["zero_film"].shape == ans["zero_film"].shape
         and not _close(got["zero_film"], ans["zero_film"])),
    Hint("only the conditioned output differs: use h = (1 + gamma) * h + beta (not gamma * h + beta), with "
         "gamma the first half of film(cond) and beta the second (chunk(2, dim=1)), applied after the first "
         "Mish and before conv2.",
         lambda got, ans: _close(got["zero_film"], ans["zero_film"]) and not _close(got["out"], ans["out"])),
]


def film_check(tag, in_ch, out_ch, points, hidden=False, cond_dim=6, length=7, batch=3, kernel=5, groups=4,
               seed=51):
    return check(
        id=f"part2_4.film.{tag}",
        title=f"FiLMResBlock1D.forward, {in_ch} -> {out_ch} channels over {length} steps",
        module=POLICY, function="FiLMResBlock1D.forward", points=points, hidden=hidden,
        call=f"FiLMResBlock1D({in_ch}, {out_ch}, cond_dim={cond_dim}, kernel_size={kernel}, groups={groups}) "
             f"with weights from the randomizer; x = randn({batch}, {in_ch}, {length}), cond = randn({batch}, "
             f"{cond_dim}); then again with the FiLM layer set to zero",
        run=run_film(in_ch, out_ch, cond_dim, length, batch, kernel, groups, seed),
        expect={"out": BLOCK_TOL, "zero_film": BLOCK_TOL},
        hints=FILM_HINTS,
    )


# --------------------------------------------------------------------------- training pairs

def run_pairs(n, steps, horizon, seed):
    def run(env):
        scenes = random_scenes(env, n, seed)
        # a random walk from each start: not the expert's curves, so every action differs
        walk = 0.1 * env.randomizer.randn((n, steps, 2), device=env.device)
        positions = scenes.start[:, None] + walk.cumsum(dim=1)
        import torch

        positions = torch.cat([scenes.start[:, None], positions], dim=1)
        obs, chunks = env.module(POLICY).make_training_pairs(positions, scenes, horizon)
        return {"obs": obs, "chunks": chunks}
    return run


def _only_padding_differs(got, ans) -> bool:
    """Right wherever the expected chunk holds an action, wrong somewhere in the zero
    padding after the end (the check's random walks have no zero action)."""
    acting = ans != 0
    return (got.shape == ans.shape and bool(np.any(~acting)) and _close(got[acting], ans[acting])
            and not _close(got, ans))


PAIRS_HINTS = [
    Hint("expected chunks of shape (N * S, H, 2) and observations (N * S, 6): one pair per time k = 0 .. S-1 "
         "of every demonstration (not k = S, where no action follows).",
         lambda got, ans: got["chunks"].shape != ans["chunks"].shape or got["obs"].shape != ans["obs"].shape),
    Hint("the chunks are right except after the end of a demonstration: pad with zero actions (the expert "
         "stays at the goal), not with copies of the last action.",
         lambda got, ans: _only_padding_differs(got["chunks"], ans["chunks"])),
    Hint("each chunk holds per-step actions a_j = positions[j + 1] - positions[j], not positions relative "
         "to the start of the chunk.",
         lambda got, ans: got["chunks"].shape == ans["chunks"].shape
         and _close(np.diff(got["chunks"], axis=1, prepend=0), ans["chunks"])),
    Hint("the observations must be taken where each chunk starts (positions[n, k]), in the order "
         "n * S + k (demonstration by demonstration).",
         lambda got, ans: got["obs"].shape == ans["obs"].shape and not _close(got["obs"], ans["obs"])),
]


def pairs_check(tag, n, steps, horizon, points, hidden=False, seed=61):
    return check(
        id=f"part2_4.pairs.{tag}",
        title=f"make_training_pairs: {n} demonstrations of {steps} steps, chunks of H = {horizon}",
        module=POLICY, function="make_training_pairs", points=points, hidden=hidden,
        call=f"{n} random scenes; positions: a random walk of {steps} steps from each start; "
             f"make_training_pairs(positions, scenes, horizon={horizon})",
        run=run_pairs(n, steps, horizon, seed),
        expect={"obs": DATA_TOL, "chunks": DATA_TOL},
        hints=PAIRS_HINTS,
    )


# --------------------------------------------------------------------------- rollout

def standin_policy(horizon):
    """A deterministic chunking policy: a formula of the observation that depends on
    every coordinate and on the index within the chunk; it records its inputs."""
    import torch

    seen = []

    def policy(obs):
        seen.append(obs.detach().cpu().clone())
        position, goal, obstacle = obs[:, 0:2], obs[:, 2:4], obs[:, 4:6]
        h = torch.arange(horizon, dtype=obs.dtype, device=obs.device)[None, :, None]   # (1, H, 1)
        toward = 0.04 * (goal - position)[:, None] * (1 + 0.1 * h)
        wiggle = 0.02 * torch.stack([torch.cos(3 * position[:, 1] + obstacle[:, 0]),
                                     torch.sin(2 * position[:, 0] - obstacle[:, 1])], dim=1)[:, None] * (h - 1)
        return toward + wiggle

    return policy, seen


def run_rollout(n, num_steps, execute_steps, horizon, seed):
    def run(env):
        import torch

        scenes = random_scenes(env, n, seed)
        start = scenes.start.clone()
        policy, seen = standin_policy(horizon)
        path = env.module(POLICY).rollout(policy, scenes, num_steps=num_steps, execute_steps=execute_steps)
        first_obs = seen[0] if seen else torch.zeros(1)
        return {"positions": path, "policy_calls": len(seen), "obs_seen": torch.cat([o[:1] for o in seen]) if seen
                else first_obs, "start_unchanged": torch.equal(scenes.start, start)}
    return run


def _planned_from_start_only(got) -> bool:
    """Every chunk was planned from the start's observation although the agent moved."""
    seen, positions = got["obs_seen"], got["positions"]
    return (seen.ndim == 2 and seen.shape[0] > 1 and positions.ndim == 3
            and _close(seen[:, :2], np.broadcast_to(positions[0, 0], seen[:, :2].shape))
            and not _close(positions[0, -1], positions[0, 0]))


ROLLOUT_HINTS = [
    Hint("scenes.start was changed: `position = scenes.start` followed by `position += action` moves the start "
         "itself (the next episode in the same scenes would begin elsewhere). Start from scenes.start.clone(), "
         "or write position = position + action.",
         lambda got, ans: not got.flag("start_unchanged")),
    Hint("positions must be (N, num_steps + 1, 2): the start, then one position per executed action.",
         lambda got, ans: got["positions"].shape != ans["positions"].shape),
    Hint("the policy must be called once every execute_steps actions, ceil(num_steps / execute_steps) times "
         "in all (the check counts the calls).",
         lambda got, ans: got.integer("policy_calls") != ans.integer("policy_calls")),
    Hint("plan each chunk from the observation of the current position (push_task.observe(position, scenes)), "
         "not the start's.",
         lambda got, ans: got.integer("policy_calls") == ans.integer("policy_calls") and _planned_from_start_only(got)),
    Hint("execute the first execute_steps actions of each chunk in order (chunk[:, 0], chunk[:, 1], ...), "
         "each added to the position.",
         lambda got, ans: got.integer("policy_calls") == ans.integer("policy_calls")
         and got["positions"].shape == ans["positions"].shape
         and not _close(got["positions"][:, 1], ans["positions"][:, 1])),
]


def rollout_check(tag, n, num_steps, execute_steps, points, hidden=False, horizon=6, seed=71):
    return check(
        id=f"part2_4.rollout.{tag}",
        title=f"rollout: {num_steps} steps executing {execute_steps} of each chunk of {horizon}",
        module=POLICY, function="rollout", points=points, hidden=hidden,
        call=f"{n} random scenes; a stand-in policy returning chunks of {horizon} actions (a formula of the "
             f"observation); rollout(policy, scenes, num_steps={num_steps}, execute_steps={execute_steps})",
        run=run_rollout(n, num_steps, execute_steps, horizon, seed),
        expect={"positions": PATH_TOL, "policy_calls": Exact(check_dtype=False), "obs_seen": PATH_TOL,
                "start_unchanged": Exact(check_dtype=False)},
        hints=ROLLOUT_HINTS,
    )


def run_rollout_too_long(env):
    scenes = random_scenes(env, 2, 72)
    policy, _ = standin_policy(4)
    try:
        env.module(POLICY).rollout(policy, scenes, num_steps=10, execute_steps=5)
    except ValueError:
        return {"raised_value_error": True}
    except NotImplementedError:
        raise  # reported as "not implemented yet", like the other checks
    except Exception as error:  # any other error is the wrong answer, not a crash of the check
        return {"raised_value_error": False, "other": type(error).__name__}
    return {"raised_value_error": False}


# --------------------------------------------------------------------------- episode_outcome

def run_outcome_cases(env):
    """Hand-made episodes around an obstacle at (0, 0) of radius 0.5 and a goal at (0, 1) (the last
    one: (0, 0.6)) with tolerance 0.25; every distance that decides a case is exact in float32,
    and only the rim case has a position at exactly the radius."""
    import torch

    paths = [
        [(0.0, -1.0), (-0.5, -0.5), (-0.5, 0.0), (-0.5, 0.5), (0.0, 1.0)],      # around the left, arrives
        [(0.0, -1.0), (0.0, -0.25), (0.0, 0.25), (0.0, 0.75), (0.0, 1.0)],     # through the obstacle
        [(0.0, -1.0), (0.5, -0.5), (0.5, 0.0), (0.5, 0.5), (0.0, 0.75)],       # touches the rim (0.5): no hit;
                                                                                # ends exactly at the tolerance
        [(0.0, -1.0), (-1.0, -1.0), (-1.0, 0.0), (-1.0, 0.5), (-0.75, 0.75)],   # never arrives, never hits
        [(0.0, -1.0), (0.75, 0.0), (0.0, 1.0), (0.0, 0.25), (0.0, 0.0)],       # arrives, then drives into it
        [(0.0, -1.0), (0.75, 0.0), (0.0, 1.0), (0.5, 0.5), (0.75, 0.0)],       # arrives, then leaves the goal
        [(0.0, 1.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0)],          # starts at the goal
        [(0.0, -1.0), (-0.75, -0.5), (-0.75, 0.25), (0.0, 0.4), (0.0, 0.4)],   # goal (0, 0.6): reached and hit
    ]                                                                           # at once, a collision
    trajectories = torch.tensor(paths, dtype=torch.float32, device=env.device)
    n = trajectories.shape[0]
    goal = torch.tensor([[0.0, 1.0]] * (n - 1) + [[0.0, 0.6]], device=env.device)
    obstacle = torch.zeros(n, 2, device=env.device)
    success, collided = env.module(POLICY).episode_outcome(trajectories, goal, obstacle, radius=0.5,
                                                             tolerance=0.25)
    return {"success": success, "collided": collided}


def run_outcome_random(n, steps, seed):
    def run(env):
        import torch

        task = env.module(TASK)
        scenes = random_scenes(env, n, seed)
        # curves from the start that pass the obstacle at a random side offset (some through it)
        # and end near the goal (some within the tolerance), with a little jitter on every position
        draws = env.randomizer.rand((n, 3), device=env.device)
        offset = (2 * draws[:, :1] - 1) * 0.6
        waypoint = scenes.obstacle + offset * task.side_normal(scenes)
        end = scenes.goal + 0.12 * (2 * draws[:, 1:] - 1)
        control = 2 * waypoint - (scenes.start + end) / 2
        s = torch.linspace(0, 1, steps + 1, device=env.device)[None, :, None]
        path = (1 - s) ** 2 * scenes.start[:, None] + 2 * s * (1 - s) * control[:, None] + s ** 2 * end[:, None]
        path = path + 0.01 * env.randomizer.randn((n, steps + 1, 2), device=env.device)
        success, collided = env.module(POLICY).episode_outcome(path, scenes.goal, scenes.obstacle)
        return {"success": success, "collided": collided}
    return run


# The hand-made episodes of run_outcome_cases, by index: which one goes wrong says what.
RIM, ARRIVE_THEN_HIT, ARRIVE_THEN_LEAVE, BOTH_AT_ONCE = 2, 4, 5, 7


def _wrong_at(got, ans, index) -> bool:
    return any(got[key].shape != ans[key].shape or bool(got[key][index] != ans[key][index])
               for key in ("success", "collided"))


SHAPE_HINT = Hint("return two bool tensors of shape (N,): (success, collided).",
                  lambda got, ans: got["success"].shape != ans["success"].shape
                  or got["collided"].shape != ans["collided"].shape)
CASE_HINTS = [
    SHAPE_HINT,
    Hint("success asks whether the goal is reached at any position (distance <= tolerance), not only the last: "
         "the episode that arrives and then moves away succeeds.",
         lambda got, ans: _wrong_at(got, ans, ARRIVE_THEN_LEAVE)),
    Hint("an episode ends at its first event: the episode that reaches the goal and afterwards drives into "
         "the obstacle is a success (not a collision), and touching the obstacle before the goal is a "
         "collision even if the goal comes later.",
         lambda got, ans: _wrong_at(got, ans, ARRIVE_THEN_HIT) and not _wrong_at(got, ans, ARRIVE_THEN_LEAVE)),
    Hint("the episode along the rim (distance exactly the radius) does not collide: a position collides only "
         "when its distance to the centre is strictly below the radius; and it ends exactly at the tolerance, "
         "which reaches the goal (distance <= tolerance).",
         lambda got, ans: _wrong_at(got, ans, RIM)),
    Hint("a position that is within the tolerance of the goal and inside the obstacle at the same time is a "
         "collision, not a success (the obstacle wins a tie).",
         lambda got, ans: _wrong_at(got, ans, BOTH_AT_ONCE) and not _wrong_at(got, ans, ARRIVE_THEN_HIT)),
]
RANDOM_HINTS = [
    SHAPE_HINT,
    Hint("more episodes collide than should: compare the distance to the centre (the norm of the difference) "
         "with the radius, not the squared distance.",
         lambda got, ans: got["collided"].shape == ans["collided"].shape
         and bool(np.any(got["collided"] & ~ans["collided"]))),
]


CHECKS = [
    film_check("conv_skip", 4, 8, points=2),
    film_check("identity_skip", 8, 8, points=1, length=4, batch=2, seed=52),
    pairs_check("h4", n=3, steps=5, horizon=4, points=2),
    rollout_check("partial_chunk", n=3, num_steps=10, execute_steps=4, points=2),
    rollout_check("every_step", n=2, num_steps=5, execute_steps=1, points=1, seed=73),
    check(
        id="part2_4.rollout.chunk_too_short",
        title="rollout: a ValueError when execute_steps is larger than the chunk",
        module=POLICY, function="rollout", points=1,
        call="a stand-in policy returning chunks of 4 actions; rollout(policy, scenes, num_steps=10, execute_steps=5)",
        run=run_rollout_too_long,
        expect={"raised_value_error": Exact(check_dtype=False)},
        hints=[Hint("check the chunk length against execute_steps and raise ValueError with a clear message "
                    "before executing anything.", lambda got, ans: not got.flag("raised_value_error"))],
    ),
    check(
        id="part2_4.outcome.cases",
        title="episode_outcome on eight hand-made episodes (arrive, hit, touch the rim, neither, ...)",
        module=POLICY, function="episode_outcome", points=2,
        call="obstacle at (0, 0) with radius 0.5, goal (0, 1) with tolerance 0.25; episodes of 5 positions: "
             "around, through, along the rim ending at the tolerance, never arriving, arriving then hitting, "
             "arriving then leaving, starting at the goal, reaching the goal inside the obstacle (goal (0, 0.6))",
        run=run_outcome_cases,
        expect={"success": Exact(), "collided": Exact()},
        hints=CASE_HINTS,
    ),
    check(
        id="part2_4.outcome.random",
        title="episode_outcome on 40 random episodes with the task's radius and tolerance",
        module=POLICY, function="episode_outcome", points=1,
        call="40 random scenes; curves of 30 steps passing the obstacle at random offsets; "
             "episode_outcome(trajectories, scenes.goal, scenes.obstacle)",
        run=run_outcome_random(40, 30, 81),
        expect={"success": Exact(), "collided": Exact()},
        hints=RANDOM_HINTS,
    ),
]
