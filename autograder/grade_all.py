"""``python -m autograder grade-all`` and ``merge``: grade a whole class at once.

``grade-all SUBMISSIONS... --out DIR`` finds every submission under the given
folders (see :func:`discover` for the three layouts), grades each one with the
same engine as ``python -m autograder grade`` in its own grading process (its
own fork server, its own sandbox uid when run as root, its own CPU core, the
usual per-check memory and time limits and the per-submission budget), ``--jobs``
at a time, and writes into DIR:

* ``submissions/<key>/results.json``: Gradescope's results, exactly as ``grade --json``
  writes them, and ``submissions/<key>/graded.json``: who, from where, and the
  content hash of the graded files (what a rerun compares);
* ``grades.csv``, ``report.md``, ``report.html``, ``histogram.svg`` (see
  :mod:`autograder.class_report`) and ``index.json`` (the submissions of this run).

A rerun grades only submissions whose graded files, or the grader (checks,
stored answers, provided files, options), changed since; ``--force`` regrades all.
``--shard I/N`` grades a fixed share (a hash of each submission's key), so shards
can run on different machines; ``merge DIR... --out DIR`` joins their outputs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Sequence

from .engine import DEFAULT_BUDGET_S
from .manifest import current

PACKAGE_ROOT = Path(__file__).resolve().parent
ASSIGNMENT = current().name  # nbgrader's folder name: submitted/<student>/<name>
GRADESCOPE_METADATA = "submission_metadata.yml"
# Zips inside a submission are opened this many levels deep (a zip of the zip
# that collect_submission.py made, say), and only up to this size.
MAX_NESTING = 2
MAX_INNER_ZIP_BYTES = 200 * 2**20
# Resident memory of one grading process and its fork server (torch loaded), on top
# of the student's own limit: what each parallel job is charged when sharing memory.
GRADER_OVERHEAD_MB = 700
# A grading process gets this long past its budget before it is stopped from outside.
GRACE_S = 240.0
FORMAT_VERSION = 1


class InputError(Exception):
    """Bad input from the instructor: a clear message, nothing written."""


@dataclass(frozen=True)
class Submission:
    """One student's (or group's) submission as found on disk.

    ``key``: unique, file-name safe; names the output folder and decides the shard.
    ``path``: the folder or zip to grade. ``layout``: folder, zip, gradescope or nbgrader.
    """

    key: str
    student: str
    sid: str
    path: Path
    layout: str


@dataclass
class Options:
    """What decides a submission's grade besides its files (part of the cache key)."""

    device: str = "cpu"
    include_hidden: bool = True
    only: str | None = None
    budget_s: float | None = DEFAULT_BUDGET_S
    time_scale: float = 1.0


@dataclass
class Summary:
    total: int = 0                 # submissions in this share
    graded: int = 0                # graded in this run
    reused: int = 0                # unchanged, results kept
    errors: list[str] = field(default_factory=list)   # keys the grader could not finish
    jobs: int = 1
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ discovery

def safe_key(name: str) -> str:
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")
    return key or "submission"


def _ignored(path: Path) -> bool:
    return path.name.startswith((".", "__")) or path.is_symlink()


def discover(roots: Sequence[Path], exclude: Path | None = None, assignment: str = ASSIGNMENT) -> list[Submission]:
    """Every submission under ``roots``, sorted by key. Each root is one of:

    * a Gradescope "Export submissions" folder (``submission_metadata.yml`` next to
      ``submission_<id>/`` folders; names and ids come from the metadata), or the
      folder that holds it;
    * an nbgrader course root or its ``submitted/`` folder (``<student>/<assignment>/``);
    * a folder of per-student folders or zips (the student is the folder or zip name).

    ``exclude``: a folder never taken as a submission (the output folder).
    """
    found: list[Submission] = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise InputError(f"{root}: no such folder")
        if not root.is_dir():
            raise InputError(f"{root}: grade-all reads a folder of submissions; unzip it first "
                             "(one submission is graded with `python -m autograder grade`)")
        found.extend(_discover_root(root, exclude, assignment))
    by_key: dict[str, list[Submission]] = {}
    for item in found:
        by_key.setdefault(item.key, []).append(item)
    clashes = {k: v for k, v in by_key.items() if len(v) > 1}
    if clashes:
        lines = [f"{k}: " + ", ".join(str(s.path) for s in v) for k, v in sorted(clashes.items())]
        raise InputError("two submissions would share one name (rename one of them):\n  " + "\n  ".join(lines))
    return sorted(found, key=lambda s: s.key)


