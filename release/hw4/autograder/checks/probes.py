"""Probes for HW4's checks: stand-ins for student functions and instrumented objects
that record how the student's code uses them. They run in the sandboxed child (torch
is imported inside each function), and they ship with the student release, so none
of them computes an answer: each stand-in is deliberately a different function from
the one it stands in for (tests/test_public_helpers.py proves it earns nothing).

* Part 1: ``standin_loss`` / ``standin_noise`` (for ``bce_loss`` / ``sample_noise``
  while grading their callers) and ``train_gan_probe``: the student's ``train_gan``
  on tiny networks, losses and optimizers that log every event, summarised by
  ``summarize``.
* Part 2: ``standin_schedule`` (a cosine schedule), ``probe_scheduler`` (a
  NoiseScheduler with non-DDPM steps that records its calls), ``recording_net`` (a
  TinyNoiseNet that records its inputs) and ``diffusion_model`` (the student's
  DiffusionModel on both).
"""
from __future__ import annotations

import numpy as np

from .api import StudentError
from .helpers import patched

GAN = "part1_gans/gan_pytorch.py"
MODEL = "part2_diffusion/diffusion_model.py"
UNET = "part2_diffusion/unet.py"
# How close a gradient at an optimizer step must be to its loss's gradient.
GRAD_RTOL = 1e-4


# --------------------------------------------------------------------------- Part 1

def standin_loss(input, target):
    """Stands in for the student's ``bce_loss`` while grading the functions that call
    it: a mean over elements, like bce_loss, but NOT binary cross-entropy (the squared
    distance between tanh(s / 2) and the target mapped to [-1, 1])."""
    import torch

    return ((torch.tanh(0.5 * input) - (2 * target - 1)) ** 2).mean()


def standin_noise(randomizer, batch_size, dim, device=None):
    """Stands in for the student's ``sample_noise`` while grading ``train_gan`` and the
    networks: 1.5 * tanh of a normal draw, deliberately not the uniform noise on
    [-1, 1) asked for."""
    import torch

    return 1.5 * torch.tanh(randomizer.randn((batch_size, dim), device=device))


FREED_GRAPH = (
    "train_gan: a backward pass went through a graph that an earlier backward pass had already freed "
    "(PyTorch: \"Trying to backward through the graph a second time\"). Most often the fakes fed to D in "
    "the discriminator step are not detached, so d_total_error.backward() also runs back through G and "
    "frees its graph before the generator step needs it: give D `fake_images.detach()` in the "
    "discriminator step. Do not add retain_graph=True: it hides the mistake (D's loss would then train G).")


