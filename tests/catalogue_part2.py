"""Mutation catalogue for Part 2: realistic mistakes (each must fail exactly the
listed checks) and valid alternative formulations (each must get full marks).

Every edit is a text replacement in the reference modules of source/hw4.
"""
from __future__ import annotations

from tests.mutants import Edit, Mutant, Variant, mutant, variant

NS = "part2_diffusion/noise_scheduler.py"
DM = "part2_diffusion/diffusion_model.py"
IG = "part2_diffusion/image_gen.py"

P = "part2."
SCHEDULE = {P + "schedule.t100", P + "schedule.t50"}
ADD_NOISE = {P + "add_noise.2d", P + "add_noise.4d", P + "add_noise.3d_hidden"}
DENOISE_T0 = {P + "denoise_step.t0", P + "denoise_step.threshold_t0"}
DENOISE_T1 = {P + "denoise_step.t1", P + "denoise_step.threshold_t1_hidden"}
DENOISE_NOISY = {P + "denoise_step.t56", P + "denoise_step.threshold_t56", P + "denoise_step.t99_hidden",
                 P + "denoise_step.threshold_t30_hidden"} | DENOISE_T1
DENOISE = DENOISE_NOISY | DENOISE_T0
THRESHOLD = {P + "denoise_step.threshold_t56", P + "denoise_step.threshold_t0",
             P + "denoise_step.threshold_t1_hidden", P + "denoise_step.threshold_t30_hidden"}
LOSS = {P + "loss.p0", P + "loss.p1", P + "loss.p05", P + "loss.p05_hidden"}
LOSS_DROPPING = LOSS - {P + "loss.p0"}
GENERATE = {P + "generate.w0", P + "generate.w2", P + "generate.w2_threshold",
            P + "generate.w05_threshold_hidden", P + "generate.w5_hidden"}
GUIDED = GENERATE - {P + "generate.w0"}
GENERATE_THRESHOLD = {P + "generate.w2_threshold", P + "generate.w05_threshold_hidden"}
LOAD = {P + "image_gen.load_dataset", P + "image_gen.load_dataset_hidden"}
FIELDS = {P + "image_gen.fields"}

CUMPROD = "self.alpha_bars = torch.cumprod(self.alphas, dim=0)"
X0_HAT = "x0_hat = ((x_t - (1 - alpha_bar_t).sqrt() * model_prediction) / alpha_bar_t.sqrt()).clamp(-1, 1)"
NOISE_ADD = "return mean + beta_t.sqrt() * z"
GUIDE = "eps = (1 + guidance_weight) * eps_cond - guidance_weight * eps_null"
LOSS_LINE = "return F.mse_loss(self.noise_pred_net(x_t, t, cond), eps)"

