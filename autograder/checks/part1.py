"""Public checks for Part 1 (a GAN on SVHN).

Each function is graded on its own: the loss checks run the student's
``discriminator_loss`` / ``generator_loss`` with a stand-in ``bce_loss`` put in the
module, and the ``train_gan`` checks run the student's loop on small instrumented
models, optimizers and loss functions with a stand-in ``sample_noise``, so one
mistake does not cost points twice. The stand-ins are deliberately not the answers
(this file ships with the student release): ``standin_loss`` is a mean over
elements like binary cross-entropy but a different function, and ``standin_noise``
is not uniform.

Nothing here imports torch at module level: the trusted parent only reads the
declarations; ``run`` functions execute in the sandboxed child.
"""
from __future__ import annotations

import numpy as np

from .api import Close, Hint, check
from .helpers import close, counted, patched
from .probes import GAN, standin_loss, standin_noise, train_gan_probe

# Tolerances (proven by tests/catalogue_part1.py: every valid variant passes, every
# mistake fails). Noise: 2 * r - 1, r * 2 - 1 and (r - 0.5) * 2 agree to an ulp.
NOISE_TOL = Close(rtol=1e-6, atol=1e-6)
# Losses: means of O(1) terms in float32 or float64, by any stable formula
# (softplus, logsigmoid, log1p or log(1 + exp)).
LOSS_TOL = Close(rtol=1e-5, atol=1e-6)
# Seconds a network check may always take (see net_checks).
NET_TIME_FLOOR_S = 30.0


# --------------------------------------------------------------------------- sample_noise

def run_noise(batch, dim, seed):
    def run(env):
        env.seed(seed)
        noise = env.module(GAN).sample_noise(batch, dim, device=env.device)
        env.seed(seed)
        r = env.randomizer.rand((batch, dim))
        return {"noise": noise, "rand01": r}
    return run


NOISE_HINTS = [
    Hint("Your values lie in [0, 1): they are the randomizer's values without the shift. "
         "Uniform on [-1, 1) is `2 * randomizer.rand(...) - 1`.",
         lambda got, ans: close(got["noise"], ans["rand01"])),
    Hint("The values have the right shape but are not the randomizer's: take them from "
         "`randomizer.rand((batch_size, dim), device=device)`, not from torch.rand / torch.randn, "
         "and draw exactly once with that shape.",
         lambda got, ans: got["noise"].shape == ans["noise"].shape
         and not close(got["noise"], ans["rand01"]) and not close(got["noise"], ans["noise"], 1e-3, 1e-3)),
    Hint("The values are the transposed shape's: the result must be (batch_size, dim).",
         lambda got, ans: got["noise"].shape == ans["noise"].shape[::-1]),
]


def noise_values_check(batch, dim, seed, points, hidden=False):
    return check(
        id=f"part1.sample_noise.values_{batch}x{dim}" if hidden else "part1.sample_noise.values",
        title=f"sample_noise: exact values through the randomizer ({batch} x {dim})",
        module=GAN, function="sample_noise", points=points, hidden=hidden,
        call=f"randomizer.seed({seed}); sample_noise({batch}, {dim}, device=device)",
        run=run_noise(batch, dim, seed),
        expect={"noise": NOISE_TOL},
        hints=NOISE_HINTS,
    )


def run_noise_contract(env):
    import torch

    module = env.module(GAN)
    out = {}
    for i, (batch, dim) in enumerate([(1, 3), (7, 96), (256, 5)]):
        env.seed(100 + i)
        noise = module.sample_noise(batch, dim, device=env.device)
        if not isinstance(noise, torch.Tensor):
            out[f"type_{i}"] = type(noise).__name__
            continue
        out[f"shape_{i}"] = list(noise.shape)
        out[f"want_{i}"] = [batch, dim]
        out[f"dtype_{i}"] = str(noise.dtype)
        out[f"device_ok_{i}"] = noise.device.type == torch.device(env.device).type
        out[f"min_{i}"] = float(noise.min()) if noise.numel() else 0.0
        out[f"max_{i}"] = float(noise.max()) if noise.numel() else 0.0
    # no device argument: the CPU
    noise = module.sample_noise(2, 4)
    out["default_cpu"] = isinstance(noise, torch.Tensor) and noise.device.type == "cpu"
    return out


