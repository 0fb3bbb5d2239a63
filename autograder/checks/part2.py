"""Public checks for Part 2 (diffusion with classifier-free guidance).

Each function is graded on its own: the scheduler checks give ``add_noise`` and
``denoise_step`` a stand-in schedule (a cosine schedule, in closed form: not the
linear schedule that ``__init__`` computes, so a mistake in ``__init__`` costs only
the schedule checks), and the ``DiffusionModel`` checks run the student's loss and
sampler with a stand-in scheduler (:class:`ProbeScheduler` below: the same cosine
schedule, a forward step that interpolates linearly and a simple reverse step,
neither of them DDPM's) and the deterministic ``TinyNoiseNet``, so a scheduler
mistake does not cost their points twice. This file ships with the student
release: no helper in it computes what a student function must.

Nothing here imports torch at module level: the trusted parent only reads the
declarations; ``run`` functions execute in the sandboxed child.
"""
from __future__ import annotations

import numpy as np

from .api import Close, Exact, Hint, check
from .helpers import close, draws_elsewhere
from .probes import MODEL, diffusion_model, recording_net, standin_schedule

SCHED = "part2_diffusion/noise_scheduler.py"
IMGEN = "part2_diffusion/image_gen.py"

# Tolerances (proven by tests/catalogue_part2.py: every valid variant passes, every mistake fails).
# Schedules: a float64 cumulative product cast to float32 differs from the float32 one
# by a few ulps per step.
SCHEDULE_TOL = Close(rtol=2e-5, atol=1e-7)
# Sums of O(1) terms, computed in float32 or float64.
VALUE_TOL = Close(rtol=1e-5, atol=1e-5)
# At t <= 1 every formulation is only defined to ~2e-4 relative: 1 - alpha_bar_0 is 1.6e-4
# off beta_0 once 1 - 1e-4 is rounded to float32, and coefficients such as
# beta_t / (1 - alpha_bar_t) or (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) amplify that, so eq. 11
# and the posterior-mean form (or beta_t recomputed from alpha_bars) differ by up to 5e-4 on
# values of size 3. The mistakes checked there (noise at t = 0, beta-tilde, no clamp, ...)
# miss by more than 1e-2.
EARLY_STEP_TOL = Close(rtol=1e-3, atol=1e-4)
LOSS_TOL = Close(rtol=1e-4, atol=1e-6)
SAMPLE_TOL = Close(rtol=1e-4, atol=1e-5)
IMAGE_TOL = Close(rtol=1e-5, atol=1e-6, check_device=False)  # the data set stays on the CPU


# --------------------------------------------------------------------------- helpers
# (run in the child; torch is imported inside)


def scheduler_with_standin_schedule(env, num_steps: int):
    """The student's NoiseScheduler with the stand-in schedule tensors put in, so that
    ``add_noise`` and ``denoise_step`` are judged on their own."""
    module = env.module(SCHED)
    try:
        scheduler = module.NoiseScheduler(num_steps, device=env.device)
    except Exception:  # __init__ not done yet (or broken): still grade the methods
        scheduler = module.NoiseScheduler.__new__(module.NoiseScheduler)
        scheduler.num_steps, scheduler.device = num_steps, env.device
    scheduler.betas, scheduler.alphas, scheduler.alpha_bars = standin_schedule(num_steps, env.device)
    return scheduler


# --------------------------------------------------------------------------- schedule

def run_schedule(num_steps, betas=None):
    def run(env):
        import torch

        ends = {} if betas is None else {"beta_start": betas[0], "beta_end": betas[1]}
        scheduler = env.module(SCHED).NoiseScheduler(num_steps, device=env.device, **ends)
        return {"alphas": scheduler.alphas, "alpha_bars": scheduler.alpha_bars,
                "betas": torch.as_tensor(scheduler.betas)}
    return run


