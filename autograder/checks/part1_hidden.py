"""Hidden checks for Part 1: other seeds and sizes, and the edge cases
(logits of magnitude 1000, soft targets, a custom noise dimension, another
training configuration). Never shipped to students."""
from __future__ import annotations

from . import part1 as p
from .api import check

HIDDEN_TRAIN_CALL = ("train_gan on small instrumented D, G, SGD optimizers and loss functions; a list of 2 batches "
                     "of 6 images; batch_size=6, noise_size=5, num_epochs=3, show_every=4")


def _train_hidden(name, title, points, verify):
    return check(id=f"part1.train_gan.hidden_{name}", title=title, module=p.GAN, function="train_gan",
                 points=points, hidden=True, call=HIDDEN_TRAIN_CALL,
                 run=p.run_train_gan(batch=6, n_batches=2, epochs=3, show_every=4, noise=5, seed=11),
                 verify=verify, needs_answers=False)


CHECKS = [
    p.noise_values_check(3, 17, 7, points=1, hidden=True),
    check(id="part1.generator.noise_dim", title="generator: honours a custom noise_dim",
          module=p.GAN, function="generator", points=1, hidden=True,
          call="G = generator(noise_dim=64); G(z) for z of shape (128, 64) and (1, 64)",
          run=p.run_generator(64), verify=p.verify_net_output("generator(noise_dim=64)", image=True),
          needs_answers=False, timeout=p.NET_TIME_FLOOR_S),
    p.bce_check("part1.bce_loss.soft_targets", "bce_loss: targets between 0 and 1", (50, 3), 21,
                points=1, hidden=True, soft=True),
    p.bce_check("part1.bce_loss.huge_logits", "bce_loss: logits of magnitude up to 1000, soft targets",
                (40,), 22, points=1, hidden=True, soft=True, extra=p.big_logits,
                call_extra="; s[:20] scaled to magnitudes 100..1000", hints=p.BIG_HINTS),
    p.d_loss_check("part1.discriminator_loss.hidden", (33, 1), 23, points=1, hidden=True),
    p.g_loss_check("part1.generator_loss.hidden", (33, 1), 24, points=1, hidden=True),
    _train_hidden("discriminator", "train_gan (another configuration): real images, detached fakes, D steps",
                  1, lambda got, ans: [*p.verify_real_images(got, ans), *p.verify_detached(got, ans),
                                       *p.verify_d_step(got, ans)]),
    _train_hidden("generator", "train_gan (another configuration): G steps, noise and snapshots",
                  1, lambda got, ans: [*p.verify_g_step(got, ans), *p.verify_noise_use(got, ans),
                                       *p.verify_snapshots(got, ans)]),
]