def verify_noise_contract(got, ans):
    errors = []
    for i in range(3):
        if f"type_{i}" in got:
            errors.append(f"sample_noise returned a {got[f'type_{i}']}, expected a torch.Tensor")
            continue
        shape, want = list(got[f"shape_{i}"]), list(got[f"want_{i}"])
        call = f"sample_noise({want[0]}, {want[1]})"
        if shape != want:
            errors.append(f"{call}: expected shape {tuple(want)}, got {tuple(shape)}")
        dtype = got.text(f"dtype_{i}")
        if dtype != "torch.float32":
            errors.append(f"{call}: expected dtype torch.float32, got {dtype}")
        if not got.flag(f"device_ok_{i}"):
            errors.append(f"{call}: the result is not on the requested device "
                          "(pass device=device to randomizer.rand)")
        lo, hi = float(got[f"min_{i}"]), float(got[f"max_{i}"])
        if lo < -1 or hi >= 1:
            errors.append(f"{call}: values must lie in [-1, 1), got min {lo:.4g}, max {hi:.4g}")
        elif i > 0 and lo >= 0:
            errors.append(f"{call}: no negative values (min {lo:.4g}): uniform on [-1, 1) needs `2 * r - 1`")
        elif i == 2 and (lo > -0.9 or hi < 0.9):
            errors.append(f"{call}: 1280 uniform values on [-1, 1) should reach below -0.9 and above 0.9, "
                          f"got min {lo:.4g}, max {hi:.4g}: scale by 2 and shift by 1")
    if not got.flag("default_cpu"):
        errors.append("sample_noise(2, 4) without a device should return a CPU tensor")
    return errors


# --------------------------------------------------------------------------- networks

