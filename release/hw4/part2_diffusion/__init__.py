"""Part 2: denoising diffusion (DDPM) with classifier-free guidance."""
