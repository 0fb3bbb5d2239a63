"""Mutation catalogue for Part 1: realistic mistakes (each must fail exactly the
listed checks) and valid alternative formulations (each must get full marks).

Every edit is a text replacement in source/hw4/part1_gans/gan_pytorch.py.
"""
from __future__ import annotations

from tests.mutants import Edit, Mutant, Variant, mutant, variant

GAN = "part1_gans/gan_pytorch.py"
P = "part1."

NOISE_VALUES = {P + "sample_noise.values", P + "sample_noise.values_3x17"}
NOISE = NOISE_VALUES | {P + "sample_noise.contract"}
BCE_VALUES = {P + "bce_loss.values", P + "bce_loss.soft_targets"}
BCE_BIG = {P + "bce_loss.large_logits", P + "bce_loss.huge_logits"}
BCE = BCE_VALUES | BCE_BIG
D_LOSS = {P + "discriminator_loss.values", P + "discriminator_loss.hidden"}
G_LOSS = {P + "generator_loss.values", P + "generator_loss.hidden"}
OPT = {P + "get_optimizer.adam"}
G_OUT = {P + "generator.output", P + "generator.noise_dim"}
T = P + "train_gan."
TRAIN_D = {T + "hidden_discriminator"}
TRAIN_G = {T + "hidden_generator"}

NOISE_LINE = "return 2 * randomizer.rand((batch_size, dim), device=device) - 1"
BCE_LINE = "loss = input.clamp(min=0) - input * target + torch.log1p(torch.exp(-input.abs()))"
BCE_RETURN = "    return loss.mean()\n    ### END SOLUTION"
REAL_LOSS = "real_loss = bce_loss(logits_real, torch.ones_like(logits_real))"
FAKE_LOSS = "fake_loss = bce_loss(logits_fake, torch.zeros_like(logits_fake))"
D_RETURN = "return real_loss + fake_loss"
G_RETURN = "return bce_loss(logits_fake, torch.ones_like(logits_fake))"
ADAM = "torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))"
D_ZERO = "            D_solver.zero_grad()\n"
G_ZERO = "            G_solver.zero_grad()\n"
REAL_IN = "logits_real = D(preprocess_img(x))"
FAKES = "fake_images = G(sample_noise(batch_size, noise_size, device=device))  # (B, 3, 32, 32)"
DETACH = "logits_fake = D(fake_images.detach())"
G_STEP_LOSS = "g_error = generator_loss(D(fake_images))"
G_TANH = "        nn.Tanh(),\n"
G_FIRST = "nn.Linear(noise_dim, 256 * 4 * 4),"
D_LAST = "nn.Linear(128 * 8 * 8, 1),                    # (N, 1) logits"

