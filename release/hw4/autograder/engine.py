"""Grading: build a clean work folder, run the checks in the sandbox, judge, report.

The process that runs this module never imports student code (nor torch): it
copies the provided files from the release, overlays the whitelisted student
files, lets :mod:`autograder.sandbox` run the checks in child processes and
compares what came back with the stored answers.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import stat
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from . import npzio
from . import manifest
from .checks import all_checks
from .checks.api import Check, View
from .compare import judge
from .results import Report
from .sandbox import UNMEASURED_LIMIT_S, Limits, run_checks
from .written import UNANSWERED

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent
MAX_FILE_BYTES = 20 * 2**20
# Time limits from measurement: each check may take TIME_MULTIPLE times as long as
# the reference did when the answers were made (on one core), and never less than
# TIME_FLOOR_S: room for a slow but correct solution (a Python loop over the
# elements, say) on Gradescope's half CPU.
TIMINGS_FILE = "timings.json"
TIME_FLOOR_S = 5.0
TIME_MULTIPLE = 25.0
# Gradescope stops an autograder after 10 minutes by default; the default budget
# leaves room for starting Python, judging and writing results.json.
DEFAULT_BUDGET_S = 420.0
# Of any budget, this much is kept for judging and writing the results.
RESULTS_RESERVE_S = 10.0
# Spelled in two parts so that this file itself never contains the fence.
SOLUTION_FENCE = ("### BEGIN " + "SOLUTION").encode()


class SubmissionError(Exception):
    pass


def provided_root() -> Path:
    """Where the provided (non-student) files come from: the release, else the source,
    else the student's own copy (see :meth:`manifest.Assignment.provided_dir`)."""
    override = os.environ.get("HW4_PROVIDED")
    if override:
        return Path(override)
    try:
        return manifest.current().provided_dir()
    except manifest.ManifestError as error:
        raise SubmissionError(str(error)) from None


def provided_files(root: Path) -> dict[str, bytes]:
    """Every provided .py file (not the student modules, not the autograder copy)."""
    files = {}
    assignment = manifest.current()
    student_modules = assignment.student_modules
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in student_modules or assignment.is_instructor_only(rel) or rel.split("/")[0] in ("autograder", "__pycache__") \
                or "/__pycache__/" in rel or ".ipynb_checkpoints" in rel:
            continue
        data = path.read_bytes()
        if SOLUTION_FENCE in data:
            raise SubmissionError(f"provided file {rel} contains a solution fence")
        files[rel] = data
    return files


def read_submission(path: Path) -> tuple[dict[str, bytes], list[str]]:
    """The whitelisted student files of a folder or zip, and notes for the student.

    Accepts the files at their paths relative to ``hw4/`` or inside one extra
    enclosing folder (as zip tools often add). Links and oversized files are refused.
    """
    path = Path(path)
    notes: list[str] = []
    entries: dict[str, bytes] = {}
    assignment = manifest.current()
    submitted = assignment.submitted
    if path.is_dir():
        for item in sorted(path.rglob("*")):
            rel = item.relative_to(path).as_posix()
            if item.is_symlink():
                if any(rel.endswith(s) for s in submitted):
                    notes.append(f"{rel}: links are not accepted; upload the file itself")
                continue
            if item.is_file() and any(rel == s or rel.endswith("/" + s) for s in submitted):
                if item.stat().st_size > MAX_FILE_BYTES:
                    notes.append(f"{rel}: larger than {MAX_FILE_BYTES >> 20} MB, ignored")
                    continue
                entries[rel] = item.read_bytes()
    elif path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                rel = PurePosixPath(info.filename).as_posix()
                if info.is_dir() or not any(rel == s or rel.endswith("/" + s) for s in submitted):
                    continue
                if ".." in PurePosixPath(rel).parts or rel.startswith("/"):
                    notes.append(f"{rel}: unsafe path in the zip, ignored")
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    notes.append(f"{rel}: links are not accepted; upload the file itself")
                    continue
                if info.file_size > MAX_FILE_BYTES:
                    notes.append(f"{rel}: larger than {MAX_FILE_BYTES >> 20} MB, ignored")
                    continue
                with archive.open(info) as member:
                    data = member.read(MAX_FILE_BYTES + 1)
                if len(data) > MAX_FILE_BYTES:
                    notes.append(f"{rel}: larger than {MAX_FILE_BYTES >> 20} MB, ignored")
                    continue
                entries[rel] = data
    elif not path.exists():
        raise SubmissionError(f"submission not found: {path}")
    else:
        raise SubmissionError(f"submission must be a folder or a .zip file: {path}")

    chosen: dict[str, bytes] = {}
    for wanted in submitted:
        exact = [rel for rel in entries if rel == wanted]
        nested = [rel for rel in entries if rel.endswith("/" + wanted) and rel.count("/") == wanted.count("/") + 1]
        pick = exact or nested
        if pick:
            chosen[wanted] = entries[sorted(pick)[0]]
            if len(pick) > 1:
                notes.append(f"{wanted}: found {len(pick)} copies, graded {sorted(pick)[0]}")
        elif any(rel.endswith("/" + wanted) for rel in entries):
            deep = sorted(rel for rel in entries if rel.endswith("/" + wanted))[0]
            notes.append(f"{wanted}: found only at {deep}, which is nested too deeply; "
                         "zip the hw4 folder's contents (or the hw4 folder itself)")
    missing = [m for m in assignment.student_modules if m not in chosen]
    if missing:
        notes.append("missing from the submission (their checks score 0): " + ", ".join(missing))
    return chosen, notes


