"""Diffusion benchmarks (part of ``make bench``; ``make gpu-check`` runs them on CUDA).

* training throughput of the reference U-Net (the ImageGenerator default, 64 base
  channels) at batch 64: images per second for loss + backward + Adam step;
* sampling time with classifier-free guidance, the conditional and unconditional
  predictions batched into one forward pass of 2B samples (the reference
  ``generate_sample``) against two forward passes of B, and their ratio
  (target: at least 1.6x where the network is not compute-bound, i.e. on a GPU).

Run: ``python -m autograder bench-diffusion [--device cpu|cuda] [--quick]``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]  # source/hw4: this file lives in its instructor/ folder
TARGET_RATIO = 1.6


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device, repeats: int) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs, after one warm-up run."""
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def training_throughput(device, channels=64, batch=64, steps=3) -> float:
    import torch

    import randomizer
    from part2_diffusion.diffusion_model import DiffusionModel
    from part2_diffusion.unet import UNet

    torch.manual_seed(0)
    randomizer.seed(0)
    model = DiffusionModel(UNet(1000, 4, channels=channels), 1000, p_uncond=0.1, device=device)
    net = model.noise_pred_net.train()
    on_cuda = device.type == "cuda"
    if on_cuda:
        net.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = 2 * randomizer.rand((batch, 3, 32, 32), device=device) - 1
    y = randomizer.randint(1, 4, (batch,), device=device)
    if on_cuda:
        x = x.contiguous(memory_format=torch.channels_last)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=on_cuda):
            loss = model.compute_loss_on_batch(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return batch / _timed(step, device, steps)


def sampling_times(device, channels=64, batch=8, num_steps=20, guidance=2.0, repeats=3) -> tuple[float, float]:
    """(seconds with one batched forward pass per step, seconds with two passes)."""
    import torch

    import randomizer
    from part2_diffusion.diffusion_model import DiffusionModel
    from part2_diffusion.unet import UNet

    torch.manual_seed(0)
    model = DiffusionModel(UNet(num_steps, 4, channels=channels), num_steps, device=device)
    model.noise_pred_net.eval()
    cond = (torch.arange(batch, device=device) % 3 + 1).long()

    @torch.no_grad()
    def two_passes():
        net, w = model.sampling_net, guidance
        x = randomizer.randn((batch, *model.input_shape), device=device)
        null = torch.zeros_like(cond)
        for t in reversed(range(num_steps)):
            steps = torch.full((batch,), t, dtype=torch.int64, device=device)
            eps = (1 + w) * net(x, steps, cond) - w * net(x, steps, null)
            x = model.noise_scheduler.denoise_step(eps, t, x)
        return x

    def batched():
        randomizer.seed(0)
        return model.generate_sample(cond, guidance_weight=guidance)

    def separate():
        randomizer.seed(0)
        return two_passes()

    same = torch.allclose(batched(), separate(), rtol=1e-3, atol=1e-3)
    if not same:
        raise AssertionError("batched and two-pass sampling disagree")
    return _timed(batched, device, repeats), _timed(separate, device, repeats)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder bench-diffusion")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv or [])  # called from autograder.bench with no arguments

    if str(SOURCE) not in sys.path:
        sys.path.insert(0, str(SOURCE))
    import torch

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("  no CUDA device: skipped")
        return 1
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} thread(s)"
    repeats = 2 if args.quick else 3
    print(f"  device           {where}")
    rate = training_throughput(device, steps=repeats)
    print(f"  training         {rate:.1f} images/s (reference U-Net, 64 channels, batch 64"
          f"{', bf16 autocast + channels-last' if device.type == 'cuda' else ''})")
    for batch in (1, 8) if device.type == "cpu" else (8, 64):
        one, two = sampling_times(device, batch=batch, repeats=repeats)
        ratio = two / one
        verdict = "ok" if ratio >= TARGET_RATIO else "below target"
        print(f"  CFG sampling     batch {batch:>2}, 20 steps, w = 2: one batched pass {one:.2f} s, "
              f"two passes {two:.2f} s, speed-up {ratio:.2f}x (target >= {TARGET_RATIO}x: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