SCHEDULE_HINTS = [
    Hint("`alpha_bars` equals `alphas`: alpha_bar_t is the cumulative product alpha_0 * ... * alpha_t "
         "(torch.cumprod), not alpha_t itself.",
         lambda got, ans: close(got["alpha_bars"], ans["alphas"], 1e-6, 1e-5)),
    Hint("`alpha_bars` is the cumulative product of the betas; it is the product of the alphas = 1 - betas.",
         lambda got, ans: close(got["alpha_bars"], np.cumprod(ans["betas"].astype(np.float64)), 1e-4, 1e-30)),
    Hint("`alpha_bars` looks shifted by one step (an exclusive cumulative product starting at 1): "
         "with 0-indexed t, alpha_bar_0 = alpha_0, so alpha_bars[0] is 1 - beta_start, not 1.",
         lambda got, ans: close(got["alpha_bars"][1:], ans["alpha_bars"][:-1], 1e-4, 1e-5)),
    Hint("`alphas` should be 1 - betas.",
         lambda got, ans: not close(got["alphas"], ans["alphas"], 1e-5, 1e-5)),
    Hint("Your schedule is the one of the default betas: compute alphas from `self.betas`, which "
         "honours beta_start and beta_end, not from the default values.",
         lambda got, ans: close(got["alphas"][[0, -1]], [1 - 1e-4, 1 - 0.02], 1e-6, 1e-5)
         and not close(ans["alphas"][[0, -1]], [1 - 1e-4, 1 - 0.02], 1e-6, 1e-5)),
]


def schedule_check(num_steps, points, hidden=False, betas=None):
    """``betas``: (beta_start, beta_end) other than the defaults, so that a schedule
    written for the default betas only (not from ``self.betas``) is caught."""
    start, end = betas or (1e-4, 0.02)
    ends = "" if betas is None else f", beta_start={start:g}, beta_end={end:g}"
    return check(
        id=f"part2.schedule.t{num_steps}",
        title=f"NoiseScheduler: alphas and alpha_bars for T = {num_steps}"
              + ("" if betas is None else f", betas from {start:g} to {end:g}"),
        module=SCHED, function="NoiseScheduler.__init__", points=points, hidden=hidden,
        call=f"NoiseScheduler({num_steps}{ends}) (betas = linspace({start:g}, {end:g}, {num_steps}))",
        run=run_schedule(num_steps, betas),
        expect={"alphas": SCHEDULE_TOL, "alpha_bars": SCHEDULE_TOL},
        hints=SCHEDULE_HINTS,
    )


# --------------------------------------------------------------------------- add_noise

def add_noise_inputs(env, shape, num_steps, seed):
    import torch

    env.seed(seed)
    batch = shape[0]
    x0 = 2 * env.randomizer.rand(shape, device=env.device) - 1
    noise = env.randomizer.randn(shape, device=env.device)
    # every sample a different t, spread from 0 to T-1
    steps = torch.linspace(0, num_steps - 1, batch).round().long().flip(0).to(env.device)
    return x0, noise, steps


def run_add_noise(shape, num_steps, seed):
    def run(env):
        scheduler = scheduler_with_standin_schedule(env, num_steps)
        x0, noise, steps = add_noise_inputs(env, shape, num_steps, seed)
        x_t = scheduler.add_noise(x0, noise, steps)
        return {"x_t": x_t, "x0": x0, "noise": noise}
    return run


def _ab_from(ans, key="x_t"):
    """alpha_bar per sample recovered from the reference: x_t = a x0 + b eps."""
    x0, eps, xt = (ans[k].reshape(ans[k].shape[0], -1).astype(np.float64) for k in ("x0", "noise", key))
    return x0, eps, xt


ADD_NOISE_HINTS = [
    Hint("the result looks like alpha_bar_t * x0 + (1 - alpha_bar_t) * eps: both coefficients are "
         "square roots (eq. 4: x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps).",
         lambda got, ans: _missing_sqrt(got, ans)),
]


def _missing_sqrt(got, ans) -> bool:
    x0, eps, xt = _ab_from(ans)
    g = got["x_t"].reshape(xt.shape).astype(np.float64)
    # solve per sample for a, b in g = a x0 + b eps, then compare with the reference's a^2, b^2
    ok = False
    for i in range(xt.shape[0]):
        basis = np.stack([x0[i], eps[i]], 1)
        (a, b), *_ = np.linalg.lstsq(basis, g[i], rcond=None)
        (ra, rb), *_ = np.linalg.lstsq(basis, xt[i], rcond=None)
        ok = abs(a - ra ** 2) < 1e-3 and abs(b - rb ** 2) < 1e-3
        if not ok:
            return False
    return ok