def train_gan_probe(env, batch=4, n_batches=3, epochs=2, show_every=2, noise=8, seed=0):
    """Run the student's train_gan on tiny instrumented models; return what it did.

    D and G are small but real networks whose forward passes, the loss functions
    passed in and the two optimizers record every event. ``sample_noise`` is
    ``standin_noise`` for the duration, so the student's own is graded separately.
    """
    import torch
    import torch.nn as nn

    module = env.module(GAN)
    rnd = env.randomizer
    dev = torch.device(env.device)
    env.seed(seed)
    batches = [(rnd.rand((batch, 3, 32, 32)), torch.zeros(batch, dtype=torch.int64)) for _ in range(n_batches)]
    events: list[tuple] = []

    class ProbeD(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 4, stride=4), nn.LeakyReLU(0.01), nn.Flatten(),
                                      nn.Linear(4 * 8 * 8, 1))

        def forward(self, x):
            kind = "other"
            cpu = x.detach().float().cpu()
            for xb, _ in batches:
                if cpu.shape == xb.shape:
                    if torch.allclose(cpu, 2 * xb - 1, atol=1e-6):
                        kind = "real_scaled"
                    elif torch.allclose(cpu, xb, atol=1e-6):
                        kind = "real_unscaled"
            events.append(("D", kind, tuple(x.shape)))
            return self.body(x)

    class ProbeG(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(noise, 3 * 8 * 8), nn.Tanh())
            self.inputs: list = []

        def forward(self, z):
            self.inputs.append(z.detach().float().cpu().clone())
            y = self.body(z).reshape(-1, 3, 8, 8)
            y = torch.nn.functional.interpolate(y, scale_factor=4, mode="nearest")  # (B, 3, 32, 32)
            events.append(("G", "z", tuple(z.shape)))
            return y

    D, G = ProbeD().to(dev), ProbeG().to(dev)
    d_params, g_params = list(D.parameters()), list(G.parameters())
    expected = {}

    def grads_of(loss, params):
        found = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        return [None if g is None else g.detach().clone() for g in found]

    def d_loss(logits_real, logits_fake):
        loss = (standin_loss(logits_real, torch.ones_like(logits_real))
                + standin_loss(logits_fake, torch.zeros_like(logits_fake)))
        reaches_g = loss.requires_grad and any(g is not None for g in grads_of(loss, g_params))
        expected["D"] = grads_of(loss, d_params) if loss.requires_grad else None
        events.append(("dloss", "reaches_G" if reaches_g else "detached", ()))
        return loss

    def g_loss(logits_fake):
        loss = standin_loss(logits_fake, torch.ones_like(logits_fake))
        grads = grads_of(loss, g_params) if loss.requires_grad else [None] * len(g_params)
        expected["G"] = grads
        events.append(("gloss", "reaches_G" if any(g is not None for g in grads) else "no_G", ()))
        return loss

    class ProbeSGD(torch.optim.SGD):
        def __init__(self, params, name, own):
            super().__init__(params, lr=0.01)
            self.name, self.own = name, own

        def zero_grad(self, set_to_none=True):
            events.append((self.name + "_solver", "zero_grad", ()))
            return super().zero_grad(set_to_none)

        def step(self, closure=None):
            want = expected.get(self.name)
            if want is None:
                verdict = "the step came before any of its loss had been computed"
            else:
                worst = 0.0
                for p, g in zip(self.own, want):
                    have = p.grad if p.grad is not None else torch.zeros_like(p)
                    ref = g if g is not None else torch.zeros_like(p)
                    scale = float(ref.abs().max()) + 1e-8
                    worst = max(worst, float((have - ref).abs().max()) / scale)
                verdict = "grad_ok" if worst <= GRAD_RTOL else f"largest relative difference {worst:.3g}"
            events.append((self.name + "_solver", "step", verdict))
            return super().step(closure)

    D_solver, G_solver = ProbeSGD(d_params, "D", d_params), ProbeSGD(g_params, "G", g_params)
    env.seed(seed + 1)

    with patched(module, sample_noise=lambda batch_size, dim, device=None: standin_noise(rnd, batch_size, dim, device)):
        try:
            result = module.train_gan(D, G, D_solver, G_solver, d_loss, g_loss, batches,
                                      show_every=show_every, batch_size=batch, noise_size=noise,
                                      num_epochs=epochs, device=dev)
        except RuntimeError as error:
            if "backward through the graph a second time" in str(error):
                raise StudentError(FREED_GRAPH) from None
            raise
    return summarize(events, result, G.inputs, batch, noise, seed + 1, env, n_batches * epochs, show_every)