def _discover_root(root: Path, exclude: Path | None, assignment: str) -> list[Submission]:
    exports = [root] if (root / GRADESCOPE_METADATA).is_file() else \
        [p for p in sorted(root.iterdir()) if p.is_dir() and (p / GRADESCOPE_METADATA).is_file()]
    if exports:
        return [s for export in exports for s in _gradescope_export(export)]
    if (root / "submitted").is_dir():
        root = root / "submitted"
    excluded = exclude.resolve() if exclude is not None else None
    found = []
    for entry in sorted(root.iterdir()):
        if _ignored(entry) or entry.resolve() == excluded:
            continue
        if entry.is_dir():
            nbgrader = entry / assignment
            if nbgrader.is_dir():
                found.append(Submission(safe_key(entry.name), entry.name, entry.name, nbgrader, "nbgrader"))
            else:
                found.append(Submission(safe_key(entry.name), entry.name, "", entry, "folder"))
        elif entry.suffix.lower() == ".zip":
            found.append(Submission(safe_key(entry.stem), entry.stem, "", entry, "zip"))
    return found


def _gradescope_export(export: Path) -> list[Submission]:
    """The submissions of a Gradescope export, named from ``submission_metadata.yml``
    (keys like ``submission_123`` mapping to ``:submitters: [{:name:, :sid:, :email:}]``)."""
    try:
        import yaml
    except ImportError:
        raise InputError("reading a Gradescope export needs PyYAML (pip install pyyaml)") from None
    class Loader(yaml.SafeLoader):
        """Safe, and reads Ruby's tagged values (``!ruby/object:BigDecimal``, ...) as plain data."""

    def untagged(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", untagged)
    try:
        metadata = yaml.load((export / GRADESCOPE_METADATA).read_text("utf-8"), Loader=Loader) or {}
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"{export / GRADESCOPE_METADATA}: cannot be read ({error})") from None
    if not isinstance(metadata, dict):
        raise InputError(f"{export / GRADESCOPE_METADATA}: expected a mapping of submission folders")
    found = []
    for folder in sorted(p for p in export.iterdir() if p.is_dir() and not _ignored(p)):
        info = metadata.get(folder.name) or {}
        submitters = _field(info, "submitters") or []
        names = [str(_field(s, "name") or "") for s in submitters if isinstance(s, dict)]
        ids = [str(_field(s, "sid") or _field(s, "email") or "") for s in submitters if isinstance(s, dict)]
        student = " & ".join(n for n in names if n) or folder.name
        found.append(Submission(safe_key(folder.name), student, ";".join(i for i in ids if i), folder, "gradescope"))
    return found


def _field(mapping, name: str):
    """Gradescope writes Ruby symbols as keys (``:name``); accept plain keys too."""
    if not isinstance(mapping, dict):
        return None
    return mapping.get(":" + name, mapping.get(name))