def _net_report(env, build, make_input, want_shape, batches=(1, 128)):
    """Output shapes/ranges (batch 1 in eval mode, others in train mode), gradient
    coverage and parameter count of a freshly built network."""
    import torch

    env.seed(0)
    out = {}
    net = build()
    if not isinstance(net, torch.nn.Module):
        return {"not_module": type(net).__name__}
    net = net.to(env.device)
    out["params"] = sum(p.numel() for p in net.parameters() if p.requires_grad)
    for batch in batches:
        net.train(batch > 1)
        y = net(make_input(batch))
        out[f"shape_{batch}"] = list(y.shape)
        out[f"want_{batch}"] = [batch, *want_shape]
        out[f"finite_{batch}"] = bool(torch.isfinite(y).all())
        out[f"min_{batch}"] = float(y.min())
        out[f"max_{batch}"] = float(y.max())
        out[f"device_ok_{batch}"] = y.device.type == torch.device(env.device).type
    net.train()
    net.zero_grad()
    y = net(make_input(16))
    (y.float() * torch.linspace(-1, 1, y.numel(), device=y.device).reshape(y.shape)).sum().backward()
    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    no_grad = [n for n, p in named if p.grad is None]
    bad_grad = [n for n, p in named if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
    out["n_param_tensors"] = len(named)
    out["no_grad"] = ", ".join(no_grad[:8]) + (" ..." if len(no_grad) > 8 else "")
    out["n_no_grad"] = len(no_grad)
    out["n_bad_grad"] = len(bad_grad)
    out["any_nonzero_grad"] = any(p.grad is not None and bool((p.grad != 0).any()) for _, p in named)
    out.update(_stress_report(net, make_input))
    return out


# Behaviour must hold for any weights, not only at the default initialisation: a
# generator without its final tanh, or a discriminator ending in a sigmoid, can look
# right at initialisation. The stress probe scales every weight and the input.
STRESS_WEIGHT_SCALE = 4.0
STRESS_INPUT_SCALE = 3.0


def _stress_report(net, make_input, batch=64):
    """Output range of a copy of ``net`` with every parameter scaled up (train mode)."""
    import copy

    import torch

    stressed = copy.deepcopy(net)
    with torch.no_grad():
        for param in stressed.parameters():
            param.mul_(STRESS_WEIGHT_SCALE)
        stressed.train()
        y = stressed(STRESS_INPUT_SCALE * make_input(batch)).float()
    finite = bool(torch.isfinite(y).all())
    return {"stress_finite": finite,
            "stress_min": float(y[torch.isfinite(y)].min()) if finite or bool(torch.isfinite(y).any()) else 0.0,
            "stress_max": float(y[torch.isfinite(y)].max()) if finite or bool(torch.isfinite(y).any()) else 0.0}


def run_discriminator(env):
    module = env.module(GAN)
    import torch

    return _net_report(env, module.discriminator,
                       lambda b: torch.tanh(env.randomizer.randn((b, 3, 32, 32), device=env.device)), [1])


def run_generator(noise_dim=None):
    def run(env):
        module = env.module(GAN)
        dim = noise_dim or 96
        build = (lambda: module.generator(noise_dim)) if noise_dim else module.generator
        return _net_report(env, build,
                           lambda b: standin_noise(env.randomizer, b, dim, env.device), [3, 32, 32])
    return run


def _not_module(got):
    if "not_module" in got:
        return [f"expected an nn.Module, got {got.text('not_module')}"]
    return None


def verify_net_output(name, batches=(1, 128), image=False):
    def verify(got, ans):
        early = _not_module(got)
        if early:
            return early
        errors = []
        for batch in batches:
            shape, want = list(got[f"shape_{batch}"]), list(got[f"want_{batch}"])
            mode = "eval mode" if batch == 1 else "train mode"
            if shape != want:
                errors.append(f"{name} on a batch of {batch} ({mode}): expected output shape "
                              f"{tuple(want)}, got {tuple(shape)}")
                continue
            if not got.flag(f"finite_{batch}"):
                errors.append(f"{name} on a batch of {batch}: the output has NaN or infinite values")
            if not got.flag(f"device_ok_{batch}"):
                errors.append(f"{name} on a batch of {batch}: the output is not on the input's device")
            lo, hi = float(got[f"min_{batch}"]), float(got[f"max_{batch}"])
            if image and (lo < -1 or hi > 1):
                errors.append(f"{name} on a batch of {batch}: images must lie in [-1, 1], got "
                              f"min {lo:.4g}, max {hi:.4g}: end the generator with nn.Tanh()")
            elif image and batch > 1 and lo >= -0.01:
                errors.append(f"{name} on a batch of {batch}: no image value below -0.01 (min {lo:.4g}, "
                              f"max {hi:.4g}); images live in [-1, 1], so end with nn.Tanh(), not a sigmoid")
        if not errors and "stress_min" in got:
            errors.extend(_verify_stress(name, got, image))
        return errors
    return verify


def _verify_stress(name, got, image):
    lo, hi = float(got["stress_min"]), float(got["stress_max"])
    scaled = (f"with every weight scaled by {STRESS_WEIGHT_SCALE:g} and the input by {STRESS_INPUT_SCALE:g} "
              "(as training may move them)")
    if image and (not got.flag("stress_finite") or lo < -1 or hi > 1):
        return [f"{name} {scaled}, the images reach min {lo:.4g}, max {hi:.4g}: they must stay in [-1, 1] "
                "for any weights, which only a final nn.Tanh() guarantees; at initialisation they "
                "happened to fit"]
    if not image and got.flag("stress_finite") and lo >= 0 and hi <= 1:
        return [f"{name} {scaled}, every output stays in [0, 1] (min {lo:.4g}, max {hi:.4g}): these look like "
                "probabilities. Return raw logits (no final sigmoid): bce_loss applies the sigmoid itself"]
    return []


def verify_net_gradients(name):
    def verify(got, ans):
        early = _not_module(got)
        if early:
            return early
        errors = []
        if got.integer("n_param_tensors") == 0:
            return [f"{name} has no trainable parameters"]
        if got.integer("n_no_grad") > 0:
            errors.append(f"{name}: {got.integer('n_no_grad')} parameter tensor(s) got no gradient from "
                          f"the output ({got.text('no_grad')}): every layer you create must be used in "
                          "forward, and nothing may be detached or wrapped in torch.no_grad()")
        if got.integer("n_bad_grad") > 0:
            errors.append(f"{name}: {got.integer('n_bad_grad')} parameter tensor(s) got NaN or infinite gradients")
        if not got.flag("any_nonzero_grad"):
            errors.append(f"{name}: every gradient is zero; the output does not depend on the parameters")
        return errors
    return verify


def verify_budget(name, limit):
    def verify(got, ans):
        early = _not_module(got)
        if early:
            return early
        count = got.integer("params")
        if count > limit:
            return [f"{name} has {count:,} trainable parameters; the budget is {limit:,}. "
                    "Use fewer channels or a smaller linear layer."]
        return []
    return verify


def net_checks(kind, hidden=False):
    """Output, gradient and budget checks for ``discriminator`` or ``generator``."""
    if kind == "discriminator":
        run, label, limit = run_discriminator, "D", 2_000_000
        call = "D = discriminator(); D(x) for x of shape (128, 3, 32, 32) (train mode) and (1, 3, 32, 32) (eval mode)"
        image = False
    else:
        run, label, limit = run_generator(), "G", 4_000_000
        call = "G = generator(); G(z) for z of shape (128, 96) (train mode) and (1, 96) (eval mode)"
        image = True
    function = kind
    # A valid network may cost many times the reference's time (wide layers at full
    # resolution fit the parameter budget), so these checks get a higher floor.
    floor = NET_TIME_FLOOR_S
    return [
        check(id=f"part1.{kind}.output", title=f"{kind}: output shape and range for batches of 1 and 128",
              module=GAN, function=function, points=2, call=call, run=run,
              verify=verify_net_output(label, image=image), needs_answers=False, timeout=floor),
        check(id=f"part1.{kind}.gradients", title=f"{kind}: gradients reach every parameter",
              module=GAN, function=function, points=1, call=f"{call}; backward of a weighted sum of the outputs",
              run=run, verify=verify_net_gradients(label), needs_answers=False, timeout=floor),
        check(id=f"part1.{kind}.budget", title=f"{kind}: at most {limit:,} parameters",
              module=GAN, function=function, points=1, call=f"{kind}()", run=run,
              verify=verify_budget(label, limit), needs_answers=False, timeout=floor),
    ]


# --------------------------------------------------------------------------- losses

def loss_inputs(env, shape, seed, scale=1.5, soft=False):
    import torch

    env.seed(seed)
    logits = scale * env.randomizer.randn(shape, device=env.device)
    if soft:
        target = env.randomizer.rand(shape, device=env.device)
    else:
        target = (env.randomizer.rand(shape, device=env.device) < 0.5).float()
    return logits, target.to(torch.float32)


def run_bce(shape, seed, scale=1.5, soft=False, extra=None):
    def run(env):
        logits, target = loss_inputs(env, shape, seed, scale, soft)
        if extra is not None:
            logits = extra(logits)
        bce = env.module(GAN).bce_loss
        out = {"loss": bce(logits, target), "n": logits.numel(),
               "st": (logits.double() * target.double()).mean()}  # of the inputs, for a hint's yardstick
        if extra is not None:  # the same targets with ordinary logits: tells overflow from other mistakes
            out["moderate"] = bce(logits.clamp(-10, 10), target)
        try:  # the student's own loss of the negated logits (for the reference: a hint's yardstick)
            out["flipped"] = bce(-logits, target)
        except Exception:
            pass
        return out
    return run


def big_logits(logits):
    """Logits of magnitude 100 to 1000, both signs, some near 0."""
    import torch

    flat = logits.reshape(-1).clone()
    n = flat.numel()
    flat[: n // 2] = torch.sign(flat[: n // 2]) * (100 + 900 * flat[: n // 2].abs() / (flat.abs().max() + 1e-6))
    return flat.reshape(logits.shape)


BCE_HINTS = [
    Hint("Your loss is the sum over elements; bce_loss is the mean (divide by the number of elements).",
         lambda got, ans: close(got["loss"], ans["loss"] * float(ans["n"]), 1e-4, 1e-5)),
    Hint("Your loss equals the loss of the negated logits: check the sign of the `- s * t` term "
         "(stable form: max(s, 0) - s * t + log(1 + exp(-|s|))).",
         lambda got, ans: close(got["loss"], ans["flipped"], 1e-4, 1e-5)),
    Hint("Your loss is the stable formula with + s * t: check the sign of the s * t term "
         "(binary cross-entropy with logits is max(s, 0) - s * t + log(1 + exp(-|s|))).",
         lambda got, ans: close(got["loss"], ans["loss"] + 2 * ans["st"], 1e-4, 1e-5)),
    Hint("The loss came out negative; binary cross-entropy is never negative. Check the signs.",
         lambda got, ans: float(np.asarray(got["loss"]).reshape(-1)[0]) < 0),
]

BIG_HINTS = BCE_HINTS + [
    # Only when it is the large logits that break the loss: not finite, or right for
    # ordinary logits and wrong for these.
    Hint("With logits of magnitude 100+, sigmoid(s) rounds to exactly 0 or 1 and log(0) = -inf. "
         "Do not take the log of a sigmoid: use max(s, 0) - s * t + log(1 + exp(-|s|)), which never "
         "overflows (torch.log1p helps keep it accurate).",
         lambda got, ans: not np.all(np.isfinite(got["loss"]))
         or (close(got["moderate"], ans["moderate"], 1e-4, 1e-5)
             and not close(got["loss"], ans["loss"], 1e-3, 1e-3))),
]


def bce_check(cid, title, shape, seed, points, hidden=False, scale=1.5, soft=False, extra=None,
              call_extra="", hints=BCE_HINTS):
    target = "t = rand(shape)" if soft else "t = (rand(shape) < 0.5).float()"
    return check(
        id=cid, title=title, module=GAN, function="bce_loss", points=points, hidden=hidden,
        call=f"randomizer.seed({seed}); s = {scale} * randn({shape}); {target}{call_extra}; bce_loss(s, t)",
        run=run_bce(shape, seed, scale, soft, extra),
        expect={"loss": LOSS_TOL}, hints=hints,
    )


def run_d_loss(shape, seed, scale=2.0):
    def run(env):
        import torch

        env.seed(seed)
        real = scale * env.randomizer.randn(shape, device=env.device) + 1
        fake = scale * env.randomizer.randn(shape, device=env.device) - 1
        module = env.module(GAN)
        bce = counted(standin_loss)
        with patched(module, bce_loss=bce):
            loss = module.discriminator_loss(real, fake)
        ones, zeros = torch.ones_like(real), torch.zeros_like(real)
        return {"loss": loss, "bce_calls": bce.calls,
                "swapped": standin_loss(real, zeros) + standin_loss(fake, ones),
                "real_only": standin_loss(real, ones), "fake_only": standin_loss(fake, zeros)}
    return run


def _bce_not_called(function):
    return Hint(f"{function} never called bce_loss. Build it from bce_loss, as its docstring says: "
                "the check puts a stand-in loss in place of bce_loss, so that a mistake in bce_loss "
                f"costs only bce_loss's points, and a {function} that computes the cross-entropy "
                "itself cannot be graded on its own.",
                lambda got, ans: got.integer("bce_calls", 1) == 0)


D_LOSS_HINTS = [
    _bce_not_called("discriminator_loss"),
    Hint("Real and fake labels are swapped: real images get target 1, fakes target 0.",
         lambda got, ans: close(got["loss"], ans["swapped"], 1e-4, 1e-5)),
    Hint("Your loss is half the expected one: the discriminator loss is the sum of the two means, "
         "not their average.",
         lambda got, ans: close(2 * got["loss"], ans["loss"], 1e-4, 1e-5)),
    Hint("Your loss is only one of the two terms: add bce_loss(logits_real, 1) and bce_loss(logits_fake, 0).",
         lambda got, ans: close(got["loss"], ans["real_only"], 1e-4, 1e-5)
         or close(got["loss"], ans["fake_only"], 1e-4, 1e-5)),
]


def d_loss_check(cid, shape, seed, points, hidden=False):
    return check(
        id=cid, title=f"discriminator_loss: values ({shape[0]} real and {shape[0]} fake logits)",
        module=GAN, function="discriminator_loss", points=points, hidden=hidden,
        call=f"randomizer.seed({seed}); real = 2 * randn({shape}) + 1; fake = 2 * randn({shape}) - 1; "
             "discriminator_loss(real, fake), with a stand-in loss (not binary cross-entropy) as bce_loss",
        run=run_d_loss(shape, seed), expect={"loss": LOSS_TOL}, hints=D_LOSS_HINTS,
    )


def run_g_loss(shape, seed, scale=2.0):
    def run(env):
        import torch

        env.seed(seed)
        fake = scale * env.randomizer.randn(shape, device=env.device)
        module = env.module(GAN)
        bce = counted(standin_loss)
        with patched(module, bce_loss=bce):
            loss = module.generator_loss(fake)
        return {"loss": loss, "bce_calls": bce.calls,
                "target0": standin_loss(fake, torch.zeros_like(fake)),
                "minimax": -standin_loss(fake, torch.zeros_like(fake))}
    return run


G_LOSS_HINTS = [
    _bce_not_called("generator_loss"),
    Hint("This is bce_loss(logits_fake, 0): the generator wants its fakes classified as real, target 1.",
         lambda got, ans: close(got["loss"], ans["target0"], 1e-4, 1e-5)),
    Hint("This is the minimax loss -bce_loss(logits_fake, 0) = mean(log(1 - D(G(z)))), whose gradient "
         "vanishes while D wins; use the non-saturating loss bce_loss(logits_fake, 1).",
         lambda got, ans: close(got["loss"], ans["minimax"], 1e-4, 1e-5)),
]


def g_loss_check(cid, shape, seed, points, hidden=False):
    return check(
        id=cid, title=f"generator_loss: values ({shape[0]} fake logits)",
        module=GAN, function="generator_loss", points=points, hidden=hidden,
        call=f"randomizer.seed({seed}); fake = 2 * randn({shape}); generator_loss(fake), with a stand-in loss (not binary cross-entropy) as bce_loss",
        run=run_g_loss(shape, seed), expect={"loss": LOSS_TOL}, hints=G_LOSS_HINTS,
    )


# --------------------------------------------------------------------------- optimizer

def run_optimizer(env):
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    opt = env.module(GAN).get_optimizer(model)
    out = {"type": type(opt).__name__, "is_adam": isinstance(opt, torch.optim.Adam)}
    if not isinstance(opt, torch.optim.Optimizer):
        return out
    groups = opt.param_groups
    out["lrs"] = [float(g.get("lr", float("nan"))) for g in groups]
    out["beta1"] = [float(g.get("betas", (float("nan"),) * 2)[0]) for g in groups]
    out["beta2"] = [float(g.get("betas", (float("nan"),) * 2)[1]) for g in groups]
    out["weight_decay"] = [float(g.get("weight_decay", 0.0)) for g in groups]
    held = {id(p) for g in groups for p in g["params"]}
    out["covers_all"] = all(id(p) in held for p in model.parameters())
    out["only_model"] = held <= {id(p) for p in model.parameters()}
    return out


def verify_optimizer(got, ans):
    if not got.flag("is_adam"):
        return [f"expected a torch.optim.Adam, got {got.text('type')}"]
    errors = []
    lrs, b1, b2 = got["lrs"], got["beta1"], got["beta2"]
    if not np.allclose(lrs, 1e-3, rtol=1e-9, atol=0):
        errors.append(f"learning rate: expected 0.001, got {', '.join(f'{v:g}' for v in lrs)}")
    if not (np.allclose(b1, 0.5, rtol=1e-9, atol=0) and np.allclose(b2, 0.999, rtol=1e-9, atol=0)):
        pairs = ", ".join(f"({a:g}, {b:g})" for a, b in zip(b1, b2))
        errors.append(f"betas: expected (0.5, 0.999), got {pairs}")
    if np.any(np.asarray(got["weight_decay"]) != 0):
        errors.append(f"weight_decay: expected 0, got {got['weight_decay'].tolist()}")
    if not got.flag("covers_all"):
        errors.append("the optimizer does not hold all of model.parameters()")
    if not got.flag("only_model"):
        errors.append("the optimizer holds tensors that are not the model's parameters")
    return errors


# --------------------------------------------------------------------------- train_gan


def run_train_gan(**kwargs):
    return lambda env: train_gan_probe(env, **kwargs)


def verify_real_images(got, ans):
    errors = []
    if got.integer("real_scaled") == 0:
        if got.integer("real_unscaled") > 0:
            return ["D was given the real images as loaded, in [0, 1]; the networks work in [-1, 1]: "
                    "pass preprocess_img(x) = 2 * x - 1 to D"]
        return ["D never saw the real batch rescaled to [-1, 1] (2 * x - 1)"]
    if got.integer("real_unscaled") > 0:
        errors.append("D also saw real images in [0, 1]: every real batch must be rescaled with 2 * x - 1")
    if got.integer("real_scaled") < got.integer("full_iters"):
        errors.append(f"D saw {got.integer('real_scaled')} rescaled real batches in "
                      f"{got.integer('full_iters')} iterations: one per iteration")
    return errors


def verify_detached(got, ans):
    if got.integer("dloss_calls") == 0:
        return ["train_gan never called the discriminator_loss it was given"]
    n = got.integer("dloss_reaches_G")
    if n:
        return [f"in {n} of {got.integer('dloss_calls')} discriminator steps the loss reaches G's parameters: "
                "feed D `fake_images.detach()` (or make them under torch.no_grad()) so that the "
                "discriminator step trains D only"]
    return []


def _steps_msgs(got, who, want):
    steps = got.integer(f"{who.lower()}_steps")
    msgs = []
    if steps != want:
        msgs.append(f"{who}_solver.step() was called {steps} times in {want} iterations: once per iteration")
    return msgs


def verify_d_step(got, ans):
    want = got.integer("full_iters")
    if got.integer("dloss_calls") == 0:
        return ["train_gan never called the discriminator_loss it was given (use the argument, "
                "not the module's function of the same name)"]
    errors = _steps_msgs(got, "D", want)
    ok, steps = got.integer("d_grad_ok"), got.integer("d_steps")
    if steps and ok < steps:
        errors.append(f"at {steps - ok} of {steps} D_solver.step() calls, D's gradients were not those of "
                      f"that step's discriminator loss ({got.text('d_grad_msg')}): call D_solver.zero_grad() "
                      "before d_total_error.backward(), and step D before computing the generator loss")
    if not got.flag("order_ok"):
        errors.append("the steps are out of order: each iteration is one D step, then one G step")
    return errors


def verify_g_step(got, ans):
    want = got.integer("full_iters")
    if got.integer("gloss_calls") == 0:
        return ["train_gan never called the generator_loss it was given (use the argument, "
                "not the module's function of the same name)"]
    errors = _steps_msgs(got, "G", want)
    if got.integer("gloss_no_G"):
        errors.append(f"in {got.integer('gloss_no_G')} generator steps the loss does not reach G's parameters: "
                      "the generator step must use fakes that are NOT detached")
    ok, steps = got.integer("g_grad_ok"), got.integer("g_steps")
    if steps and ok < steps and not got.integer("gloss_no_G"):
        errors.append(f"at {steps - ok} of {steps} G_solver.step() calls, G's gradients were not those of "
                      f"that step's generator loss ({got.text('g_grad_msg')}): call G_solver.zero_grad() "
                      "before g_error.backward()")
    return errors


def verify_noise_use(got, ans):
    calls, matched = got.integer("g_calls"), got.integer("g_inputs_from_noise")
    if calls == 0:
        return ["G was never called"]
    errors = []
    if not got.flag("g_input_shape_ok"):
        errors.append("G's input must be sample_noise(batch_size, noise_size): shape (batch_size, noise_size)")
    elif matched < calls:
        errors.append(f"{calls - matched} of G's {calls} inputs did not come from sample_noise(batch_size, "
                      "noise_size, device=device): take the noise from sample_noise, not torch.rand/randn")
    return errors


def verify_snapshots(got, ans):
    if not got.flag("is_list"):
        return ["train_gan must return a list of image batches"]
    errors = []
    n, want = got.integer("n_snapshots"), got.integer("want_snapshots")
    if n != want:
        errors.append(f"expected {want} snapshots (iterations 0, show_every, 2 * show_every, ...), got {n}")
    if n and not got.flag("snapshots_numpy"):
        errors.append("snapshots must be numpy arrays (.detach().cpu().numpy())")
    elif n and not got.flag("snapshot_shapes_ok"):
        errors.append("each snapshot must have shape (up to 16, 3, 32, 32)")
    elif n and not got.flag("snapshot_range_ok"):
        errors.append("snapshot images must be finite and in [0, 1] (deprocess_img)")
    return errors


TRAIN_CALL = ("train_gan on small instrumented D, G, SGD optimizers and loss functions; a list of 3 batches "
              "of 4 images (3, 32, 32) in [0, 1]; batch_size=4, noise_size=8, num_epochs=2, show_every=2")


def train_checks():
    run = run_train_gan()
    spec = [
        ("real_images", "train_gan: D sees the real images rescaled to [-1, 1]", 1, verify_real_images),
        ("detached", "train_gan: the discriminator step does not reach G (detached fakes)", 1, verify_detached),
        ("d_step", "train_gan: each D step zeroes, back-propagates and steps D only", 2, verify_d_step),
        ("g_step", "train_gan: each G step zeroes, back-propagates and steps G only", 2, verify_g_step),
        ("noise", "train_gan: G's input comes from sample_noise", 1, verify_noise_use),
        ("snapshots", "train_gan: returns the snapshots as numpy arrays", 1, verify_snapshots),
    ]
    return [check(id=f"part1.train_gan.{name}", title=title, module=GAN, function="train_gan",
                  points=points, call=TRAIN_CALL, run=run, verify=verify, needs_answers=False)
            for name, title, points, verify in spec]


CHECKS = [
    noise_values_check(8, 96, 0, points=2),
    check(id="part1.sample_noise.contract", title="sample_noise: shape, dtype, device and range",
          module=GAN, function="sample_noise", points=1,
          call="sample_noise(1, 3), sample_noise(7, 96), sample_noise(256, 5) on the device; sample_noise(2, 4)",
          run=run_noise_contract, verify=verify_noise_contract, needs_answers=False),
    *net_checks("discriminator"),
    *net_checks("generator"),
    bce_check("part1.bce_loss.values", "bce_loss: values on binary targets", (64, 1), 1, points=2),
    bce_check("part1.bce_loss.large_logits", "bce_loss: finite and correct for logits of magnitude 100+",
              (32, 1), 2, points=1, extra=big_logits, call_extra="; s[:16] scaled to magnitudes 100..1000",
              hints=BIG_HINTS),
    d_loss_check("part1.discriminator_loss.values", (64, 1), 3, points=2),
    g_loss_check("part1.generator_loss.values", (64, 1), 4, points=2),
    check(id="part1.get_optimizer.adam", title="get_optimizer: Adam with lr 1e-3 and betas (0.5, 0.999)",
          module=GAN, function="get_optimizer", points=1,
          call="get_optimizer(a small nn.Sequential)", run=run_optimizer, verify=verify_optimizer,
          needs_answers=False),
    *train_checks(),
]