MUTANTS: list[Mutant] = [
    # --- sample_noise
    mutant("noise_unshifted", GAN, NOISE_LINE, "return randomizer.rand((batch_size, dim), device=device)",
           NOISE_VALUES | {P + "sample_noise.contract"}, why="forgot to map [0, 1) to [-1, 1)"),
    mutant("noise_torch_rand", GAN, NOISE_LINE,
           "return 2 * torch.rand((batch_size, dim), device=device) - 1",
           NOISE_VALUES, why="torch.rand instead of the randomizer",
           says=("are not the randomizer's: take them from `randomizer.rand((batch_size, dim)",)),
    mutant("noise_half_range", GAN, NOISE_LINE, "return randomizer.rand((batch_size, dim), device=device) - 0.5",
           NOISE_VALUES | {P + "sample_noise.contract"}, why="uniform on [-0.5, 0.5)"),
    # --- networks
    mutant("generator_sigmoid", GAN, G_TANH, "        nn.Sigmoid(),\n", G_OUT, why="images in [0, 1] instead of [-1, 1]"),
    mutant("generator_no_tanh", GAN, G_TANH, "", G_OUT, why="no output activation: unbounded images"),
    mutant("generator_mlp_no_tanh", GAN, "    return nn.Sequential(\n        " + G_FIRST,
           "    return nn.Sequential(\n"
           "        nn.Linear(noise_dim, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),\n"
           "        nn.Linear(512, 3 * 32 * 32), nn.Unflatten(1, (3, 32, 32)),\n"
           "    )\n    return nn.Sequential(\n        " + G_FIRST,
           G_OUT, why="a fully connected G without its final tanh: in [-1, 1] at initialisation only"),
    mutant("discriminator_sigmoid", GAN, D_LAST, D_LAST + "\n        nn.Sigmoid(),",
           {P + "discriminator.output"}, why="a final sigmoid: probabilities, not logits"),
    mutant("generator_fixed_noise_dim", GAN, G_FIRST, "nn.Linear(NOISE_DIM, 256 * 4 * 4),",
           {P + "generator.noise_dim"}, why="ignores the noise_dim argument"),
    mutant("generator_huge", GAN, "nn.Linear(noise_dim, 256 * 4 * 4),\n        nn.Unflatten(1, (256, 4, 4)),",
           "nn.Linear(noise_dim, 256 * 4 * 4),\n        nn.Linear(256 * 4 * 4, 256 * 4 * 4),\n"
           "        nn.Unflatten(1, (256, 4, 4)),",
           {P + "generator.budget"}, why="a 4096 x 4096 linear layer blows the parameter budget"),
    mutant("discriminator_unused_layer", GAN, "    return nn.Sequential(\n        nn.Conv2d(3, 64, 4, stride=2, padding=1),",
           "    class Net(nn.Module):\n"
           "        def __init__(self):\n"
           "            super().__init__()\n"
           "            self.features = nn.Sequential(nn.Conv2d(3, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.01),\n"
           "                                          nn.Conv2d(64, 128, 4, stride=2, padding=1), nn.LeakyReLU(0.01),\n"
           "                                          nn.Flatten())\n"
           "            self.hidden = nn.Linear(128 * 8 * 8, 64)\n"
           "            self.out = nn.Linear(128 * 8 * 8, 1)\n\n"
           "        def forward(self, x):\n"
           "            return self.out(self.features(x))\n\n"
           "    return Net()\n"
           "    return nn.Sequential(\n        nn.Conv2d(3, 64, 4, stride=2, padding=1),",
           {P + "discriminator.gradients"},
           why="a layer created in __init__ but never used in forward (no gradient reaches it)"),
    mutant("discriminator_huge", GAN, D_LAST,
           "nn.Linear(128 * 8 * 8, 1024), nn.LeakyReLU(0.01), nn.Linear(1024, 1),",
           {P + "discriminator.budget"}, why="an 8192 x 1024 hidden layer blows the parameter budget"),
    mutant("generator_data_breaks_graph", GAN, "    return nn.Sequential(\n        " + G_FIRST,
           "    class Net(nn.Module):\n"
           "        def __init__(self):\n"
           "            super().__init__()\n"
           "            self.fc = nn.Linear(noise_dim, 256 * 4 * 4)\n"
           "            self.body = nn.Sequential(nn.Unflatten(1, (256, 4, 4)), nn.BatchNorm2d(256), nn.ReLU(),\n"
           "                                      nn.ConvTranspose2d(256, 3, 8, stride=8), nn.Tanh())\n\n"
           "        def forward(self, z):\n"
           "            return self.body(self.fc(z).data)\n\n"
           "    return Net()\n"
           "    return nn.Sequential(\n        " + G_FIRST,
           {P + "generator.gradients"}, why="`.data` cuts the graph: the first layer never learns"),
    mutant("discriminator_no_flatten", GAN, "        nn.Flatten(),                                 # (N, 8192)\n        "
           + D_LAST, "        nn.Conv2d(128, 1, 8),                         # (N, 1, 1, 1)",
           {P + "discriminator.output"}, why="logits of shape (N, 1, 1, 1) instead of (N, 1)"),
    # --- bce_loss
    mutant("bce_sign_flipped", GAN, BCE_LINE,
           "loss = input.clamp(min=0) + input * target + torch.log1p(torch.exp(-input.abs()))",
           BCE, why="sign of the s * t term", says=("check the sign of the s * t term",),
           never=("Do not take the log of a sigmoid",)),
    mutant("bce_sum", GAN, BCE_RETURN, "    return loss.sum()\n    ### END SOLUTION",
           BCE, why="sum instead of mean", says=("bce_loss is the mean",)),
    mutant("bce_naive_log_sigmoid", GAN, BCE_LINE,
           "loss = -(target * torch.log(torch.sigmoid(input)) + (1 - target) * torch.log(1 - torch.sigmoid(input)))",
           BCE_BIG, why="the textbook formula overflows to inf for large logits",
           says=("Do not take the log of a sigmoid",), never=("check the sign",)),
    mutant("bce_clamped_log_sigmoid", GAN, BCE_LINE,
           "p = torch.sigmoid(input).clamp(1e-7, 1 - 1e-7)\n    "
           "loss = -(target * torch.log(p) + (1 - target) * torch.log(1 - p))",
           BCE_BIG, why="log of a clamped sigmoid: finite, but wrong for large logits",
           says=("Do not take the log of a sigmoid",), never=("check the sign",)),
    mutant("bce_no_abs", GAN, BCE_LINE,
           "loss = input.clamp(min=0) - input * target + torch.log1p(torch.exp(-input))",
           BCE, why="log(1 + exp(-s)) instead of log(1 + exp(-|s|))"),
    # --- discriminator_loss / generator_loss
    mutant("d_loss_swapped_labels", GAN, REAL_LOSS,
           "real_loss = bce_loss(logits_real, torch.zeros_like(logits_real))",
           D_LOSS, why="real labelled 0",
           more=(Edit(GAN, FAKE_LOSS, "fake_loss = bce_loss(logits_fake, torch.ones_like(logits_fake))"),)),
    mutant("d_loss_average", GAN, D_RETURN, "return (real_loss + fake_loss) / 2", D_LOSS,
           why="averaged the two terms"),
    mutant("d_loss_real_only", GAN, D_RETURN, "return real_loss", D_LOSS, why="forgot the fake term"),
    mutant("g_loss_target_zero", GAN, G_RETURN, "return bce_loss(logits_fake, torch.zeros_like(logits_fake))",
           G_LOSS, why="generator target 0"),
    mutant("g_loss_minimax", GAN, G_RETURN, "return -bce_loss(logits_fake, torch.zeros_like(logits_fake))",
           G_LOSS, why="the saturating minimax loss"),
    # --- get_optimizer
    mutant("adam_default_betas", GAN, ADAM, "torch.optim.Adam(model.parameters(), lr=1e-3)", OPT,
           why="default betas (0.9, 0.999)"),
    mutant("adam_wrong_lr", GAN, ADAM, "torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.5, 0.999))",
           OPT, why="lr 1e-4"),
    mutant("sgd_optimizer", GAN, ADAM, "torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.5)", OPT,
           why="not Adam"),
    # --- train_gan
    mutant("train_unscaled_real", GAN, REAL_IN, "logits_real = D(x)",
           {T + "real_images"} | TRAIN_D, why="real images left in [0, 1]"),
    mutant("train_no_detach_fresh_noise", GAN, DETACH, "logits_fake = D(fake_images)",
           {T + "detached"} | TRAIN_D, why="fakes not detached in the D step (G step on fresh noise)",
           more=(Edit(GAN, G_STEP_LOSS,
                      "g_error = generator_loss(D(G(sample_noise(batch_size, noise_size, device=device))))"),)),
    mutant("train_no_detach_crash", GAN, DETACH, "logits_fake = D(fake_images)",
           {T + n for n in ("real_images", "detached", "d_step", "g_step", "noise", "snapshots")} | TRAIN_D | TRAIN_G,
           why="fakes not detached, then backward through G's freed graph a second time",
           says=("give D `fake_images.detach()` in the discriminator step", "Do not add retain_graph=True"),
           never=("Specify retain_graph=True",)),
    mutant("train_no_d_zero_grad", GAN, D_ZERO, "", {T + "d_step"} | TRAIN_D,
           why="D's gradients accumulate (also the generator step's)",
           says=("largest relative difference",), never=("grad_off",)),
    mutant("train_no_g_zero_grad", GAN, G_ZERO, "", {T + "g_step"} | TRAIN_G,
           why="G's gradients accumulate across iterations"),
    mutant("train_g_step_detached", GAN, G_STEP_LOSS, "g_error = generator_loss(D(fake_images.detach()))",
           {T + "g_step"} | TRAIN_G, why="the generator never learns"),
    mutant("train_steps_d_twice", GAN, "            g_error.backward()\n            G_solver.step()",
           "            g_error.backward()\n            D_solver.step()",
           {T + "d_step", T + "g_step"} | TRAIN_D | TRAIN_G, why="copy-paste: D_solver.step() in the G step"),
    mutant("train_torch_noise", GAN, FAKES,
           "fake_images = G(2 * torch.rand(batch_size, noise_size, device=device) - 1)",
           {T + "noise"} | TRAIN_G, why="noise from torch.rand",
           says=("did not come from sample_noise(batch_size, noise_size, device=device)",)),
    mutant("train_module_loss", GAN, "d_total_error = discriminator_loss(logits_real, logits_fake)",
           "d_total_error = globals()['discriminator_loss'](logits_real, logits_fake)",
           {T + "d_step", T + "detached"} | TRAIN_D, why="calls the module's loss, not the one passed in"),
]