def summarize(events, result, g_inputs, batch, noise, noise_seed, env, full_iters, show_every):
    """Split the event log into iterations (each ends with a G step) and judge each."""
    import torch

    out = {}
    d_steps = [e for e in events if e[0] == "D_solver" and e[1] == "step"]
    g_steps = [e for e in events if e[0] == "G_solver" and e[1] == "step"]
    out["d_steps"], out["g_steps"] = len(d_steps), len(g_steps)
    out["full_iters"] = full_iters
    out["d_grad_ok"] = sum(e[2] == "grad_ok" for e in d_steps)
    out["g_grad_ok"] = sum(e[2] == "grad_ok" for e in g_steps)
    out["d_grad_msg"] = next((e[2] for e in d_steps if e[2] != "grad_ok"), "")
    out["g_grad_msg"] = next((e[2] for e in g_steps if e[2] != "grad_ok"), "")
    out["dloss_calls"] = sum(e[0] == "dloss" for e in events)
    out["gloss_calls"] = sum(e[0] == "gloss" for e in events)
    out["dloss_reaches_G"] = sum(e[0] == "dloss" and e[1] == "reaches_G" for e in events)
    out["gloss_no_G"] = sum(e[0] == "gloss" and e[1] == "no_G" for e in events)
    out["real_scaled"] = sum(e[0] == "D" and e[1] == "real_scaled" for e in events)
    out["real_unscaled"] = sum(e[0] == "D" and e[1] == "real_unscaled" for e in events)
    # order: within each iteration the D step comes before the G step
    steps = [e[0] for e in events if e[1] == "step"]
    out["order_ok"] = steps == ["D_solver", "G_solver"] * (len(steps) // 2) and len(steps) % 2 == 0
    # noise: every G input is one of the randomizer's draws of shape (batch, noise), in order
    env.seed(noise_seed)
    draws = [standin_noise(env.randomizer, batch, noise) for _ in range(max(1, len(g_inputs)))]
    matched, k = 0, 0
    for z in g_inputs:
        while k < len(draws) and not (z.shape == draws[k].shape and torch.allclose(z, draws[k], atol=1e-6)):
            k += 1
        if k < len(draws):
            matched += 1
            k += 1
    out["g_calls"], out["g_inputs_from_noise"] = len(g_inputs), matched
    out["g_input_shape_ok"] = all(tuple(z.shape) == (batch, noise) for z in g_inputs)
    # snapshots
    out["is_list"] = isinstance(result, list)
    snaps = list(result) if isinstance(result, (list, tuple)) else []
    out["n_snapshots"] = len(snaps)
    out["want_snapshots"] = (full_iters + show_every - 1) // show_every
    out["snapshots_numpy"] = all(isinstance(s, np.ndarray) for s in snaps)
    out["snapshot_shapes_ok"] = all(isinstance(s, np.ndarray) and s.ndim == 4 and s.shape[1:] == (3, 32, 32)
                                    and 1 <= s.shape[0] <= batch for s in snaps)
    out["snapshot_range_ok"] = all(isinstance(s, np.ndarray) and s.size and np.isfinite(s).all()
                                   and s.min() >= 0 and s.max() <= 1 for s in snaps)
    return out


# --------------------------------------------------------------------------- Part 2

def standin_schedule(num_steps: int, device):
    """(betas, alphas, alpha_bars) of a cosine schedule (Nichol and Dhariwal 2021, eq. 17,
    without the offset), from its closed form in float64: alpha_bar_t = cos^2(pi/2 (t+1)/(T+1)),
    alpha_t = alpha_bar_t / alpha_bar_{t-1}, beta_t = 1 - alpha_t. Consistent, like DDPM's,
    but not the linear schedule that NoiseScheduler.__init__ computes."""
    import math

    import torch

    steps = torch.arange(0, num_steps + 1, dtype=torch.float64)
    bars = torch.cos(0.5 * math.pi * steps / (num_steps + 1)) ** 2   # bars[0] = 1: alpha_bar_{-1}
    alpha_bars = bars[1:]
    alphas = bars[1:] / bars[:-1]
    betas = 1 - alphas
    return betas.float().to(device), alphas.float().to(device), alpha_bars.float().to(device)


def probe_scheduler(env, num_steps: int):
    """A stand-in NoiseScheduler with the cosine schedule and deliberately non-DDPM
    forward and reverse steps, that records how it is called."""
    import torch

    randomizer = env.randomizer

    class ProbeScheduler:
        def __init__(self):
            self.num_steps, self.device = num_steps, env.device
            self.betas, self.alphas, self.alpha_bars = standin_schedule(num_steps, env.device)
            self.add_noise_calls = 0
            self.noises: list = []
            self.steps: list[int] = []
            self.thresholds: list[int] = []

        def add_noise(self, original_samples, noise, timesteps):
            self.add_noise_calls += 1
            self.noises.append(noise.detach().float().cpu().clone())
            if noise.shape != original_samples.shape or timesteps.shape != original_samples.shape[:1]:
                raise ValueError(f"add_noise got samples {tuple(original_samples.shape)}, noise "
                                 f"{tuple(noise.shape)}, timesteps {tuple(timesteps.shape)}")
            # deliberately not DDPM's forward process: a linear interpolation in t
            c = ((timesteps + 1).float() / (num_steps + 1)).reshape(-1, *([1] * (original_samples.dim() - 1)))
            return (1 - c) * original_samples + c * noise

        def denoise_step(self, model_prediction, t, x_t, threshold=False):
            t = int(t)
            self.steps.append(t)
            self.thresholds.append(int(bool(threshold)))
            if model_prediction.shape != x_t.shape:
                raise ValueError(f"denoise_step got model_prediction {tuple(model_prediction.shape)} "
                                 f"and x_t {tuple(x_t.shape)}")
            out = 0.95 * x_t - 0.3 * (t + 1) / num_steps * model_prediction
            if threshold:
                out = torch.tanh(out)
            if t > 0:
                out = out + 0.2 * randomizer.randn(x_t.shape, device=x_t.device)
            return out

    return ProbeScheduler()


def recording_net(env, input_shape, num_steps, variant=0):
    """TinyNoiseNet wrapped so that the check sees every call."""
    import torch.nn as nn

    tiny = env.module(UNET).TinyNoiseNet

    class Recorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = tiny(input_shape, num_steps, 4, variant=variant)
            self.calls = []

        def forward(self, x, t, cond):
            out = self.inner(x, t, cond)
            self.calls.append((t.detach().cpu().clone(), cond.detach().cpu().clone()))
            return out

    return Recorder().to(env.device)


def diffusion_model(env, num_steps, p_uncond, input_shape, train_variant=1):
    """The student's DiffusionModel on a recording TinyNoiseNet and a ProbeScheduler."""
    module = env.module(MODEL)
    probe = probe_scheduler(env, num_steps)
    net = recording_net(env, input_shape, num_steps, variant=train_variant)
    model = module.DiffusionModel(net, num_steps, p_uncond=p_uncond, input_shape=input_shape,
                                  device=env.device, noise_scheduler=probe)
    return model, probe, net