def add_noise_check(tag, shape, num_steps, seed, points, hidden=False):
    dims = " x ".join(map(str, shape))
    return check(
        id=f"part2.add_noise.{tag}",
        title=f"NoiseScheduler.add_noise on a {len(shape)}-D batch ({dims})",
        module=SCHED, function="NoiseScheduler.add_noise", points=points, hidden=hidden,
        call=f"T = {num_steps} with a stand-in (cosine) schedule put in the scheduler; "
             f"x0 uniform in [-1, 1) of shape ({dims}), eps ~ randn, "
             f"one timestep per sample from T-1 down to 0",
        run=run_add_noise(shape, num_steps, seed),
        expect={"x_t": VALUE_TOL},
        hints=ADD_NOISE_HINTS + [
            Hint("alpha_bar_t must be reshaped to (B, 1, ..., 1) so that it broadcasts over every "
                 "trailing dimension: e.g. `.reshape(-1, *[1] * (x0.dim() - 1))` or `.view(-1, 1, 1, 1)` "
                 "only for 4-D inputs.",
                 lambda got, ans: got["x_t"].shape != ans["x_t"].shape),
        ],
    )


# --------------------------------------------------------------------------- denoise_step

def run_denoise(t, threshold, shape=(4, 3, 4, 4), num_steps=100, seed=5, scale=3.0):
    def run(env):
        scheduler = scheduler_with_standin_schedule(env, num_steps)
        env.seed(seed)
        # with thresholding, x_t of magnitude ~3 so that x0_hat leaves [-1, 1] and the clamp bites
        x_t = scale * env.randomizer.randn(shape, device=env.device)
        eps = env.randomizer.randn(shape, device=env.device)
        env.seed(seed + 1000)
        out = scheduler.denoise_step(eps, t, x_t, threshold=threshold)
        env.seed(seed + 1000)
        z = env.randomizer.randn(shape)
        elsewhere = draws_elsewhere(env, seed + 1000,
                                    lambda: scheduler.denoise_step(eps.clone(), t, x_t.clone(), threshold=threshold))
        return {"x_prev": out, "z": z, "draws_elsewhere": elsewhere}
    return run


def _sigma_fit(got, ans):
    """Least-squares sigma in got - ans = sigma' z - sigma z (sigma' - sigma), and a residual."""
    d = (got["x_prev"] - ans["x_prev"]).astype(np.float64).ravel()
    z = ans["z"].astype(np.float64).ravel()
    coef = float(d @ z / (z @ z))
    return coef, float(np.abs(d - coef * z).max())


DENOISE_HINTS = [
    Hint("the result changes when only torch's generator is seeded differently: z must be "
         "randomizer.randn(x_t.shape, device=x_t.device) (torch.randn and torch.randn_like draw from torch's "
         "own generator; take every random number from the randomizer).",
         lambda got, ans: got.flag("draws_elsewhere")),
    Hint("the difference is a multiple of the noise z: check sigma_t = sqrt(beta_t) (not beta-tilde, "
         "not beta_t itself) and that z = randomizer.randn(x_t.shape) is added exactly when t > 0.",
         lambda got, ans: abs(_sigma_fit(got, ans)[0]) > 1e-4 and _sigma_fit(got, ans)[1] < 1e-4),
]


def denoise_check(t, threshold, points, hidden=False, shape=(4, 3, 4, 4), num_steps=100, seed=5, tag=None):
    kind = "with thresholding" if threshold else "without thresholding"
    tag = tag or f"{'threshold_' if threshold else ''}t{t}"
    tol = EARLY_STEP_TOL if t <= 1 else VALUE_TOL
    dims = " x ".join(map(str, shape))
    scale = 3.0 if threshold else 1.0
    hints = list(DENOISE_HINTS)
    if threshold:
        hints.append(Hint("with thresholding, clamp the predicted x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / "
                          "sqrt(alpha_bar_t) to [-1, 1] (not x_t, not x_{t-1}, not [0, 1]), then use the "
                          "posterior mean (eq. 7) with alpha_bar_{-1} = 1.",
                          lambda got, ans: _sigma_fit(got, ans)[1] >= 1e-4 and not got.flag("draws_elsewhere")))
    return check(
        id=f"part2.denoise_step.{tag}",
        title=f"NoiseScheduler.denoise_step at t = {t} {kind}",
        module=SCHED, function="NoiseScheduler.denoise_step", points=points, hidden=hidden,
        call=f"T = {num_steps} with a stand-in (cosine) schedule put in the scheduler; "
             f"x_t = {scale:g} * randn({dims}), eps = randn({dims}); "
             f"denoise_step(eps, {t}, x_t, threshold={threshold})",
        run=run_denoise(t, threshold, shape, num_steps, seed, scale),
        expect={"x_prev": tol},
        hints=hints,
    )