MUTANTS: list[Mutant] = [
    # --- schedule
    mutant("schedule_default_betas_only", NS, "self.alphas = 1.0 - self.betas",
           "self.alphas = 1.0 - torch.linspace(1e-4, 0.02, self.num_steps, device=self.device)",
           {P + "schedule.t50"}, why="the schedule of the default betas, whatever beta_start and beta_end"),
    mutant("cumprod_of_betas", NS, CUMPROD, "self.alpha_bars = torch.cumprod(self.betas, dim=0)", SCHEDULE,
           why="alpha_bar as the cumulative product of the betas"),
    mutant("exclusive_cumprod", NS, CUMPROD,
           "self.alpha_bars = torch.cat([torch.ones_like(self.alphas[:1]), torch.cumprod(self.alphas, dim=0)[:-1]])",
           SCHEDULE, why="alpha_bar_t = prod_{s < t} alpha_s (an exclusive product, 1-indexed thinking)"),
    mutant("alpha_for_alpha_bar", NS, CUMPROD, "self.alpha_bars = self.alphas.clone()", SCHEDULE,
           why="alpha_t used where alpha_bar_t is meant"),
    mutant("alphas_are_betas", NS, "self.alphas = 1.0 - self.betas", "self.alphas = self.betas", SCHEDULE,
           why="alpha_t = beta_t"),
    # --- add_noise
    mutant("add_noise_missing_sqrt", NS,
           "return alpha_bars.sqrt() * original_samples + (1 - alpha_bars).sqrt() * noise",
           "return alpha_bars * original_samples + (1 - alpha_bars) * noise", ADD_NOISE,
           why="coefficients without the square roots"),
    mutant("add_noise_reshape_2d_only", NS,
           "alpha_bars = alpha_bars.reshape(-1, *([1] * (original_samples.dim() - 1)))",
           "alpha_bars = alpha_bars[:, None]", ADD_NOISE - {P + "add_noise.2d"},
           why="a reshape that only broadcasts for 2-D inputs"),
    mutant("add_noise_reshape_4d_only", NS,
           "alpha_bars = alpha_bars.reshape(-1, *([1] * (original_samples.dim() - 1)))",
           "alpha_bars = alpha_bars.view(-1, 1, 1, 1)", ADD_NOISE - {P + "add_noise.4d"},
           why="a reshape that only works for image batches"),
    mutant("add_noise_t_minus_1", NS, "self.alpha_bars.to(original_samples.device)[timesteps]",
           "self.alpha_bars.to(original_samples.device)[timesteps - 1]", ADD_NOISE,
           why="1-indexed timesteps"),
    # --- denoise_step
    mutant("beta_tilde_variance", NS, NOISE_ADD,
           "return mean + ((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t).sqrt() * z", DENOISE_NOISY,
           why="sigma_t^2 = beta-tilde_t instead of beta_t"),
    mutant("sigma_is_beta", NS, NOISE_ADD, "return mean + beta_t * z", DENOISE_NOISY,
           why="sigma_t = beta_t (square root missing)"),
    mutant("denoise_t_minus_1", NS,
           "beta_t, alpha_t, alpha_bar_t = self.betas[t], self.alphas[t], self.alpha_bars[t]",
           "beta_t, alpha_t, alpha_bar_t = self.betas[t - 1], self.alphas[t - 1], self.alpha_bars[t - 1]",
           DENOISE, why="1-indexed schedule lookup"),
    mutant("noise_at_t0", NS, "        if t == 0:\n            return mean  # the last step", 
           "        if False:\n            return mean  # the last step", DENOISE_T0,
           why="noise added at the last step too"),
    mutant("no_noise_at_t1", NS, "        if t == 0:\n", "        if t <= 1:\n", DENOISE_T1,
           why="noise skipped at t = 1 (1-indexed thinking)"),
    mutant("no_clamp", NS, X0_HAT,
           "x0_hat = (x_t - (1 - alpha_bar_t).sqrt() * model_prediction) / alpha_bar_t.sqrt()", THRESHOLD,
           why="thresholding without the clamp"),
    mutant("clamp_x_t", NS, X0_HAT,
           "x0_hat = (x_t.clamp(-1, 1) - (1 - alpha_bar_t).sqrt() * model_prediction) / alpha_bar_t.sqrt()",
           THRESHOLD, why="x_t clamped instead of x0_hat"),
    mutant("clamp_0_1", NS, ".clamp(-1, 1)", ".clamp(0, 1)", THRESHOLD, why="clamped to the [0, 1] image range"),
    mutant("alpha_bar_prev_wrong_at_t0", NS,
           "alpha_bar_prev = self.alpha_bars[t - 1] if t > 0 else torch.ones_like(alpha_bar_t)",
           "alpha_bar_prev = self.alpha_bars[t - 1]", {P + "denoise_step.threshold_t0"},
           why="alpha_bar_{t-1} at t = 0 read as alpha_bars[-1] (the last entry) instead of 1"),
    mutant("denoise_torch_randn", NS, "z = randomizer.randn(x_t.shape, device=x_t.device)\n",
           "z = torch.randn(x_t.shape, device=x_t.device)\n", DENOISE_NOISY,
           why="torch.randn instead of the randomizer",
           says=("z must be randomizer.randn(x_t.shape",), never=("with thresholding, clamp",)),
    mutant("denoise_randn_like", NS, "z = randomizer.randn(x_t.shape, device=x_t.device)\n",
           "z = torch.randn_like(x_t)\n", DENOISE_NOISY, why="torch.randn_like instead of the randomizer",
           says=("take every random number from the randomizer",), never=("with thresholding, clamp",)),
    # --- compute_loss_on_batch
    mutant("loss_torch_randn", DM, "eps = randomizer.randn(data.shape, device=data.device)",
           "eps = torch.randn(data.shape, device=data.device)", LOSS, why="torch.randn instead of the randomizer",
           says=("is not the randomizer's",)),
    mutant("whole_batch_dropout", DM, "drop = randomizer.rand((batch,), device=data.device) < self.p_uncond",
           "drop = randomizer.rand((1,), device=data.device) < self.p_uncond", {P + "loss.p05", P + "loss.p05_hidden"},
           why="one coin for the whole batch instead of one per sample"),
    mutant("loss_null_ones", DM, "cond = torch.where(drop, torch.zeros_like(cond), cond)",
           "cond = torch.where(drop, torch.ones_like(cond), cond)", LOSS_DROPPING,
           why="ones_like as the null condition"),
    mutant("mse_against_x0", DM, LOSS_LINE, "return F.mse_loss(self.noise_pred_net(x_t, t, cond), data)", LOSS,
           why="regressing x0 instead of the noise"),
    mutant("summed_loss", DM, LOSS_LINE,
           "return F.mse_loss(self.noise_pred_net(x_t, t, cond), eps, reduction=\"sum\")", LOSS,
           why="sum instead of mean"),
    mutant("loss_t_one_indexed", DM, "t = randomizer.randint(0, self.denoising_steps, (batch,), device=data.device)",
           "t = randomizer.randint(1, self.denoising_steps + 1, (batch,), device=data.device)", LOSS,
           why="t drawn from 1..T (1-indexed)"),
    mutant("dropout_inverted", DM, "< self.p_uncond", ">= self.p_uncond", LOSS,
           why="keeps the condition with probability p_uncond", says=("the dropout mask is inverted",),
           never=("not the whole batch at once", "must get label 0")),
    mutant("eps_randn_like", DM, "eps = randomizer.randn(data.shape, device=data.device)",
           "eps = torch.randn_like(data)", LOSS, why="torch.randn_like for the training noise",
           says=("is not the randomizer's: draw eps = randomizer.randn(data.shape",)),
    # --- generate_sample
    mutant("lerp_guidance", DM, GUIDE, "eps = torch.lerp(eps_null, eps_cond, guidance_weight)", GUIDED,
           why="interpolation (1 - w) uncond + w cond instead of CFG eq. 6"),
    mutant("guidance_swapped", DM, GUIDE,
           "eps = (1 + guidance_weight) * eps_null - guidance_weight * eps_cond", GUIDED,
           why="conditional and unconditional predictions swapped"),
    mutant("generate_null_ones", DM, "null = torch.zeros_like(cond)\n        for t",
           "null = torch.ones_like(cond)\n        for t", GUIDED, why="ones_like as the null condition"),
    mutant("sampling_with_training_net", DM, "net = self.sampling_net\n", "net = self.noise_pred_net\n", GENERATE,
           why="samples with the training network instead of sampling_net (the EMA copy)"),
    mutant("loop_upward", DM, "for t in reversed(range(self.denoising_steps)):",
           "for t in range(self.denoising_steps):", GENERATE, why="the reverse process run forwards"),
    mutant("seeding_inside_loop", DM, "for t in reversed(range(self.denoising_steps)):\n",
           "for t in reversed(range(self.denoising_steps)):\n            randomizer.seed(0)\n", GENERATE,
           why="re-seeding the randomizer at every step"),
    mutant("generate_torch_randn", DM, "x = randomizer.randn((batch, *self.input_shape), device=self.device)",
           "x = torch.randn((batch, *self.input_shape), device=self.device)", GENERATE,
           why="initial noise from torch.randn", says=("start from x = randomizer.randn((B, *input_shape)",),
           never=("CFG eq. 6",)),
    mutant("threshold_not_passed", DM, "x = self.noise_scheduler.denoise_step(eps, t, x, threshold=threshold)",
           "x = self.noise_scheduler.denoise_step(eps, t, x)", GENERATE_THRESHOLD,
           why="threshold argument not passed on"),
    # --- image generator
    mutant("wrong_condition_dim", IG, "self.condition_dim = 4", "self.condition_dim = 3", FIELDS,
           why="forgot the null class"),
    mutant("channels_last_input_shape", IG, "self.input_shape = (3, 32, 32)", "self.input_shape = (32, 32, 3)",
           FIELDS, why="channels-last image shape"),
    mutant("labels_not_shifted", IG, "labels.append(classes[keep] + 1)", "labels.append(classes[keep])", LOAD,
           why="labels 0, 1, 2 kept as they are (0 clashes with the null class)"),
    mutant("images_in_0_1", IG, ".float() / 127.5 - 1", ".float() / 255", LOAD, why="images scaled to [0, 1]"),
    mutant("wrong_classes_kept", IG, "keep = classes < len(CLASS_NAMES)", "keep = (classes >= 1) & (classes <= 3)",
           LOAD, why="kept CIFAR classes 1, 2, 3 instead of 0, 1, 2"),
    mutant("pixels_transposed", IG, ".reshape(-1, 3, 32, 32)  #", ".reshape(-1, 32, 32, 3).transpose(0, 3, 1, 2)  #",
           LOAD, why="rows read as height-width-channel"),
]

