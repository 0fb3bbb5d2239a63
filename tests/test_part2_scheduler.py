"""The reference NoiseScheduler against diffusers' DDPMScheduler (an independent
implementation of the same paper), plus contract details of the reference modules.
diffusers is used offline: a scheduler needs no download."""
from __future__ import annotations

import os
import sys

import pytest
import torch

from tests.conftest import DEVICES
from tests.mutants import SOURCE

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(SOURCE))

import randomizer  # noqa: E402
from part2_diffusion.diffusion_model import DiffusionModel  # noqa: E402
from part2_diffusion.noise_scheduler import NoiseScheduler  # noqa: E402
from part2_diffusion.unet import TinyNoiseNet, UNet  # noqa: E402

diffusers_ddpm = pytest.importorskip("diffusers.schedulers.scheduling_ddpm")


def ddpm(num_steps, clip):
    return diffusers_ddpm.DDPMScheduler(num_train_timesteps=num_steps, beta_start=1e-4, beta_end=0.02,
                                        beta_schedule="linear", variance_type="fixed_large",
                                        clip_sample=clip, clip_sample_range=1.0, prediction_type="epsilon")


@pytest.mark.parametrize("num_steps", [50, 100, 1000])
def test_schedule_matches_diffusers(num_steps):
    ours, theirs = NoiseScheduler(num_steps), ddpm(num_steps, False)
    torch.testing.assert_close(ours.betas, theirs.betas, rtol=1e-6, atol=0)
    torch.testing.assert_close(ours.alphas, theirs.alphas, rtol=1e-6, atol=0)
    torch.testing.assert_close(ours.alpha_bars, theirs.alphas_cumprod, rtol=1e-5, atol=0)
    assert ours.alpha_bars.dtype == torch.float32 and ours.alpha_bars.shape == (num_steps,)


@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 8, 8), (5, 2, 7)])
def test_add_noise_matches_diffusers(shape):
    randomizer.seed(3)
    x0, noise = randomizer.randn(shape), randomizer.randn(shape)
    t = randomizer.randint(0, 100, (shape[0],))
    expected = ddpm(100, False).add_noise(x0, noise, t)
    torch.testing.assert_close(NoiseScheduler(100).add_noise(x0, noise, t), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("threshold", [False, True])
@pytest.mark.parametrize("t", [0, 1, 2, 30, 56, 99])
def test_denoise_step_matches_diffusers(t, threshold, monkeypatch):
    shape = (4, 3, 8, 8)
    randomizer.seed(7)
    x_t, eps = 3 * randomizer.randn(shape), randomizer.randn(shape)
    randomizer.seed(8)
    ours = NoiseScheduler(100).denoise_step(eps, t, x_t, threshold=threshold)
    randomizer.seed(8)
    z = randomizer.randn(shape)  # the z our step drew
    monkeypatch.setattr(diffusers_ddpm, "randn_tensor", lambda *a, **k: z.clone())
    theirs = ddpm(100, threshold).step(eps, t, x_t).prev_sample
    # diffusers recomputes beta_t from alpha_bars and takes the posterior-mean form; both divide
    # by 1 - alpha_bar_t, which amplifies the float32 rounding of alpha_bar (6e-8) near t = 0
    one_minus = float(1 - NoiseScheduler(100).alpha_bars[t])
    torch.testing.assert_close(ours, theirs, rtol=max(1e-5, 3e-7 / one_minus), atol=1e-5)
    if threshold:  # the clamp bites on these inputs
        x0_hat = (x_t - (1 - NoiseScheduler(100).alpha_bars[t]).sqrt() * eps) / NoiseScheduler(100).alpha_bars[t].sqrt()
        assert (x0_hat.abs() > 1).float().mean() > 0.3


def test_denoise_step_draws_noise_only_when_t_positive():
    scheduler = NoiseScheduler(10)
    x = randomizer.randn((2, 3))
    for t, draws in ((0, 0), (1, 1), (9, 1)):
        randomizer.seed(0)
        scheduler.denoise_step(torch.zeros_like(x), t, x)
        assert randomizer._state["counters"].get(("randn", (2, 3)), 0) == draws


def test_scheduler_rejects_bad_input():
    with pytest.raises(ValueError):
        NoiseScheduler(0)
    scheduler = NoiseScheduler(10)
    with pytest.raises(IndexError):
        scheduler.denoise_step(torch.zeros(2, 3), 10, torch.zeros(2, 3))
    with pytest.raises(ValueError):
        scheduler.add_noise(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize("device", DEVICES)
def test_reference_runs_on_device(device):
    """Every Part 2 result lives on the device of its inputs and matches the CPU result."""
    results = {}
    for dev in ("cpu", device):
        randomizer.seed(1)
        scheduler = NoiseScheduler(20, device=dev)
        x0 = randomizer.randn((4, 3, 32, 32), device=dev)
        x_t = scheduler.add_noise(x0, randomizer.randn(x0.shape, device=dev), randomizer.randint(0, 20, (4,), device=dev))
        step = scheduler.denoise_step(x0, 5, x_t, threshold=True)
        net = TinyNoiseNet((3, 32, 32), 20, 4)
        model = DiffusionModel(net, 20, p_uncond=0.5, input_shape=(3, 32, 32), device=dev)
        cond = torch.tensor([1, 2, 3, 1], device=dev)
        loss = model.compute_loss_on_batch(x0, cond)
        sample = model.generate_sample(cond, guidance_weight=2.0, threshold=True)
        for name, value in (("x_t", x_t), ("step", step), ("loss", loss), ("sample", sample)):
            assert value.device.type == torch.device(dev).type and value.dtype == torch.float32, name
        results[dev] = [v.cpu() for v in (x_t, step, loss, sample)]
    for a, b in zip(results["cpu"], results[device]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_unet_shapes_and_conditioning():
    torch.manual_seed(0)
    net = UNet(50, 4, channels=16)
    x = torch.randn(3, 3, 32, 32)
    t, cond = torch.tensor([0, 10, 49]), torch.tensor([0, 1, 3])
    assert net(x, t, cond).shape == x.shape
    for p in net.parameters():  # zero-initialised outputs hide the conditioning: perturb them
        p.data.add_(0.05 * torch.randn_like(p))
    out = net(x, t, cond)
    assert not torch.allclose(out, net(x, t, torch.tensor([0, 2, 3])))
    assert not torch.allclose(out, net(x, torch.tensor([1, 10, 49]), cond))
    with pytest.raises(TypeError):
        net(x, 5, cond)
    with pytest.raises(IndexError):
        net(x, torch.tensor([0, 10, 50]), cond)


def test_tiny_noise_net_is_deterministic_and_batch_independent():
    a, b = TinyNoiseNet((3, 4, 4), 10, 4), TinyNoiseNet((3, 4, 4), 10, 4)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    randomizer.seed(2)
    x = randomizer.randn((6, 3, 4, 4))
    t, c = torch.arange(6) % 10, torch.arange(6) % 4
    full = a(x, t, c)
    torch.testing.assert_close(full[:2], a(x[:2], t[:2], c[:2]), rtol=1e-6, atol=1e-6)
    assert not torch.allclose(full, TinyNoiseNet((3, 4, 4), 10, 4, variant=2)(x, t, c))