# --------------------------------------------------------------------------- compute_loss_on_batch

def run_loss(p_uncond, shape=(6, 5), num_steps=20, seed=11):
    def run(env):
        import torch

        model, probe, net = diffusion_model(env, num_steps, p_uncond, shape[1:])
        env.seed(seed)
        data = 2 * env.randomizer.rand(shape, device=env.device) - 1
        batch = shape[0]
        cond = (torch.arange(batch, device=env.device) % 3 + 1).long()
        env.seed(seed + 1)
        loss = model.compute_loss_on_batch(data, cond)
        out = {"loss": loss, "add_noise_calls": probe.add_noise_calls, "net_calls": len(net.calls),
               "cond_in": cond}
        if probe.noises:
            out["eps"] = probe.noises[0]
        if net.calls:
            out["net_t"] = net.calls[0][0]
            out["net_cond"] = net.calls[0][1]
        out["elements"] = int(data.numel())
        return out
    return run


def _loss_ratio(got, ans) -> float:
    return float(got["loss"]) / float(ans["loss"])


LOSS_HINTS = [
    Hint("the loss is N times too large: take the mean over all elements (F.mse_loss), not the sum.",
         lambda got, ans: abs(_loss_ratio(got, ans) - float(ans["elements"])) < 1e-3 * float(ans["elements"])),
    Hint("noise the batch with self.noise_scheduler.add_noise(data, eps, t) (the check counts its calls).",
         lambda got, ans: int(got["add_noise_calls"]) == 0),
    Hint("the timesteps given to the network differ: draw t = randomizer.randint(0, T, (B,)) "
         "(0-indexed, high excluded).",
         lambda got, ans: "net_t" in got and not np.array_equal(got["net_t"], ans["net_t"])),
    Hint("the noise eps given to add_noise is not the randomizer's: draw eps = randomizer.randn(data.shape, "
         "device=...) (torch.randn_like and torch.randn draw from torch's own generator; every random "
         "number comes from the randomizer).",
         lambda got, ans: "eps" in got and got["eps"].shape == ans["eps"].shape
         and not close(got["eps"], ans["eps"], 1e-6, 1e-6)),
    Hint("the null condition is torch.zeros_like(cond): dropped rows must get label 0.",
         lambda got, ans: _wrong_null(got, ans)),
    Hint("the dropout mask is inverted: exactly the rows that should keep their label were dropped. A row "
         "is dropped (set to the null condition) where randomizer.rand((B,)) < p_uncond, so that it "
         "happens with probability p_uncond.",
         lambda got, ans: _inverted_mask(got, ans)),
    Hint("the conditions given to the network differ from the expected dropout: drop each sample "
         "independently where randomizer.rand((B,)) < p_uncond (not the whole batch at once).",
         lambda got, ans: "net_cond" in got and not _wrong_null(got, ans) and not _inverted_mask(got, ans)
         and not np.array_equal(got["net_cond"] == 0, ans["net_cond"] == 0)),
]


def _inverted_mask(got, ans) -> bool:
    """Every row the reference drops kept its own label, and every row it keeps was dropped."""
    if "net_cond" not in got or got["net_cond"].shape != ans["net_cond"].shape:
        return False
    dropped = ans["net_cond"] == 0
    return bool(np.all(got["net_cond"][dropped] == ans["cond_in"][dropped])) \
        and bool(np.all(got["net_cond"][~dropped] == 0))


def _wrong_null(got, ans) -> bool:
    """Some dropped row was replaced by a label other than 0 (not merely kept), every
    kept row is right."""
    if "net_cond" not in got or got["net_cond"].shape != ans["net_cond"].shape:
        return False
    dropped, kept = ans["net_cond"] == 0, ans["net_cond"] != 0
    replaced = (got["net_cond"] != 0) & (got["net_cond"] != ans["cond_in"])
    return bool(np.any(replaced[dropped])) and bool(np.all(got["net_cond"][kept] == ans["net_cond"][kept]))


def loss_check(tag, p_uncond, points, hidden=False, shape=(6, 5), num_steps=20, seed=11):
    dims = " x ".join(map(str, shape))
    return check(
        id=f"part2.loss.{tag}",
        title=f"DiffusionModel.compute_loss_on_batch with p_uncond = {p_uncond:g}",
        module=MODEL, function="DiffusionModel.compute_loss_on_batch", points=points, hidden=hidden,
        call=f"T = {num_steps}, TinyNoiseNet, a stand-in scheduler; data uniform in [-1, 1) of shape "
             f"({dims}), cond = [1, 2, 3, 1, ...]",
        run=run_loss(p_uncond, shape, num_steps, seed),
        expect={"loss": LOSS_TOL},
        hints=LOSS_HINTS,
    )


