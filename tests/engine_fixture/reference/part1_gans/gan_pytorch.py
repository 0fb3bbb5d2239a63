import randomizer


def scale(x):
    return 2 * x - 1


def noise(n, device=None):
    return 2 * randomizer.rand((n, 3), device=device) - 1
