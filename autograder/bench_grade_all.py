"""``make bench``, whole-class part: ``grade-all`` throughput with 1 and 2 jobs.

Grades a small mixed class (the reference, the untouched release and catalogue
mistakes, in turn) from scratch with ``--jobs 1`` and ``--jobs 2`` and reports
submissions per minute. ``python -m autograder.bench_grade_all --size N`` grades N.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SIZE = 6
MISTAKES = ("noise_unshifted", "add_noise_missing_sqrt", "generator_sigmoid", "lerp_guidance", "labels_not_shifted")


def build_class(folder: Path, size: int) -> Path:
    """``size`` submissions: the reference, the untouched release, then mistakes (repeating)."""
    sys.path.insert(0, str(REPO_ROOT))
    from tests import catalogue_part1, catalogue_part2
    from tests.mutants import build_submission

    mutants = {m.name: m for m in catalogue_part1.MUTANTS + catalogue_part2.MUTANTS}
    release = REPO_ROOT / "release" / "hw4"
    for index in range(size):
        if index == 0:
            build_submission(folder / "s00_reference")
        elif index == 1:
            with zipfile.ZipFile(folder / "s01_untouched.zip", "w") as archive:
                for path in sorted(release.rglob("*")):
                    if path.is_file():
                        archive.write(path, "hw4/" + path.relative_to(release).as_posix())
        else:
            name = MISTAKES[(index - 2) % len(MISTAKES)]
            build_submission(folder / f"s{index:02d}_{name}", mutants[name].edits)
    return folder


def throughput(roots: list[Path], out: Path, jobs: int) -> dict:
    from .grade_all import grade_all

    started = time.perf_counter()
    summary = grade_all(roots, out, jobs=jobs, force=True, progress=False)
    wall = time.perf_counter() - started
    return {"jobs": summary.jobs, "graded": summary.graded, "wall_s": wall,
            "per_minute": 60.0 * summary.graded / wall if wall else 0.0, "errors": summary.errors}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.bench_grade_all", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="submissions in the class")
    args = parser.parse_args(argv)
    import os

    cores = len(os.sched_getaffinity(0))
    print(f"grade-all on a class of {args.size} (reference, untouched release, mistakes), {cores} cores here")
    with tempfile.TemporaryDirectory(prefix="hw4-bench-class-") as scratch:
        roots = [build_class(Path(scratch) / "class", args.size)]
        figures = [throughput(roots, Path(scratch) / f"out{jobs}", jobs) for jobs in (1, 2)]
    for f in figures:
        errors = f" ({len(f['errors'])} not finished)" if f["errors"] else ""
        print(f"  --jobs {f['jobs']}        {f['per_minute']:5.1f} submissions/minute "
              f"({f['graded']} in {f['wall_s']:.1f} s){errors}")
    if figures[0]["wall_s"]:
        print(f"  speed-up         {figures[0]['wall_s'] / figures[1]['wall_s']:.2f}x with 2 jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