# --------------------------------------------------------------------------- generate_sample

def run_generate(guidance, threshold, input_shape=(3, 4, 4), batch=4, num_steps=10, seed=21):
    def run(env):
        import torch

        model, probe, train_net = diffusion_model(env, num_steps, 0.1, input_shape, train_variant=1)
        sampling = recording_net(env, input_shape, num_steps, variant=2)
        model.sampling_net = sampling
        cond = (torch.arange(batch, device=env.device) % 3 + 1).long()
        env.seed(seed)
        sample = model.generate_sample(cond, guidance_weight=guidance, threshold=threshold)
        out = {"sample": sample, "steps": list(probe.steps) or [-1], "thresholds": list(probe.thresholds) or [-1],
               "sampling_net_calls": len(sampling.calls), "train_net_calls": len(train_net.calls)}
        out["draws_elsewhere"] = draws_elsewhere(
            env, seed, lambda: model.generate_sample(cond.clone(), guidance_weight=guidance, threshold=threshold))
        return out
    return run


GENERATE_HINTS = [
    Hint("the samples change when only torch's generator is seeded differently: start from "
         "x = randomizer.randn((B, *input_shape), device=...) (torch.randn and torch.randn_like draw from "
         "torch's own generator; take every random number from the randomizer).",
         lambda got, ans: got.flag("draws_elsewhere")),
    Hint("sample with self.sampling_net (the EMA copy after training), not self.noise_pred_net.",
         lambda got, ans: int(got["sampling_net_calls"]) == 0 and int(got["train_net_calls"]) > 0),
    Hint("denoise_step must be called once per timestep, from t = T-1 down to 0 (the check records "
         "the t of each call; yours differ).",
         lambda got, ans: not np.array_equal(got["steps"], ans["steps"])),
    Hint("pass `threshold` on to noise_scheduler.denoise_step(..., threshold=threshold).",
         lambda got, ans: np.array_equal(got["steps"], ans["steps"])
         and not np.array_equal(got["thresholds"], ans["thresholds"])),
    Hint("the guided prediction is (1 + w) * eps(x, t, cond) - w * eps(x, t, null) (CFG eq. 6) with "
         "null = torch.zeros_like(cond); start from x = randomizer.randn((B, *input_shape)).",
         lambda got, ans: np.array_equal(got["steps"], ans["steps"])
         and np.array_equal(got["thresholds"], ans["thresholds"]) and int(got["sampling_net_calls"]) > 0
         and not got.flag("draws_elsewhere")),
]


def generate_check(tag, guidance, threshold, points, hidden=False, input_shape=(3, 4, 4), batch=4,
                   num_steps=10, seed=21):
    dims = " x ".join(map(str, input_shape))
    return check(
        id=f"part2.generate.{tag}",
        title=f"DiffusionModel.generate_sample with guidance {guidance:g}"
              f"{', thresholding' if threshold else ''}",
        module=MODEL, function="DiffusionModel.generate_sample", points=points, hidden=hidden,
        call=f"T = {num_steps}, input_shape = ({dims}), TinyNoiseNet as sampling_net, a stand-in scheduler; "
             f"generate_sample(cond=[1, 2, 3, ...] ({batch}), guidance_weight={guidance:g}, threshold={threshold})",
        run=run_generate(guidance, threshold, input_shape, batch, num_steps, seed),
        expect={"sample": SAMPLE_TOL},
        hints=GENERATE_HINTS,
    )


# --------------------------------------------------------------------------- image generator

def write_cifar_batch(path, count, seed, labels_as_list=True):
    """A small file in the CIFAR-10 python format (as the real data_batch_* files)."""
    import pickle

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    labels[:3] = [0, 9, 2]  # at least one kept and one dropped class
    data = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
    data[0, :4] = [0, 255, 127, 128]  # the ends of the pixel range
    batch = {b"batch_label": b"training batch 1 of 5",
             b"labels": [int(v) for v in labels] if labels_as_list else labels,
             b"data": data,
             b"filenames": [f"img_{i}.png".encode() for i in range(count)]}
    with open(path, "wb") as file:
        pickle.dump(batch, file)
    return str(path)


