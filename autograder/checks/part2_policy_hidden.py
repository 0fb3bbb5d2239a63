"""Hidden checks for Part 2.4: the same contracts on other inputs (channels, lengths,
horizons longer than the demonstrations, a chunk executed whole, other scenes), so
that a submission cannot pass by matching the public inputs alone. Shown on
Gradescope once grades are published."""
from __future__ import annotations

from .part2_policy import RANDOM_HINTS, film_check, pairs_check, rollout_check, run_outcome_random
from .api import Exact, check

CHECKS = [
    film_check("hidden", 6, 4, points=1, hidden=True, cond_dim=5, length=5, batch=4, kernel=3, groups=2, seed=53),
    pairs_check("h6_hidden", n=2, steps=3, horizon=6, points=1, hidden=True, seed=62),
    rollout_check("whole_chunk_hidden", n=4, num_steps=12, execute_steps=6, points=1, hidden=True, seed=74),
    check(
        id="part2_4.outcome.random_hidden",
        title="episode_outcome on 60 other random episodes",
        module="part2_diffusion/diffusion_policy.py", function="episode_outcome", points=1, hidden=True,
        call="60 random scenes; curves of 25 steps passing the obstacle at random offsets",
        run=run_outcome_random(60, 25, 82),
        expect={"success": Exact(), "collided": Exact()},
        hints=RANDOM_HINTS,
    ),
]
