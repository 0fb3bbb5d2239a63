"""Checks over a tiny stand-in homework, so the engine is tested on its own.

The reference lives in tests/engine_fixture/reference: ``part1_gans/gan_pytorch.py``
defines ``scale`` and ``noise``; ``part2_diffusion/noise_scheduler.py`` defines ``double``.
"""
import numpy as np

from autograder.checks.api import Close, Exact, Hint, check

P1 = "part1_gans/gan_pytorch.py"
P2 = "part2_diffusion/noise_scheduler.py"


def _scale(env):
    import torch

    x = torch.linspace(0, 1, 12, device=env.device).reshape(3, 4)
    return {"y": env.module(P1).scale(x)}


def _noise(env):
    env.seed(3)
    return {"z": env.module(P1).noise(5, device=env.device)}


def _noise_range(env):
    env.seed(4)
    z = env.module(P1).noise(1000, device=env.device)
    return {"z": z}


def _range_ok(got, ans):
    z = got["z"]
    problems = []
    if z.min() < -1 or z.max() >= 1:
        problems.append(f"values must lie in [-1, 1), got min {z.min():.3g}, max {z.max():.3g}")
    return problems


def _double(env):
    import torch

    return {"y": env.module(P2).double(torch.arange(6.0, device=env.device)),
            "n": 6}


CHECKS = [
    check(id="fixture.scale.values", title="scale: maps [0, 1] to [-1, 1]", module=P1, function="scale",
          points=2, run=_scale, expect={"y": Close()}, call="scale(torch.linspace(0, 1, 12).reshape(3, 4))",
          hints=[Hint("the result is the negative of the expected one: sign flipped?",
                      lambda got, ans: np.allclose(got["y"], -ans["y"]))]),
    check(id="fixture.noise.values", title="noise: values through the randomizer", module=P1, function="noise",
          points=3, run=_noise, expect={"z": Close(atol=1e-6)}, call="randomizer.seed(3); noise(5)",
          hints=[Hint("values lie in [0, 1): did you forget `2 * ... - 1`?",
                      lambda got, ans: np.allclose(got["z"], (ans["z"] + 1) / 2, atol=1e-6))],
          timeout=20),
    check(id="fixture.noise.range", title="noise: range [-1, 1)", module=P1, function="noise", points=1,
          run=_noise_range, verify=_range_ok, needs_answers=False, timeout=20),
    check(id="fixture.double.values", title="double: twice the input", module=P2, function="double",
          points=2, run=_double, expect={"y": Close(), "n": Exact()}),
    check(id="fixture.double.hidden", title="double: hidden", module=P2, function="double",
          points=1, run=_double, expect={"y": Close()}, hidden=True),
]