VARIANTS: list[Variant] = [
    variant("bce_with_logits", GAN, BCE_LINE + "\n    return loss.mean()",
            "return torch.nn.functional.binary_cross_entropy_with_logits(input, target)",
            why="PyTorch's own stable BCE"),
    variant("bce_logsigmoid", GAN, BCE_LINE,
            "loss = -(target * F.logsigmoid(input) + (1 - target) * F.logsigmoid(-input))",
            why="the logsigmoid form",
            more=(Edit(GAN, "import torch.nn as nn\n", "import torch.nn as nn\nimport torch.nn.functional as F\n"),)),
    variant("bce_softplus_float64", GAN, BCE_LINE + "\n    return loss.mean()",
            "s, t = input.double(), target.double()\n"
            "    return (torch.nn.functional.softplus(s) - s * t).mean().float()",
            why="softplus in float64, cast back"),
    variant("bce_log_one_plus_exp", GAN, BCE_LINE,
            "loss = torch.relu(input) - input * target + torch.log(1 + torch.exp(-torch.abs(input)))",
            why="log(1 + exp) instead of log1p"),
    variant("noise_affine", GAN, NOISE_LINE, "return randomizer.rand((batch_size, dim), device=device).mul(2).sub(1)",
            why="same formula written with tensor methods"),
    variant("d_loss_concatenated", GAN, REAL_LOSS + "\n    " + FAKE_LOSS + "\n    " + D_RETURN,
            "logits = torch.cat([logits_real, logits_fake])\n"
            "    targets = torch.cat([torch.ones_like(logits_real), torch.zeros_like(logits_fake)])\n"
            "    return 2 * bce_loss(logits, targets)",
            why="one BCE over both halves (equal sizes), times two"),
    variant("cs231n_architectures", GAN,
            "    return nn.Sequential(\n        nn.Conv2d(3, 64, 4, stride=2, padding=1),",
            "    return nn.Sequential(\n"
            "        nn.Conv2d(3, 32, 5, padding=2), nn.LeakyReLU(0.01), nn.MaxPool2d(2),\n"
            "        nn.Conv2d(32, 64, 5, padding=2), nn.LeakyReLU(0.01), nn.MaxPool2d(2),\n"
            "        nn.Flatten(), nn.Linear(64 * 8 * 8, 256), nn.LeakyReLU(0.01), nn.Linear(256, 1),\n"
            "    )\n    return nn.Sequential(\n        nn.Conv2d(3, 64, 4, stride=2, padding=1),",
            why="a different D (max-pooling, two linear layers) and an MLP G with BatchNorm1d",
            more=(Edit(GAN, "    return nn.Sequential(\n        " + G_FIRST,
                       "    return nn.Sequential(\n"
                       "        nn.Linear(noise_dim, 1024), nn.BatchNorm1d(1024), nn.ReLU(),\n"
                       "        nn.Linear(1024, 3 * 32 * 32), nn.Tanh(), nn.Unflatten(1, (3, 32, 32)),\n"
                       "    )\n    return nn.Sequential(\n        " + G_FIRST),)),
    variant("train_fresh_noise_model_zero_grad", GAN, G_STEP_LOSS,
            "g_error = generator_loss(D(G(sample_noise(batch_size, noise_size, device=device))))",
            why="the generator step on fresh noise; gradients zeroed through the models",
            more=(Edit(GAN, D_ZERO, "            D.zero_grad()\n"), Edit(GAN, G_ZERO, "            G.zero_grad()\n"))),
    variant("train_fakes_no_grad", GAN, FAKES + "\n            # detached: this loss must train D only, G's turn comes next\n"
            "            " + DETACH,
            "with torch.no_grad():\n"
            "                fake_images = G(sample_noise(batch_size, noise_size, device=device))\n"
            "            logits_fake = D(fake_images)",
            why="fakes for D made under no_grad, then fresh fakes for the G step",
            more=(Edit(GAN, G_STEP_LOSS,
                       "fake_images = G(sample_noise(batch_size, noise_size, device=device))\n"
                       "            g_error = generator_loss(D(fake_images))"),)),
]
