"""Build the Gradescope autograder zip: ``python -m autograder gradescope --out autograder.zip``.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once when
the image is built and ``run_autograder`` for every submission (files under
``/autograder/submission``, results to ``/autograder/results/results.json``).

The zip holds the engine, every check (public and hidden), the stored answers and
the provided files of the student release. It never holds ``source/``: the
reference solution does not exist on Gradescope, so no check can leak it.
"""
from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

from .manifest import MANIFEST, current

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent
_EPOCH = (1980, 1, 1, 0, 0, 0)

# Modules that are instructor tooling, not grading: left out of the zip.
NOT_SHIPPED = {"release.py", "gradescope.py", "book.py", "grade_all.py", "class_report.py"}

SETUP_SH = r"""#!/usr/bin/env bash
# Runs once while Gradescope builds the autograder image (Ubuntu, as root).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive
if ! command -v python3 >/dev/null || ! python3 -c "import venv, ensurepip" 2>/dev/null; then
  apt-get update -qq
  apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install -q --upgrade pip
# A CPU build of PyTorch: a fraction of the CUDA build's size and memory.
"$ROOT/venv/bin/pip" install -q --index-url https://download.pytorch.org/whl/cpu torch torchvision
"$ROOT/venv/bin/pip" install -q -r "$ROOT/source/requirements.txt"
# Student code runs under a fresh unprivileged uid; it cannot read the answers.
chmod 700 "$ROOT/source/autograder/answers"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission. It always leaves a valid results.json.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${HW4_PYTHON:-$ROOT/venv/bin/python}"
RESULTS="$ROOT/results/results.json"
# Seconds for the whole grading run. Keep it below the autograder timeout set in
# Gradescope's "Autograder Settings" (10 minutes by default): checks still running
# when the budget ends fail with a message, and results.json is written in time.
BUDGET="${HW4_BUDGET:-420}"
mkdir -p "$ROOT/results"
cd "$ROOT/source" || exit 1
"$PYTHON" -m autograder grade "$ROOT/submission" --json "$RESULTS" --device "${HW4_DEVICE:-cpu}" \
  --budget "$BUDGET"
status=$?
if [ ! -s "$RESULTS" ]; then
  printf '%s\n' '{"score": 0, "execution_time": 0, "output": "The autograder could not run. Please contact the course staff.", "tests": []}' > "$RESULTS"
fi
exit $status
"""


def _shipped_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(PACKAGE_ROOT.rglob("*")):
        rel = path.relative_to(PACKAGE_ROOT)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix in (".pyc", ".tmp"):
            continue
        if rel.as_posix() in NOT_SHIPPED or rel.name.startswith("bench") or rel.parts[0] == "templates":
            continue
        files[f"autograder/{rel.as_posix()}"] = path.read_bytes()
    assignment = current()
    release = assignment.release_dir
    where = release.relative_to(assignment.course_root).as_posix()
    if not (release / MANIFEST).is_file():
        raise SystemExit(f"{where} is missing: run `python -m autograder release` first")
    files[f"{where}/{MANIFEST}"] = (release / MANIFEST).read_bytes()
    for path in sorted(release.rglob("*.py")):
        rel = path.relative_to(release)
        if rel.parts[0] in ("autograder", "__pycache__") or "__pycache__" in rel.parts:
            continue
        files[f"{where}/{rel.as_posix()}"] = path.read_bytes()
    for module in [m for m, _ in assignment.check_modules(include_hidden=True)] + list(assignment.check_support):
        rel = module.replace(".", "/") + ".py"  # check modules (and their support) outside the package
        if not rel.startswith("autograder/"):
            files[rel] = (assignment.course_root / rel).read_bytes()
    answers = assignment.answers_dir
    if not assignment.answers.startswith("autograder/"):
        for name in ("public.npz", "hidden.npz", "timings.json"):
            if (answers / name).is_file():
                files[f"{assignment.answers}/{name}"] = (answers / name).read_bytes()
    files["requirements.txt"] = (REPO_ROOT / "requirements.txt").read_bytes()
    files["setup.sh"] = SETUP_SH.replace("autograder/answers", assignment.answers).encode()
    files["run_autograder"] = RUN_AUTOGRADER.encode()
    for name, data in files.items():
        if b"### BEGIN SOLUTION" in data or b"### BEGIN HIDDEN TESTS" in data:
            raise SystemExit(f"refusing to ship {name}: it contains a solution or hidden-test fence")
    return files


def build_zip(out: Path) -> Path:
    """Write the autograder zip (byte-for-byte reproducible)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(_shipped_files().items()):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = name in ("setup.sh", "run_autograder")
            info.external_attr = (0o755 if executable else 0o644) << 16
            archive.writestr(info, data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder gradescope")
    parser.add_argument("--out", default="autograder.zip", type=Path)
    args = parser.parse_args(argv)
    path = build_zip(args.out)
    with zipfile.ZipFile(path) as archive:
        count = len(archive.namelist())
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB, {count} files)")
    return 0
