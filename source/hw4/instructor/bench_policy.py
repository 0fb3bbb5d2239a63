"""Diffusion-policy benchmark (part of ``make bench``): Part 2.4 at the notebook's default budget.

Trains the reference diffusion policy and the MSE behaviour-cloning baseline (the same
network and training loop) on the notebook's demonstrations, on the CPU with two
threads (a laptop's core pair), and reports each one's training time, and its success
rate, collision rate and passing sides over 100 rollouts in new scenes; then the
diffusion policy's success with classifier-free guidance w = 1 and 3 and with other
numbers of executed actions per chunk. Targets: diffusion policy at least 90%
success, the baseline well below it (at least 20 points less).

Run: ``python -m autograder bench-policy [--quick]`` (``--quick``: the smoke sizes).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]  # source/hw4: this file lives in its instructor/ folder
TARGET_DIFFUSION = 0.9
TARGET_GAP = 0.2
# The notebook's defaults (part2_policy.ipynb, cell "config")
DEFAULTS = {"demos": 200, "epochs": 50, "channels": 32, "steps": 50, "batch": 128}
QUICK = {"demos": 40, "epochs": 2, "channels": 8, "steps": 50, "batch": 128}


def train_policies(demos: int, epochs: int, channels: int, steps: int, batch: int, lr: float = 1e-3,
                   seed: int = 0) -> dict:
    """Train both policies as the notebook does; returns {name: (policy, seconds)}."""
    import torch

    import randomizer
    from part2_diffusion import push_task
    from part2_diffusion.diffusion_policy import HORIZON, DiffusionPolicy, MSEPolicy, make_training_pairs

    randomizer.seed(seed)
    scenes = push_task.sample_scenes(demos)
    positions, _ = push_task.demonstrations(scenes)
    obs, chunks = make_training_pairs(positions, scenes, HORIZON)
    trained = {}
    for name, make in [("diffusion", lambda: DiffusionPolicy(denoising_steps=steps, channels=channels)),
                       ("MSE", lambda: MSEPolicy(channels=channels))]:
        randomizer.seed(seed + 1)
        torch.manual_seed(seed + 1)  # the same initial weights for both networks, on every run
        policy = make()
        started = time.perf_counter()
        policy.fit(obs, chunks, epochs, batch_size=batch, lr=lr, progress=False)
        trained[name] = (policy, time.perf_counter() - started)
    return trained


def evaluate(policy, rollouts: int = 100, seed: int = 2024, **rollout_args) -> dict:
    """Success, collision and passing sides of ``rollouts`` episodes in new scenes."""
    import randomizer
    from part2_diffusion import push_task
    from part2_diffusion.diffusion_policy import success_rate

    randomizer.seed(seed)
    scenes = push_task.sample_scenes(rollouts)
    randomizer.seed(7)
    return success_rate(policy, scenes, **rollout_args)


def _line(name: str, result: dict) -> str:
    return (f"success {100 * result['success_rate']:5.1f}%  collision {100 * result['collision_rate']:5.1f}%  "
            f"left {100 * result['left']:5.1f}%  right {100 * result['right']:5.1f}%  "
            f"neither {100 * result['middle']:5.1f}%")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the notebook's smoke sizes")
    args = parser.parse_args(argv)
    if str(SOURCE) not in sys.path:
        sys.path.insert(0, str(SOURCE))
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sizes = QUICK if args.quick else DEFAULTS
        print(f"Diffusion policy (Part 2.4), CPU, 2 threads: {sizes['demos']} demonstrations, "
              f"{sizes['epochs']} epochs of batch {sizes['batch']}, {sizes['channels']} channels, T = {sizes['steps']}")
        trained = train_policies(**sizes)
        results = {}
        for name, (policy, seconds) in trained.items():
            started = time.perf_counter()
            results[name] = evaluate(policy)
            print(f"  {name:9s} training {seconds:6.1f} s, 100 rollouts {time.perf_counter() - started:5.1f} s: "
                  f"{_line(name, results[name])}")
        total = sum(seconds for _, seconds in trained.values())
        print(f"  both trainings  {total:.0f} s (notebook target: under 300 s on a laptop core pair)")
        diffusion, baseline = results["diffusion"]["success_rate"], results["MSE"]["success_rate"]
        ok = diffusion >= TARGET_DIFFUSION and baseline <= diffusion - TARGET_GAP
        print(f"  targets: diffusion >= {100 * TARGET_DIFFUSION:.0f}%, MSE at least {100 * TARGET_GAP:.0f} points "
              f"below: {'ok' if ok else 'MISSED'}")
        policy = trained["diffusion"][0]
        for w in (1.0, 3.0):
            result = evaluate(lambda obs, w=w: policy(obs, guidance_weight=w))
            print(f"  diffusion, guidance w = {w:g}:    {_line('', result)}")
        for execute in (1, 16):
            result = evaluate(policy, execute_steps=execute)
            print(f"  diffusion, execute {execute:2d} of 16: {_line('', result)}")
        return 0 if ok or args.quick else 1
    finally:
        torch.set_num_threads(threads)


if __name__ == "__main__":
    sys.exit(main())