def notebook_notes(student: dict[str, bytes]) -> list[str]:
    """What graders of the written work will miss in the submitted notebooks (missing,
    unreadable, never executed, written answers left unanswered). Information only:
    the notebooks earn no code points."""
    notes = []
    for name in manifest.current().notebooks:
        data = student.get(name)
        if data is None:
            notes.append(f"  - {name}: not in the submission; the graders read your figures and "
                         "written answers there")
            continue
        try:
            cells = json.loads(data.decode("utf-8"))["cells"]
            cells = [c for c in cells if isinstance(c, dict)]
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            notes.append(f"  - {name}: not a readable notebook; save it again from Jupyter and resubmit")
            continue
        code = [c for c in cells if c.get("cell_type") == "code" and "".join(c.get("source") or "").strip()]
        if code and not any(c.get("execution_count") for c in code):
            notes.append(f"  - {name}: never executed, so it shows no figures; run all cells, save, resubmit")
        unanswered = [str(c.get("metadata", {}).get("nbgrader", {}).get("grade_id") or c.get("id") or "?")
                      for c in cells if c.get("cell_type") == "markdown"
                      and c.get("metadata", {}).get("nbgrader", {}).get("solution")
                      and UNANSWERED in "".join(c.get("source") or "")]
        if unanswered:
            notes.append(f"  - {name}: written answers still say {UNANSWERED!r}: {', '.join(unanswered)}")
    if notes:
        notes.insert(0, "Notebooks (for the written part, graded by people; no effect on these points):")
    return notes


def build_workspace(student: dict[str, bytes], dest: Path, provided: Path | None = None) -> Path:
    """A fresh hw4 folder: provided files from the release plus the student's files."""
    hw4 = dest / manifest.current().name
    files = provided_files(provided or provided_root())
    files.update(student)
    for rel, data in files.items():
        target = hw4 / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for folder in [dest, *[p for p in hw4.rglob("*") if p.is_dir()], hw4]:
        os.chmod(folder, 0o755)
    for item in hw4.rglob("*"):
        if item.is_file():
            os.chmod(item, 0o644)
    return hw4


def select_checks(only: str | None = None, include_hidden: bool = True,
                  function: str | None = None, hidden_only: bool = False) -> list[Check]:
    chosen = all_checks(include_hidden or hidden_only)
    if hidden_only:
        chosen = [c for c in chosen if c.hidden]
    if only:
        prefixes = [p.strip() for p in only.split(",") if p.strip()]
        chosen = [c for c in chosen if any(c.id == p or c.id.startswith(p.rstrip(".") + ".") for p in prefixes)]
    if function:
        chosen = [c for c in chosen if c.function == function or c.function.split(".")[-1] == function]
    return chosen


def answers_dir() -> Path:
    return Path(os.environ.get("HW4_ANSWERS_DIR") or manifest.current().answers_dir)


def answer_path(hidden: bool) -> Path:
    return answers_dir() / ("hidden.npz" if hidden else "public.npz")


def load_answers(include_hidden: bool = True) -> dict[str, View]:
    """Stored answers, grouped by check id."""
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for hidden in ((False, True) if include_hidden else (False,)):
        path = answer_path(hidden)
        if not path.exists():
            continue
        for name, array in npzio.load(path).items():
            cid, _, key = name.partition("/")
            grouped.setdefault(cid, {})[key] = array
    views = {}
    for cid, arrays in grouped.items():
        meta = npzio.from_json_array(arrays.pop("__meta__")) if "__meta__" in arrays else {}
        views[cid] = View(arrays, meta)
    return views


def timings_path() -> Path:
    return answers_dir() / TIMINGS_FILE