VARIANTS: list[Variant] = [
    variant("float64_schedule", NS, "self.alphas = 1.0 - self.betas\n        " + CUMPROD,
            "alphas = 1.0 - self.betas.double()\n        self.alphas = alphas.float()\n"
            "        self.alpha_bars = torch.cumprod(alphas, dim=0).float()",
            why="schedule computed in float64, then cast"),
    variant("cumprod_by_log", NS, CUMPROD, "self.alpha_bars = torch.exp(torch.cumsum(torch.log(self.alphas), dim=0))",
            why="cumulative product as exp of a cumulative sum of logs"),
    variant("beta_from_alpha_bars", NS,
            "alpha_bar_prev = self.alpha_bars[t - 1] if t > 0 else torch.ones_like(alpha_bar_t)\n",
            "alpha_bar_prev = self.alpha_bars[t - 1] if t > 0 else torch.ones_like(alpha_bar_t)\n"
            "        beta_t = 1 - alpha_bar_t / alpha_bar_prev\n        alpha_t = 1 - beta_t\n",
            why="beta_t recomputed as 1 - alpha_bar_t / alpha_bar_{t-1}"),
    variant("eq11_with_one_minus_alpha", NS,
            "mean = (x_t - beta_t / (1 - alpha_bar_t).sqrt() * model_prediction) / alpha_t.sqrt()",
            "mean = 1 / alpha_t.sqrt() * (x_t - (1 - alpha_t) / (1 - alpha_bar_t).sqrt() * model_prediction)",
            why="eq. 11 written with 1 - alpha_t"),
    variant("posterior_mean_without_clamp", NS,
            "mean = (x_t - beta_t / (1 - alpha_bar_t).sqrt() * model_prediction) / alpha_t.sqrt()",
            "x0_hat = (x_t - (1 - alpha_bar_t).sqrt() * model_prediction) / alpha_bar_t.sqrt()\n"
            "            mean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0_hat \\\n"
            "                + (alpha_t.sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)) * x_t",
            why="without thresholding, the posterior mean with the unclamped x0_hat (equal to eq. 11)"),
    variant("float64_denoise", NS, "beta_t, alpha_t, alpha_bar_t = self.betas[t], self.alphas[t], self.alpha_bars[t]",
            "beta_t, alpha_t, alpha_bar_t = self.betas[t].double(), self.alphas[t].double(), "
            "self.alpha_bars[t].double()\n        x_t, model_prediction = x_t.double(), model_prediction.double()",
            more=(Edit(NS, "            return mean  # the last", "            return mean.float()  # the last"),
                  Edit(NS, NOISE_ADD, "return (mean + beta_t.sqrt() * z).float()")),
            why="the step computed in float64, cast at the end"),
    variant("gather_and_view", NS,
            "alpha_bars = self.alpha_bars.to(original_samples.device)[timesteps]\n"
            "        alpha_bars = alpha_bars.reshape(-1, *([1] * (original_samples.dim() - 1)))",
            "alpha_bars = torch.gather(self.alpha_bars.to(original_samples.device), 0, timesteps)\n"
            "        alpha_bars = alpha_bars.view(alpha_bars.shape + (1,) * (original_samples.dim() - 1))",
            why="torch.gather and a view instead of fancy indexing and reshape"),
    variant("eps_before_t", DM,
            "t = randomizer.randint(0, self.denoising_steps, (batch,), device=data.device)\n"
            "        eps = randomizer.randn(data.shape, device=data.device)",
            "eps = randomizer.randn(data.shape, device=data.device)\n"
            "        t = randomizer.randint(0, self.denoising_steps, (batch,), device=data.device)",
            why="eps drawn before t"),
    variant("mask_and_mean", DM, "cond = torch.where(drop, torch.zeros_like(cond), cond)",
            "cond = cond * (~drop).long()",
            more=(Edit(DM, LOSS_LINE, "return ((self.noise_pred_net(x_t, t, cond) - eps) ** 2).mean()"),),
            why="dropout by multiplying with the keep mask; loss written out"),
    variant("dropout_by_index", DM, "cond = torch.where(drop, torch.zeros_like(cond), cond)",
            "cond = cond.clone()\n        cond[drop.reshape(-1)] = 0",
            why="dropped rows set in place on a copy"),
    variant("two_forward_passes", DM,
            "eps_cond, eps_null = net(torch.cat([x, x]), torch.cat([steps, steps]),\n"
            "                                         torch.cat([cond, null])).chunk(2)",
            "eps_cond, eps_null = net(x, steps, cond), net(x, steps, null)",
            why="conditional and unconditional predictions from two forward passes"),
    variant("always_guided_formula", DM, "if guidance_weight == 0:", "if False:",
            why="no shortcut at w = 0: both passes and eq. 6 at every weight"),
    variant("guidance_as_difference", DM, GUIDE, "eps = eps_cond + guidance_weight * (eps_cond - eps_null)",
            why="eq. 6 rearranged as cond + w (cond - uncond)"),
    variant("scaling_and_isin", IG, ".float() / 127.5 - 1", ".float() / 255 * 2 - 1",
            more=(Edit(IG, "keep = classes < len(CLASS_NAMES)", "keep = np.isin(classes, [0, 1, 2])"),),
            why="pixels scaled as x / 255 * 2 - 1; classes filtered with np.isin"),
]
