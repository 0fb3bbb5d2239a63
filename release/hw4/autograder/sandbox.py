"""Run checks in child processes and collect their raw outputs (trusted side).

One child runs the requested checks one after another. The parent follows its
progress on a pipe; when a check crashes the child, exceeds its time or memory
budget, or the student's module ends the process while being imported, the parent
kills the child's whole process group (and, as root, every process of the sandbox
user), records that failure against the check (or the module's checks) and starts
a fresh child for the checks that are left.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from . import npzio
from .checks.api import Check

PACKAGE_ROOT = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 180.0      # importing torch on a slow, shared CPU
IMPORT_TIMEOUT = 60.0        # importing one student module
POLL_SECONDS = 0.1
# Largest anonymous resident memory seen for one child (all its processes), in kB,
# sampled by the memory watchdog; read by `make bench`.
PEAK_ANON_KB = [0]


@dataclass
class Outcome:
    """Raw result of one check: arrays from the child, or why there are none."""

    arrays: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    error: str | None = None


@dataclass
class Limits:
    memory_mb: int = 1536          # address space on top of the loaded libraries (CPU)
    rss_mb: int = 3072             # resident memory of the child's processes, all together
    max_processes: int = 256       # per sandbox user (threads count on Linux)
    time_scale: float = 1.0        # multiplies every check's timeout (slow machines)


def sandbox_user() -> tuple[int, int] | None:
    """(uid, gid) to run student code as, or None when not root (no privilege to drop).

    A fresh uid with no account, unused by any process, for each grading run: the
    clean-up that kills every process of that uid then touches nothing else, not
    even a grader running beside this one.
    """
    if os.geteuid() != 0:
        return None
    if os.environ.get("HW4_SANDBOX_UID"):
        uid = int(os.environ["HW4_SANDBOX_UID"])
        return uid, uid
    busy = {puid for _, puid, _, _ in _processes()}
    start = 1_500_000 + (os.getpid() * 7919 + time.monotonic_ns()) % 400_000
    uid = next(u for u in range(start, start + 1000) if u not in busy)
    return uid, uid


def _processes():
    """Yield (pid, uid, session id, anonymous RSS in kB) for every process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            uid, rss = -1, 0
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        uid = int(line.split()[1])
                    elif line.startswith("RssAnon:"):
                        rss = int(line.split()[1])
            yield int(entry), uid, int(fields[3]), rss
        except (OSError, IndexError, ValueError):
            continue


def kill_all(session: int, uid: int | None) -> None:
    """Kill the child's session, and every process of the sandbox user (as root)."""
    for _ in range(3):
        victims = [pid for pid, puid, sid, _ in _processes()
                   if pid != os.getpid() and (sid == session or (uid is not None and puid == uid))]
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)


def resident_kb(session: int, uid: int | None) -> int:
    return sum(rss for pid, puid, sid, rss in _processes()
               if sid == session or (uid is not None and puid == uid))


def _child_env(device: str, scratch: Path, shared_uid: bool) -> dict:
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "LD_LIBRARY_PATH")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update({
        "PYTHONPATH": str(PACKAGE_ROOT.parent),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONNOUSERSITE": "1",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(scratch / ".mpl"),
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "TQDM_DISABLE": "1",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    })
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "HW4_EXTRA_CHECKS"):
        if key in os.environ:
            env[key] = os.environ[key]
    if shared_uid:
        env["HW4_SHARED_UID"] = "1"
    if not device.startswith("cuda"):
        env["CUDA_VISIBLE_DEVICES"] = ""
    elif "CUDA_VISIBLE_DEVICES" in os.environ:
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    return env


class _Child:
    def __init__(self, hw4: Path, checks: Sequence[Check], device: str, workdir: Path,
                 limits: Limits, user: tuple[int, int] | None):
        self.out = Path(tempfile.mkdtemp(prefix="out-", dir=workdir))
        self.scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=workdir))
        if user is not None:
            for folder in (self.out, self.scratch):
                os.chown(folder, *user)
        read_fd, write_fd = os.pipe()
        command = [sys.executable, "-m", "autograder.runner", "--hw4", str(hw4),
                   "--out", str(self.out), "--scratch", str(self.scratch), "--device", device,
                   "--checks", ",".join(c.id for c in checks), "--progress-fd", str(write_fd),
                   "--memory-mb", str(limits.memory_mb), "--max-processes", str(limits.max_processes)]
        if user is not None:
            command += ["--uid", str(user[0]), "--gid", str(user[1])]
        self.process = subprocess.Popen(
            command, cwd=str(self.scratch), env=_child_env(device, self.scratch, user is None),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            pass_fds=(write_fd,), start_new_session=True)
        os.close(write_fd)
        self.read_fd = read_fd
        self.buffer = b""
        self.stderr_tail = b""

    def lines(self, timeout: float) -> list[str] | None:
        """Progress lines that arrived within ``timeout`` seconds; None at end of stream."""
        ready, _, _ = select.select([self.read_fd, self.process.stderr], [], [], timeout)
        if self.process.stderr in ready:
            chunk = os.read(self.process.stderr.fileno(), 65536)
            self.stderr_tail = (self.stderr_tail + chunk)[-4000:]
        if self.read_fd not in ready:
            return []
        chunk = os.read(self.read_fd, 65536)
        if not chunk:
            return None
        self.buffer += chunk
        *complete, self.buffer = self.buffer.split(b"\n")
        if len(self.buffer) > 65536:  # a flood of text without newlines
            self.buffer = b""
        return [line.decode("utf-8", "replace")[:500] for line in complete]

    def close(self, user) -> int:
        code = self.process.poll()  # the child's own exit status, before any clean-up kill
        kill_all(self.process.pid, user[0] if user else None)
        try:
            waited = self.process.wait(timeout=10)
            code = waited if code is None else code
        except subprocess.TimeoutExpired:
            code = -9
        os.close(self.read_fd)
        self.process.stderr.close()
        return code


