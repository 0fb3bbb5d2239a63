"""``python -m autograder oracle``: train the oracle generator and export it (instructors).

The Part 1 notebook ends with an ungraded cell that measures how well a student's
discriminator tells real SVHN images from the fakes of a *fixed*, well-trained
generator: the oracle. This command trains that generator with the reference
solution (``source/hw4/part1_gans/gan_pytorch.py``) and exports it with TorchScript,
so students can load it with ``torch.jit.load`` without any of the reference code.

Run it once on a GPU with the real data, then hand the file to students (it is not
part of the release: ``*.pt`` files are never copied)::

    python -m autograder oracle --data-dir data --download --epochs 10 --out oracle_generator.pt

The exported module maps noise (N, 96), uniform on [-1, 1), to images (N, 3, 32, 32) in
[-1, 1]; it is saved in eval mode on the CPU (``torch.jit.load(path, map_location=device)``
moves it).
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
import warnings
from pathlib import Path

SOURCE_HW4 = Path(__file__).resolve().parents[1]  # source/hw4: this file lives in its instructor/ folder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder oracle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="data", help="folder holding train_32x32.mat (default: data)")
    parser.add_argument("--download", action="store_true", help="download SVHN into --data-dir first")
    parser.add_argument("--out", default="oracle_generator.pt", help="where to write the TorchScript file")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the training images (default: 10)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--num-train", type=int, default=None, help="training images (default: all but 5,000)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--seed", type=int, default=0, help="randomizer seed (initial weights and noise)")
    parser.add_argument("--show-every", type=int, default=500, help="progress report every N iterations")
    parser.add_argument("--hw4", type=Path, default=SOURCE_HW4, help="the hw4 folder with the reference solution")
    parser.add_argument("--grid", type=Path, default=None, help="also save a PNG grid of 64 oracle samples here")
    return parser


def _reference(hw4: Path):
    """Import the reference ``gan_pytorch`` and ``randomizer`` from ``hw4``."""
    hw4 = Path(hw4).resolve()
    if not (hw4 / "part1_gans" / "gan_pytorch.py").is_file():
        raise SystemExit(f"no part1_gans/gan_pytorch.py under {hw4}: pass --hw4 with the reference solution")
    if str(hw4) not in sys.path:
        sys.path.insert(0, str(hw4))
    gan = importlib.import_module("part1_gans.gan_pytorch")
    return gan, importlib.import_module("randomizer")


def train_oracle(gan, randomizer, loader_train, device, epochs: int, batch_size: int, seed: int,
                 show_every: int):
    """The reference D and G trained with the reference loop; returns G in eval mode."""
    import torch

    randomizer.seed(seed)
    torch.manual_seed(seed)  # PyTorch's default weight initialisation
    D, G = gan.discriminator().to(device), gan.generator().to(device)
    D_solver, G_solver = gan.get_optimizer(D), gan.get_optimizer(G)
    gan.train_gan(D, G, D_solver, G_solver, gan.discriminator_loss, gan.generator_loss, loader_train,
                  show_every=show_every, batch_size=batch_size, noise_size=gan.NOISE_DIM,
                  num_epochs=epochs, device=device)
    return G.eval()


def export(G, path: Path, noise_dim: int):
    """Write ``G`` (on the CPU, eval mode) as TorchScript and prove the file reproduces it."""
    import torch

    G = G.cpu().eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is deprecated, still the one loadable format
        torch.jit.save(torch.jit.script(G), str(path))
        loaded = torch.jit.load(str(path), map_location="cpu")
    z = 2 * torch.rand(16, noise_dim, generator=torch.Generator().manual_seed(0)) - 1
    with torch.no_grad():
        want, got = G(z), loaded(z)
    if got.shape != (16, 3, 32, 32) or not torch.allclose(got, want, atol=1e-5):
        raise RuntimeError(f"the exported generator does not reproduce the trained one ({path})")
    return loaded


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]  # `python -m autograder oracle -- --epochs 1`
    args = _parser().parse_args(argv)
    import torch

    gan, randomizer = _reference(args.hw4)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    loader_train, _ = gan.load_svhn(args.data_dir, batch_size=args.batch_size, num_train=args.num_train,
                                    download=args.download)
    if len(loader_train.sampler) < args.batch_size:
        raise SystemExit(f"{len(loader_train.sampler)} training images, fewer than one batch of {args.batch_size}")
    start = time.time()
    G = train_oracle(gan, randomizer, loader_train, device, args.epochs, args.batch_size, args.seed,
                     args.show_every)
    loaded = export(G, Path(args.out), gan.NOISE_DIM)
    print(f"trained for {args.epochs} epoch(s) on {len(loader_train.sampler)} images in "
          f"{time.time() - start:.0f} s on {device}; wrote {args.out}")
    if args.grid:
        import matplotlib

        matplotlib.use("Agg")
        randomizer.seed(args.seed + 1)
        with torch.no_grad():
            fakes = loaded(gan.sample_noise(64, gan.NOISE_DIM))
        fig = gan.show_images(gan.deprocess_img(fakes), title="oracle generator")
        fig.savefig(args.grid, dpi=100)
        print(f"wrote {args.grid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