def run_fields(env):
    module = env.module(IMGEN)

    class StandIn:  # replaces the U-Net and the model: a scheduler mistake must not fail this check
        def __init__(self, *args, **kwargs):
            pass

    saved = module.UNet, module.DiffusionModel
    module.UNet, module.DiffusionModel = StandIn, StandIn
    try:
        gen = module.ImageGenerator(denoising_steps=10, channels=8, device=env.device)
    finally:
        module.UNet, module.DiffusionModel = saved
    return {"input_shape": [int(d) for d in gen.input_shape], "condition_dim": int(gen.condition_dim)}


def run_load_dataset(files):
    def run(env):
        module = env.module(IMGEN)
        paths = [write_cifar_batch(env.scratch / name, count, seed) for name, count, seed in files]
        gen = module.ImageGenerator.__new__(module.ImageGenerator)  # no network needed to load data
        images, labels = gen.load_dataset(paths, batch_size=16)
        return {"images": images, "labels": labels}
    return run


LOAD_HINTS = [
    Hint("labels must be shifted by one (CIFAR 0, 1, 2 -> 1, 2, 3): label 0 is the null condition.",
         lambda got, ans: np.array_equal(got["labels"], ans["labels"] - 1)),
    Hint("images must be scaled from [0, 255] to [-1, 1] (x / 127.5 - 1), not to [0, 1].",
         lambda got, ans: close(got["images"], (ans["images"] + 1) / 2, 1e-4, 1e-5)),
    Hint("images must be scaled from [0, 255] to [-1, 1] (x / 127.5 - 1).",
         lambda got, ans: got["images"].shape == ans["images"].shape and float(np.max(got["images"])) > 1.5),
    Hint("keep only CIFAR labels 0, 1, 2 (airplane, automobile, bird), in file order.",
         lambda got, ans: got["labels"].shape != ans["labels"].shape),
    Hint("each row of b'data' holds 1024 red, then 1024 green, then 1024 blue values: "
         "reshape to (N, 3, 32, 32) directly (no transpose).",
         lambda got, ans: got["images"].shape == ans["images"].shape
         and not close(got["images"], ans["images"], 1e-4, 1e-5)
         and close(np.sort(got["images"].ravel()), np.sort(ans["images"].ravel()), 1e-4, 1e-5)),
]


def load_dataset_check(tag, files, points, hidden=False):
    names = ", ".join(f"{name} ({count} images)" for name, count, _ in files)
    return check(
        id=f"part2.image_gen.{tag}",
        title=f"ImageGenerator.load_dataset on {len(files)} CIFAR-format file(s)",
        module=IMGEN, function="ImageGenerator.load_dataset", points=points, hidden=hidden,
        call=f"load_dataset([{names}]) with random pixels and labels 0..9",
        run=run_load_dataset(files),
        expect={"images": IMAGE_TOL, "labels": Exact()},
        hints=LOAD_HINTS,
    )


CHECKS = [
    schedule_check(100, points=2),
    add_noise_check("2d", (6, 5), 100, seed=1, points=2),
    add_noise_check("4d", (4, 3, 5, 6), 100, seed=2, points=2),
    denoise_check(56, False, points=2),
    denoise_check(1, False, points=1),
    denoise_check(0, False, points=1),
    denoise_check(56, True, points=2),
    denoise_check(0, True, points=1),
    loss_check("p0", 0.0, points=1),
    loss_check("p1", 1.0, points=1),
    loss_check("p05", 0.5, points=2),
    generate_check("w0", 0.0, False, points=2),
    generate_check("w2", 2.0, False, points=2),
    generate_check("w2_threshold", 2.0, True, points=1),
    check(
        id="part2.image_gen.fields",
        title="ImageGenerator: input_shape and condition_dim",
        module=IMGEN, function="ImageGenerator.__init__", points=1,
        call="ImageGenerator(denoising_steps=10, channels=8)",
        run=run_fields,
        expect={"input_shape": Exact(), "condition_dim": Exact()},
        hints=[Hint("condition_dim counts the three classes plus the null class 0.",
                    lambda got, ans: int(got["condition_dim"]) != int(ans["condition_dim"])),
               Hint("input_shape is one image, channels first: (3, 32, 32).",
                    lambda got, ans: list(got["input_shape"]) != list(ans["input_shape"]))],
    ),
    load_dataset_check("load_dataset", [("data_batch_1", 40, 1)], points=2),
]