def _exit_text(code: int | None) -> str:
    if code is None:
        return "the process stopped"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        return f"the process was killed by {name}"
    return f"the process exited with code {code}"


def run_checks(hw4: Path, checks: Sequence[Check], device: str = "cpu",
               limits: Limits | None = None, workdir: Path | None = None,
               drop_privileges: bool = True) -> dict[str, Outcome]:
    """Run ``checks`` against the hw4 folder; return an Outcome for every check."""
    limits = limits or Limits()
    hw4 = Path(hw4).resolve()
    user = sandbox_user() if drop_privileges else None
    own_workdir = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="hw4-run-"))
    os.chmod(workdir, 0o755)
    outcomes: dict[str, Outcome] = {}
    pending = list(checks)
    try:
        while pending:
            _run_child(hw4, pending, device, limits, user, workdir, outcomes)
            pending = [c for c in pending if c.id not in outcomes]
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return outcomes


def _run_child(hw4, pending, device, limits, user, workdir, outcomes) -> None:
    child = _Child(hw4, pending, device, workdir, limits, user)
    by_id = {c.id: c for c in pending}
    current: Check | None = None
    importing: str | None = None
    started = time.monotonic()
    deadline = started + STARTUP_TIMEOUT
    last_memory_poll = 0.0
    failure: str | None = None
    ready = False
    try:
        while True:
            now = time.monotonic()
            if now > deadline:
                if current is None:
                    failure = "startup"
                elif importing:
                    failure = f"importing {importing} took longer than {IMPORT_TIMEOUT:.0f} s"
                else:
                    limit = current.timeout * limits.time_scale
                    failure = f"took longer than {limit:.0f} s (infinite loop, or far too slow?)"
                break
            if now - last_memory_poll > 0.25 and ready:
                last_memory_poll = now
                used_kb = resident_kb(child.process.pid, user[0] if user else None)
                PEAK_ANON_KB[0] = max(PEAK_ANON_KB[0], used_kb)
                used_mb = used_kb / 1024
                if used_mb > limits.rss_mb:
                    failure = f"used more than {limits.rss_mb} MB of memory"
                    break
            lines = child.lines(min(POLL_SECONDS, max(deadline - now, 0.0)))
            if lines is None:
                break
            if not lines and child.process.poll() is not None:
                break  # exited; a forked grandchild may still hold the pipe open
            for line in lines:
                word, _, arg = line.partition(" ")
                if word == "ready":
                    ready = True
                elif word == "start" and arg in by_id and arg not in outcomes:
                    current = by_id[arg]
                    importing = None
                    deadline = time.monotonic() + current.timeout * limits.time_scale
                elif word == "import" and current is not None:
                    importing = arg
                    deadline = max(deadline, time.monotonic() + IMPORT_TIMEOUT)
                elif word == "imported":
                    importing = None
                elif word == "done" and current is not None and arg == current.id:
                    outcomes[arg] = _collect(child.out / f"{arg}.npz")
                    current = None
                    deadline = time.monotonic() + STARTUP_TIMEOUT
    finally:
        code = child.close(user)
    if failure is None and current is None and all(c.id in outcomes for c in pending):
        return
    if not ready and current is None:
        # The grader itself could not start: report it on every check left.
        detail = child.stderr_tail.decode("utf-8", "replace").strip().splitlines()[-5:]
        message = "grader error: the check process did not start (" + _exit_text(code) + ")"
        if detail:
            message += "\n" + "\n".join(detail)
        for c in pending:
            outcomes.setdefault(c.id, Outcome(error=message))
        return
    reason = failure or _exit_text(code)
    if current is None:
        # The child stopped between checks (a student's atexit or thread, say):
        # the next check is charged, so the loop always makes progress.
        current = next(c for c in pending if c.id not in outcomes)
    if importing:
        message = f"{importing} could not be imported: {reason} during import"
        for c in pending:
            if c.module == importing and c.id not in outcomes:
                outcomes[c.id] = Outcome(error=message)
        outcomes.setdefault(current.id, Outcome(error=message))
    else:
        outcomes[current.id] = Outcome(error=f"{reason} while running this check")


def _collect(path: Path) -> Outcome:
    try:
        arrays = npzio.load(path)
        info = npzio.from_json_array(arrays.pop("__meta__"))
        if not isinstance(info, dict):
            raise ValueError("metadata is not an object")
        meta = info.get("outputs") or {}
        error = info.get("error")
        if error is not None:
            return Outcome(error=str(error)[:5000])
        if not isinstance(meta, dict) or set(meta) != set(arrays):
            raise ValueError("outputs and metadata disagree")
        return Outcome(arrays=arrays, meta={k: dict(v) for k, v in meta.items()})
    except (OSError, KeyError, ValueError, TypeError) as error:
        return Outcome(error=f"the check's output could not be read back ({error})")
