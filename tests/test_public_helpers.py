"""The public checks ship with the student release: they must not hand out answers.

Where a check needs a stand-in for another student function (so that one mistake
costs only its own checks), the stand-in is deliberately not the answer. Two
guards: every public helper, patched in as the student function it stands in for,
earns none of that function's points; and a scan of the released autograder
package for the known shapes of the answers.
"""
from __future__ import annotations

import re
import textwrap

import pytest

from autograder.engine import grade_folder, select_checks
from tests.mutants import ROOT, build_submission

RELEASE = ROOT / "release" / "hw4"
GAN = "part1_gans/gan_pytorch.py"
SCHED = "part2_diffusion/noise_scheduler.py"

# Student function -> (file, code appended to the reference module that makes the
# function delegate to what the public checks define).
_SCHEDULER_ENV = """
import randomizer
from autograder.checks import probes as _public


class _Env:
    def __init__(self, device):
        self.randomizer, self.device = randomizer, device
"""
FROM_HELPERS = {
    "sample_noise": (GAN, """
        import randomizer
        from autograder.checks import probes as _public


        def sample_noise(batch_size, dim, device=None):
            return _public.standin_noise(randomizer, batch_size, dim, device)
        """),
    "bce_loss": (GAN, """
        from autograder.checks import probes as _public

        bce_loss = _public.standin_loss
        """),
    "NoiseScheduler.__init__": (SCHED, _SCHEDULER_ENV + textwrap.dedent("""

        def _init(self, num_steps, beta_start=1e-4, beta_end=0.02, device=None):
            self.num_steps, self.device = num_steps, device
            self.betas, self.alphas, self.alpha_bars = _public.standin_schedule(num_steps, device)


        NoiseScheduler.__init__ = _init
        """)),
    "NoiseScheduler.add_noise": (SCHED, _SCHEDULER_ENV + textwrap.dedent("""

        def _add_noise(self, original_samples, noise, timesteps):
            probe = _public.probe_scheduler(_Env(original_samples.device), self.num_steps)
            return probe.add_noise(original_samples, noise, timesteps)


        NoiseScheduler.add_noise = _add_noise
        """)),
    "NoiseScheduler.denoise_step": (SCHED, _SCHEDULER_ENV + textwrap.dedent("""

        def _denoise_step(self, model_prediction, t, x_t, threshold=False):
            probe = _public.probe_scheduler(_Env(x_t.device), self.num_steps)
            return probe.denoise_step(model_prediction, t, x_t, threshold)


        NoiseScheduler.denoise_step = _denoise_step
        """)),
}


@pytest.mark.slow
@pytest.mark.parametrize("function", sorted(FROM_HELPERS))
def test_public_helpers_earn_none_of_the_points(function, tmp_path):
    rel, code = FROM_HELPERS[function]
    submission = build_submission(tmp_path / "sub")
    target = submission / rel
    target.write_text(target.read_text() + "\n" + textwrap.dedent(code))
    part = "part1" if rel == GAN else "part2"
    report = grade_folder(submission, only=part)
    own = {c.id for c in select_checks(part, function=function)}
    assert own, function
    # every check of the function fails, and nothing else does: the helpers are not answers,
    # and the other functions keep their points (the stand-ins still isolate mistakes)
    assert report.failed_ids() == own, report.details()


# The known shapes of the answers, as code (hints may name an idea in words).
ANSWER_SHAPES = {
    # sample_noise's formula is in its own docstring (the stored answers depend on it);
    # what must not ship is a function that returns it for any (batch_size, dim)
    "sample_noise": [r"2\s*\*\s*[\w.]*\brand\(\(\s*batch_size\s*,\s*dim\b",
                     r"\brand\(\(\s*batch_size\s*,\s*dim\b[^\n]*\*\s*2\s*-\s*1\b"],
    # (the linear betas are provided code; alphas and their cumulative product are not)
    "NoiseScheduler.__init__": [r"cumprod\(\s*(1\s*-|[\w.]*alphas\b)"],
    "NoiseScheduler.add_noise": [r"\.sqrt\(\)\s*\*\s*[\w.]+\s*\+\s*\(1\s*-\s*[\w.\[\]]+\)\.sqrt\(\)",
                                 r"sqrt\([^)\n]*alpha_bar[^)\n]*\)\s*\*[^\n]*\+[^\n]*sqrt\(\s*1\s*-"],
    "bce_loss": [r"log1p\(\s*torch\.exp\(\s*-", r"clamp\(min=0\)\s*-\s*[\w.]+\s*\*",
                 r"binary_cross_entropy_with_logits", r"\blogsigmoid\(", r"\bsoftplus\("],
}
# What the public checks contained before these guards: each must be caught.
OLD_LEAKS = {
    "sample_noise": "        return 2 * rnd.rand((batch_size, dim), device=device) - 1",
    "NoiseScheduler.__init__": "    return betas.to(device), alphas.float().to(device), torch.cumprod(alphas, 0).float()",
    "NoiseScheduler.add_noise": "            return ab.sqrt() * original_samples + (1 - ab).sqrt() * noise",
    "bce_loss": "    return (input.clamp(min=0) - input * target + torch.log1p(torch.exp(-input.abs()))).mean()",
}


def _answer_shapes(text: str) -> list[tuple[str, int, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        for function, patterns in ANSWER_SHAPES.items():
            if any(re.search(pattern, code) for pattern in patterns):
                found.append((function, number, line.strip()))
    return found


@pytest.mark.parametrize("function", sorted(OLD_LEAKS))
def test_the_scan_knows_the_old_leaks(function):
    assert [f for f, _, _ in _answer_shapes(OLD_LEAKS[function])] == [function]


def test_no_answer_shape_in_the_released_autograder():
    package = RELEASE / "autograder"
    if not package.is_dir():
        pytest.fail("release/hw4 is missing: run `make release`")
    leaks = []
    for path in sorted(package.rglob("*.py")):
        leaks += [(path.relative_to(RELEASE).as_posix(), *hit) for hit in _answer_shapes(path.read_text())]
    assert not leaks, leaks


def test_the_scan_reads_what_students_receive():
    names = {p.relative_to(RELEASE / "autograder").as_posix() for p in (RELEASE / "autograder").rglob("*.py")}
    assert {"checks/part1.py", "checks/part2.py", "checks/probes.py", "runner.py"} <= names