def in_shard(key: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``key`` belongs to shard ``(index, count)``: a hash of the key, so a
    submission stays in its shard when others are added or removed."""
    if shard is None:
        return True
    index, count = shard
    return int(hashlib.sha256(key.encode()).hexdigest()[:16], 16) % count == index


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match or int(match[2]) < 1 or int(match[1]) >= int(match[2]):
        raise argparse.ArgumentTypeError(
            f"--shard must be I/N with 0 <= I < N (e.g. 0/4 for the first of four), not {text!r}")
    return int(match[1]), int(match[2])


# ------------------------------------------------------------------ contents

def unwrap(submission: Submission, scratch: Path) -> tuple[Path, dict[str, bytes], list[str]]:
    """The path to grade, its graded files and the engine's notes.

    A submission whose folder or zip holds none of the graded files but exactly
    one zip (a zipped zip, or a student folder with the uploaded zip in it) is
    graded from that inner zip, up to ``MAX_NESTING`` levels down.
    """
    from .engine import SubmissionError, read_submission

    path = submission.path
    for depth in range(MAX_NESTING + 1):
        try:
            files, notes = read_submission(path)
        except (SubmissionError, zipfile.BadZipFile, OSError) as error:   # graded as empty, as by grade
            files, notes = {}, [str(error)]
        if files or depth == MAX_NESTING:
            return path, files, notes
        try:
            inner = _single_inner_zip(path, scratch / f"{submission.key}-{depth + 1}.zip")
        except (zipfile.BadZipFile, OSError):
            inner = None
        if inner is None:
            return path, files, notes
        path = inner
    return path, files, notes


def _single_inner_zip(path: Path, extract_to: Path) -> Path | None:
    if path.is_dir():
        zips = [p for p in sorted(path.rglob("*.zip"))
                if p.is_file() and not p.is_symlink() and len(p.relative_to(path).parts) <= 2]
        return zips[0] if len(zips) == 1 else None
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as archive:
        members = [i for i in archive.infolist() if not i.is_dir() and i.filename.lower().endswith(".zip")
                   and "__MACOSX" not in PurePosixPath(i.filename).parts]
        if len(members) != 1 or members[0].file_size > MAX_INNER_ZIP_BYTES:
            return None
        extract_to.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(members[0]) as source:
            data = source.read(MAX_INNER_ZIP_BYTES + 1)
    if len(data) > MAX_INNER_ZIP_BYTES:
        return None
    extract_to.write_bytes(data)
    return extract_to


def content_hash(files: dict[str, bytes], notes: Sequence[str]) -> str:
    """SHA-256 of the graded files (path and bytes) and of the engine's notes on them."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(f"{rel}\0{len(files[rel])}\0".encode())
        digest.update(files[rel])
    digest.update("\0".join(notes).encode())
    return digest.hexdigest()


def grader_fingerprint(options: Options) -> str:
    """SHA-256 of what else decides a grade: the checks, the comparison, the stored
    answers and time measurements, the provided files, and the options."""
    from .engine import answers_dir, provided_files, provided_root

    digest = hashlib.sha256(json.dumps(asdict(options), sort_keys=True).encode())
    files = sorted((PACKAGE_ROOT / "checks").glob("*.py")) + [PACKAGE_ROOT / "compare.py"]
    files += sorted(p for p in answers_dir().glob("*") if p.is_file())
    for path in files:
        digest.update(f"{path.name}\0".encode())
        digest.update(path.read_bytes())
    for rel, data in sorted(provided_files(provided_root()).items()):
        digest.update(f"{rel}\0".encode())
        digest.update(data)
    return digest.hexdigest()


# ------------------------------------------------------------------ resources

def plan_jobs(requested: int | None, cores: Sequence[int] | None = None,
              free_mb: float | None = None) -> tuple[int, float, list[str]]:
    """(jobs, time scale, notes): how many submissions to grade at once.

    Each job gets its own core (children run one thread), so time limits mean what
    they mean for a lone submission; more jobs than cores share cores and every time
    limit grows by the same factor. Jobs are capped so that each can use the
    student's full memory limit plus the grader's own, so that one memory bomb
    never pushes another job out of memory.
    """
    from .sandbox import Limits

    cores = list(cores if cores is not None else sorted(os.sched_getaffinity(0)))
    jobs = len(cores) if requested is None else requested
    if jobs < 1:
        raise InputError("--jobs must be at least 1")
    notes = []
    free_mb = free_memory_mb() if free_mb is None else free_mb
    per_job = Limits().rss_mb + GRADER_OVERHEAD_MB
    fit = max(1, int(free_mb // per_job))
    if jobs > fit:
        notes.append(f"--jobs {jobs} lowered to {fit}: each job may use {per_job} MB "
                     f"(the student's limit plus the grader) and {free_mb:.0f} MB are free")
        jobs = fit
    scale = max(1.0, jobs / len(cores))
    if scale > 1:
        notes.append(f"{jobs} jobs share {len(cores)} cores: every time limit is multiplied by {scale:g}")
    return jobs, scale, notes


def free_memory_mb() -> float:
    """Memory this process may still use: the container's limit if it has one,
    else the machine's available memory."""
    from .sandbox import container_memory_mb

    container = container_memory_mb()
    if container is not None:
        limit, used = container
        return max(limit - used, 0.0)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return float("inf")


class _Uids:
    """A fresh sandbox uid for every submission of this run (as root), so the clean-up
    after one submission (which kills every process of its uid) touches no other."""

    def __init__(self):
        from .sandbox import _processes

        self._busy = {uid for _, uid, _, _ in _processes()}
        self._next = 1_500_000 + (os.getpid() * 7919 + time.monotonic_ns()) % 400_000
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            while self._next in self._busy:
                self._next += 1
            self._next += 1
            return self._next - 1


# ------------------------------------------------------------------ grading

def submission_dir(out: Path, key: str) -> Path:
    return out / "submissions" / key


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _complete(results: dict | None) -> bool:
    """Graded to the end: per-check results, none of them a failure of the grader itself."""
    tests = (results or {}).get("tests") or []
    return bool(tests) and not any(t.get("number") is None for t in tests) \
        and not any("grader error:" in str(t.get("output", "")) for t in tests)


def grade_one(submission: Submission, path: Path, out: Path, options: Options, cpus: Sequence[int],
              uid: int | None, time_scale: float, running: set | None = None) -> dict:
    """Grade one submission in its own process (the engine, as ``grade`` runs it);
    returns its results. The process is stopped if it outlives its budget.
    ``running``: where the process is listed while it runs (to stop it on an interrupt)."""
    folder = submission_dir(out, submission.key)
    folder.mkdir(parents=True, exist_ok=True)
    results_path = folder / "results.json"
    results_path.unlink(missing_ok=True)
    request = {"path": str(path), "json": str(results_path), "cpus": list(cpus),
               "options": asdict(options) | {"time_scale": options.time_scale * time_scale,
                                             "budget_s": options.budget_s and options.budget_s * time_scale}}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE_ROOT.parent),
                                                                    os.environ.get("PYTHONPATH")])))
    if uid is not None:
        env["HW4_SANDBOX_UID"] = str(uid)
    limit = None if not options.budget_s else options.budget_s * time_scale + GRACE_S
    process = subprocess.Popen([sys.executable, "-m", "autograder.grade_all", "--worker", json.dumps(request)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=env, start_new_session=True)
    entry = (process, uid)
    if running is not None:
        running.add(entry)
    try:
        log, _ = process.communicate(timeout=limit)
        stopped = None
    except subprocess.TimeoutExpired:
        stopped = f"grader error: grading did not finish within {limit:.0f} s and was stopped"
        _kill(process, uid)
        log, _ = process.communicate()
    finally:
        if running is not None:
            running.discard(entry)
    log_path = folder / "grader.log"
    if log.strip():
        log_path.write_bytes(log[-20000:])
    else:
        log_path.unlink(missing_ok=True)
    results = _read_json(results_path)
    if results is None or stopped:
        from .results import failure_results, write_results

        message = stopped or f"grader error: the grading process ended without results (exit code {process.returncode})"
        results = failure_results(message)
        write_results(results_path, results)
    return results


def _kill(process: subprocess.Popen, uid: int | None) -> None:
    """Stop a grading process, its fork server and every process of its sandbox uid."""
    from .sandbox import kill_all

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    kill_all(process.pid, uid)


def _worker(request: dict) -> int:
    """Inside the grading process: pin to the job's cores, grade, write results.json."""
    from .engine import grade_folder
    from .results import failure_results, write_results
    from .sandbox import Limits

    os.sched_setaffinity(0, request["cpus"])
    options = Options(**request["options"])
    try:
        report = grade_folder(request["path"], device=options.device, include_hidden=options.include_hidden,
                              only=options.only, limits=Limits(time_scale=options.time_scale),
                              budget_s=options.budget_s or None)
    except Exception as error:  # the grader's own failure: still leave a results file
        write_results(Path(request["json"]), failure_results(f"grader error: {type(error).__name__}: {error}"))
        raise
    report.write_json(Path(request["json"]))
    return 0


def grade_all(roots: Sequence[Path], out: Path, jobs: int | None = None, shard: tuple[int, int] | None = None,
              force: bool = False, options: Options | None = None, progress: bool = True) -> Summary:
    """Grade every submission under ``roots`` (this shard's share) into ``out``."""
    from .class_report import Record, write_outputs

    options = options or Options()
    out = Path(out)
    if jobs is not None and jobs < 1:
        raise InputError("--jobs must be at least 1")
    submissions = [s for s in discover(roots, exclude=out) if in_shard(s.key, shard)]
    out.mkdir(parents=True, exist_ok=True)
    summary = Summary(total=len(submissions))
    if os.geteuid() == 0:
        os.chmod(out, 0o700)   # the sandbox user must not read the class's results
        summary.notes += [f"{root} can be read by every user, including the sandboxed student code; "
                          f"consider chmod 700 {root}" for root in roots if Path(root).stat().st_mode & 0o004]
    fingerprint = grader_fingerprint(options)
    scratch = out / ".unpacked"
    todo = []
    for submission in submissions:
        path, files, notes = unwrap(submission, scratch)
        digest = content_hash(files, notes)
        stored = _read_json(submission_dir(out, submission.key) / "graded.json") or {}
        fresh = (stored.get("content_sha256") == digest and stored.get("grader_sha256") == fingerprint
                 and stored.get("complete") and (submission_dir(out, submission.key) / "results.json").is_file())
        if force or not fresh:
            todo.append((submission, path, digest))
    summary.reused = len(submissions) - len(todo)
    summary.jobs, scale, plan_notes = plan_jobs(min(jobs or len(os.sched_getaffinity(0)), max(len(todo), 1)))
    summary.notes += plan_notes
    cores = sorted(os.sched_getaffinity(0))
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(summary.jobs):
        slots.put(slot)
    uids = _Uids() if os.geteuid() == 0 else None
    running: set = set()

    def run(item):
        submission, path, digest = item
        slot = slots.get()
        try:
            results = grade_one(submission, path, out, options, [cores[slot % len(cores)]],
                                uids.take() if uids else None, scale, running)
        finally:
            slots.put(slot)
        complete = _complete(results)
        _write_json(submission_dir(out, submission.key) / "graded.json", {
            "format": FORMAT_VERSION, "key": submission.key, "student": submission.student,
            "sid": submission.sid, "layout": submission.layout, "source": str(submission.path),
            "content_sha256": digest, "grader_sha256": fingerprint, "complete": complete,
            "score": results.get("score", 0.0)})
        return submission, complete

    from tqdm import tqdm

    pool = ThreadPoolExecutor(max_workers=summary.jobs)
    with tqdm(total=len(todo), unit="submission", disable=not progress or not todo, dynamic_ncols=True,
              mininterval=0.5 if sys.stderr.isatty() else 30.0, desc="grading") as bar:
        try:
            for future in as_completed([pool.submit(run, item) for item in todo]):
                submission, complete = future.result()
                summary.graded += 1
                if not complete:
                    summary.errors.append(submission.key)
                    bar.write(f"{submission.key}: the grader could not finish (see "
                              f"{submission_dir(out, submission.key)}); it is regraded on the next run")
                bar.update(1)
        except BaseException:
            # Interrupted: nothing new starts, what runs is stopped, what finished is kept.
            pool.shutdown(wait=False, cancel_futures=True)
            for process, uid in list(running):
                _kill(process, uid)
            raise
        finally:
            pool.shutdown(wait=True)
    _cleanup(scratch)
    records = [Record.load(submission_dir(out, s.key)) for s in submissions]
    write_outputs(out, records, fingerprint=fingerprint, options=asdict(options))
    return summary


def _cleanup(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def merge(shards: Sequence[Path], out: Path) -> int:
    """Join the outputs of ``grade-all --shard`` runs into ``out``; returns the count."""
    import shutil

    from .class_report import Record, write_outputs

    out = Path(out)
    chosen: dict[str, tuple[Path, dict]] = {}
    fingerprints, option_sets = set(), set()
    for shard in shards:
        index = _read_json(Path(shard) / "index.json")
        if index is None:
            raise InputError(f"{shard}: no index.json; is it the --out folder of a grade-all run?")
        fingerprints.add(index.get("grader_sha256"))
        option_sets.add(json.dumps(index.get("options"), sort_keys=True))
        for key in index.get("submissions", []):
            folder = submission_dir(Path(shard), key)
            graded = _read_json(folder / "graded.json")
            if graded is None or not (folder / "results.json").is_file():
                raise InputError(f"{folder}: results missing; rerun that shard")
            if key in chosen and chosen[key][1].get("content_sha256") != graded.get("content_sha256"):
                raise InputError(f"{key} was graded from different files in {chosen[key][0]} and {shard}")
            chosen.setdefault(key, (Path(shard), graded))
    if len(fingerprints) > 1 or len(option_sets) > 1:
        raise InputError("the shards were graded with different checks, answers or options; "
                         "rerun them with the same grader (grade-all regrades what changed)")
    out.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(out, 0o700)
    for key, (shard, _) in sorted(chosen.items()):
        source, target = submission_dir(shard, key), submission_dir(out, key)
        if source.resolve() != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
    records = [Record.load(submission_dir(out, key)) for key in sorted(chosen)]
    write_outputs(out, records, fingerprint=fingerprints.pop() if fingerprints else "",
                  options=json.loads(option_sets.pop()) if option_sets else {})
    return len(records)


# ------------------------------------------------------------------ command line

def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _grade_all_command(args) -> int:
    if threading.current_thread() is not threading.main_thread():
        return _grade_all_run(args)
    previous = signal.signal(signal.SIGTERM, _interrupt)   # a scheduler's stop: keep what is graded
    try:
        return _grade_all_run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _grade_all_run(args) -> int:
    try:
        options = Options(device=args.device, include_hidden=not args.public_only, only=args.only,
                          budget_s=args.budget if args.budget > 0 else None, time_scale=args.time_scale)
        summary = grade_all(args.submissions, args.out, jobs=args.jobs, shard=args.shard,
                            force=args.force, options=options, progress=not args.quiet)
    except InputError as error:
        print(f"grade-all: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grade-all: interrupted; the submissions graded so far are kept, rerun to grade the rest",
              file=sys.stderr)
        return 130
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{summary.total} submissions: {summary.graded} graded, {summary.reused} unchanged "
          f"({summary.jobs} at a time); grades in {Path(args.out) / 'grades.csv'}, "
          f"report in {Path(args.out) / 'report.html'}")
    if summary.errors:
        print(f"the grader could not finish {len(summary.errors)}: {', '.join(summary.errors)}", file=sys.stderr)
        return 1
    return 0


def _merge_command(args) -> int:
    try:
        count = merge(args.shards, args.out)
    except InputError as error:
        print(f"merge: {error}", file=sys.stderr)
        return 2
    print(f"merged {count} submissions from {len(args.shards)} folders into {args.out}")
    return 0


def add_commands(sub) -> None:
    """Register ``grade-all`` and ``merge`` on the CLI's subparsers."""
    grade_all_parser = sub.add_parser(
        "grade-all", help="grade every submission of a class, in parallel, resumable, with a report",
        description="Grade every submission of a class, N at a time, each in its own sandbox; a rerun "
                    "grades only new or changed submissions. Writes grades.csv, report.html, report.md "
                    "and each submission's results.json into DIR.")
    grade_all_parser.add_argument("submissions", type=Path, nargs="+", metavar="SUBMISSIONS",
                                  help="a folder of per-student folders or zips, a Gradescope export, "
                                       "or an nbgrader course (submitted/<student>/<assignment>)")
    grade_all_parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    grade_all_parser.add_argument("--jobs", type=int, default=None, metavar="N",
                                  help="submissions graded at once (default: the number of cores)")
    grade_all_parser.add_argument("--shard", type=parse_shard, default=None, metavar="I/N",
                                  help="grade only share I of N (0-based; e.g. $SLURM_ARRAY_TASK_ID/4)")
    grade_all_parser.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    grade_all_parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    grade_all_parser.add_argument("--only", help="comma-separated check-id prefixes, e.g. part1")
    grade_all_parser.add_argument("--public-only", action="store_true", help="skip the hidden checks")
    grade_all_parser.add_argument("--time-scale", type=float, default=1.0, help="multiply every time limit")
    grade_all_parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                                  help=f"budget per submission, as for grade (default {DEFAULT_BUDGET_S:g}; 0: none)")
    grade_all_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    grade_all_parser.set_defaults(func=_grade_all_command)

    merge_parser = sub.add_parser("merge", help="join the output folders of grade-all --shard runs")
    merge_parser.add_argument("shards", type=Path, nargs="+", metavar="DIR")
    merge_parser.add_argument("--out", type=Path, required=True, help="the merged output folder")
    merge_parser.set_defaults(func=_merge_command)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(_worker(json.loads(sys.argv[2])))
    sys.exit("usage: python -m autograder grade-all SUBMISSIONS... --out DIR")