def load_timings() -> dict[str, float]:
    """The reference's run time per check id, in seconds (empty if never measured)."""
    try:
        data = json.loads(timings_path().read_text())
        return {str(k): float(v) for k, v in data.get("seconds", {}).items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def time_limits(checks, timings: dict[str, float]) -> dict[str, float]:
    """Each check's time limit in seconds: measured where possible, else its own default."""
    limits = {}
    for check in checks:
        floor = TIME_FLOOR_S if check.timeout is None else check.timeout
        if check.id in timings:
            limits[check.id] = max(floor, TIME_MULTIPLE * timings[check.id])
        else:
            limits[check.id] = max(floor, UNMEASURED_LIMIT_S)
    return limits


def protect_secrets() -> None:
    """As root, make the answers and the reference unreadable to the sandbox user."""
    if os.geteuid() != 0:
        return
    for secret in (answers_dir(), manifest.current().course_root / "source"):
        if secret.exists():
            os.chmod(secret, 0o700)


def grade_folder(submission, device: str = "cpu", include_hidden: bool = True,
                 only: str | None = None, function: str | None = None,
                 limits: Limits | None = None, hidden_only: bool = False,
                 budget_s: float | None = None) -> Report:
    """Grade a folder or zip of student files. Never raises for bad submissions.

    ``only``: comma-separated check-id prefixes; ``function``: the graded function's
    name; ``hidden_only``: just the hidden checks (nbgrader's hidden test cells);
    ``budget_s``: wall-clock seconds for the whole run (None: no budget). The checks
    stop ``RESULTS_RESERVE_S`` before the budget ends, and whatever had not run by
    then fails with a message saying so.
    """
    started = time.monotonic()
    checks = select_checks(only, include_hidden, function, hidden_only)
    report = Report()
    try:
        student, notes = read_submission(Path(submission))
    except SubmissionError as error:
        student, notes = {}, [str(error)]
    protect_secrets()
    answers = load_answers(include_hidden)
    timeouts = time_limits(checks, load_timings())
    deadline = None
    if budget_s is not None:
        deadline = started + max(budget_s - min(RESULTS_RESERVE_S, 0.2 * budget_s), 0.0)
    workdir = Path(tempfile.mkdtemp(prefix="grade-"))
    try:
        hw4 = build_workspace(student, workdir)
        outcomes = run_checks(hw4, checks, device=device, limits=limits, workdir=workdir,
                              timeouts=timeouts, deadline=deadline, budget_s=budget_s)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report.peak_child_mb = max((o.peak_mb for o in outcomes.values()), default=0.0)
    for check in checks:
        verdict = judge(check, outcomes[check.id], answers.get(check.id), device)
        report.tests.append({
            "id": check.id, "name": check.title, "function": check.function,
            "score": verdict.score, "max_score": verdict.max_score,
            "status": "passed" if verdict.passed else "failed",
            "output": verdict.output, "visibility": check.visibility,
        })
    report.output = "\n".join(notes + notebook_notes(student))
    report.execution_time = time.monotonic() - started
    return report


def generate_answers(source: Path | None = None, only: str | None = None) -> dict[str, Path]:
    """Run every check on the reference and store its outputs (public and hidden).

    With ``only``, the other checks' stored answers are kept as they are.
    """
    source = Path(source or manifest.current().source_dir)
    checks = select_checks(only, include_hidden=True)
    outcomes = run_checks(source, checks, device="cpu", drop_privileges=False,
                          limits=Limits(memory_mb=0, rss_mb=16384, time_scale=4.0))
    failures = {cid: o.error for cid, o in outcomes.items() if o.error is not None}
    if failures:
        lines = "\n".join(f"  {cid}: {err}" for cid, err in failures.items())
        raise RuntimeError(f"the reference fails {len(failures)} check(s):\n{lines}")
    selected = {c.id for c in checks}
    written = {}
    answers_dir().mkdir(parents=True, exist_ok=True)
    write_timings({c.id: outcomes[c.id].elapsed or 0.0 for c in checks}, keep_others=bool(only))
    written["timings"] = timings_path()
    for hidden in (False, True):
        path = answer_path(hidden)
        arrays = {}
        if path.exists() and only:
            arrays = {name: a for name, a in npzio.load(path).items() if name.partition("/")[0] not in selected}
        for check in checks:
            if check.hidden != hidden:
                continue
            outcome = outcomes[check.id]
            for key, array in outcome.arrays.items():
                arrays[f"{check.id}/{key}"] = array
            arrays[f"{check.id}/__meta__"] = npzio.json_array(outcome.meta)
        npzio.save(path, arrays)
        written["hidden" if hidden else "public"] = path
    return written


def write_timings(measured: dict[str, float], keep_others: bool = False) -> None:
    """Store the reference's run time per check, rounded up to 10 ms (a measurement:
    unlike the answers it differs from run to run, so it lives in its own file)."""
    seconds = load_timings() if keep_others else {}
    seconds.update({cid: math.ceil(max(t, 0.0) * 100) / 100 for cid, t in measured.items()})
    document = {
        "about": ("Seconds the reference took per check on one CPU core when the answers were made "
                  f"(python -m autograder answers). Each check's time limit is {TIME_MULTIPLE:g} times "
                  f"this, at least {TIME_FLOOR_S:g} s (or the check's own floor). cpu_capability: the vector instructions torch "
                  "used; float32 kernels differ in the last bits between them, so the answers are "
                  "byte-for-byte reproducible on a CPU of the same capability."),
        "cpu_capability": cpu_capability(),
        "seconds": dict(sorted(seconds.items())),
    }
    timings_path().write_text(json.dumps(document, indent=1) + "\n")


def cpu_capability() -> str:
    """torch's CPU vector capability here (e.g. AVX2, AVX512), asked in a separate
    process so that this one never imports torch."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                          capture_output=True, text=True, timeout=300)
    return done.stdout.strip() or "unknown"


def stored_cpu_capability() -> str | None:
    try:
        return json.loads(timings_path().read_text()).get("cpu_capability")
    except (OSError, ValueError, AttributeError):
        return None
