"""Hidden checks for Part 2: the same contracts on other inputs (shapes, seeds,
timesteps, guidance weights), so that a submission cannot pass by matching the
public inputs alone. Shown on Gradescope once grades are published."""
from __future__ import annotations

from .part2 import (add_noise_check, denoise_check, generate_check, load_dataset_check, loss_check,
                    schedule_check)

CHECKS = [
    schedule_check(50, points=1, hidden=True, betas=(5e-4, 0.04)),
    add_noise_check("3d_hidden", (5, 2, 7), 50, seed=31, points=1, hidden=True),
    denoise_check(99, False, points=1, hidden=True, shape=(3, 2, 5, 5), seed=32, tag="t99_hidden"),
    denoise_check(1, True, points=1, hidden=True, shape=(3, 2, 5, 5), seed=33, tag="threshold_t1_hidden"),
    denoise_check(30, True, points=1, hidden=True, shape=(8, 6), num_steps=50, seed=34,
                  tag="threshold_t30_hidden"),
    loss_check("p05_hidden", 0.5, points=1, hidden=True, shape=(8, 2, 3, 3), num_steps=30, seed=35),
    generate_check("w05_threshold_hidden", 0.5, True, points=1, hidden=True, input_shape=(5,), batch=6,
                   num_steps=7, seed=36),
    generate_check("w5_hidden", 5.0, False, points=1, hidden=True, input_shape=(2, 3, 3), batch=3,
                   num_steps=12, seed=37),
    load_dataset_check("load_dataset_hidden", [("data_batch_2", 30, 41), ("data_batch_5", 25, 42),
                                               ("test_batch", 20, 43)], points=1, hidden=True),
]
