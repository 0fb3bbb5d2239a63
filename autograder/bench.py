"""``make bench``: how fast and how small the grader is, plus the model benchmarks.

Grades the full reference on one core (``taskset -c 0``, as close as this machine
gets to Gradescope's 0.5 CPU) and reports the wall time and the peak resident
memory of the grading process and of the largest child. Targets: at most 15 s
wall and 700 MB per process.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.manifest import current

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_WALL_S = 15.0
TARGET_MB = 700.0

_PROBE = r"""
import json, resource, sys, time
from autograder.engine import grade_folder
started = time.perf_counter()
report = grade_folder(sys.argv[1], device="cpu", budget_s=float(sys.argv[2]) if len(sys.argv) > 2 else None)
wall = time.perf_counter() - started
print(json.dumps({
    "wall_s": wall,
    "score": report.score, "max_score": report.max_score, "checks": len(report.tests),
    "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "child_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    "child_anon_mb": report.peak_child_mb,
}))
"""


def grader_benchmark(submission: Path) -> dict:
    command = [sys.executable, "-c", _PROBE, str(submission)]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


TARGET_WORST_S = 180.0
TARGET_LATER_CHECK_S = 1.5

_LATENCY = r"""
import json, os, sys, time
from autograder.notebook import check
os.chdir(sys.argv[1])
seconds = []
for function in sys.argv[2:]:
    started = time.perf_counter()
    check(function)
    seconds.append(time.perf_counter() - started)
print(json.dumps(seconds))
"""


def check_latency(folder: Path, functions: list[str]) -> list[float]:
    """Seconds per notebook ``check(...)`` call, in one process (as in a notebook)."""
    command = [sys.executable, "-c", _LATENCY, str(folder), *functions]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def looping_submission(folder: Path) -> Path:
    """The reference with an infinite loop in every student function."""
    sys.path.insert(0, str(REPO_ROOT))
    from tests.mutants import add_infinite_loops, build_submission

    return add_infinite_loops(build_submission(folder), all)


def main(argv=None) -> int:
    import tempfile

    verdict = lambda ok: "ok" if ok else "OVER TARGET"  # noqa: E731
    functions = ["sample_noise", "bce_loss", "NoiseScheduler.add_noise", "discriminator", "train_gan"]
    print("Notebook checks, one core: check(...) in one process, as a notebook calls them")
    latency = check_latency(current().source_dir, functions)
    for function, seconds in zip(functions, latency):
        print(f"  {function:<26} {seconds:5.2f} s")
    later = max(latency[1:])
    print(f"  first call {latency[0]:.1f} s (starts the grading server); later calls at most {later:.2f} s "
          f"(target < {TARGET_LATER_CHECK_S:g} s: {verdict(later < TARGET_LATER_CHECK_S)})\n")
    print("Grader, worst case: every student function loops forever, one core")
    with tempfile.TemporaryDirectory() as scratch:
        worst = grader_benchmark(looping_submission(Path(scratch) / "loops"))
    print(f"  score            {worst['score']:g}/{worst['max_score']:g} ({worst['checks']} checks)")
    print(f"  wall time        {worst['wall_s']:.1f} s   (target <= {TARGET_WORST_S:.0f} s: "
          f"{verdict(worst['wall_s'] <= TARGET_WORST_S)}; Gradescope's default timeout is 600 s)")
    print("Grader, full reference, one core")
    figures = grader_benchmark(current().source_dir)
    print(f"  score            {figures['score']:g}/{figures['max_score']:g} ({figures['checks']} checks)")
    print(f"  wall time        {figures['wall_s']:.1f} s   (target <= {TARGET_WALL_S:.0f} s: "
          f"{verdict(figures['wall_s'] <= TARGET_WALL_S)})")
    print(f"  parent peak RSS  {figures['parent_peak_mb']:.0f} MB (target <= {TARGET_MB:.0f} MB: "
          f"{verdict(figures['parent_peak_mb'] <= TARGET_MB)})")
    print(f"  child peak RSS   {figures['child_peak_mb']:.0f} MB (target <= {TARGET_MB:.0f} MB: "
          f"{verdict(figures['child_peak_mb'] <= TARGET_MB)})")
    print(f"  child peak anon  {figures['child_anon_mb']:.0f} MB (sampled every 0.25 s: the memory the child "
          "allocated itself)")
    print("  (peak RSS includes the mapped torch libraries: the CUDA build used here maps far more\n"
          "   than the CPU build that the Gradescope image installs)")
    from autograder import bench_grade_all
    from autograder.cli import _tools, run_tool

    print("\nWhole class")
    bench_grade_all.main([])
    status = 0
    for name, title in (("bench-diffusion", "Diffusion model"), ("bench-policy", "Diffusion policy")):
        tool = _tools().get(name)
        if tool is not None:
            print(f"\n{title}")
            status = run_tool(tool, []) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
