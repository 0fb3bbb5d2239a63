"""Run checks in child processes and collect their raw outputs (trusted side).

A fork server (:mod:`autograder.runner`) imports the heavy libraries once per
grading run; for each group of checks it forks a child that runs them one after
another. The parent follows the child's progress on a pipe; when a check crashes
the child, exceeds its time or memory budget, or the student's module ends the
process while being imported, the parent kills the child's whole session (and,
as root, every process of the sandbox user), records that failure against the
check (or the module's checks) and asks the server for a fresh child for the
checks that are left.

Time is bounded three ways: each check has its own limit; after one check of a
function is stopped for time, that function's other checks are not run; and an
optional budget for the whole run fails whatever is left when it runs out.
"""
from __future__ import annotations

import atexit
import enum
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

from . import npzio
from .checks.api import Check
from .manifest import ENV_VAR, current
from .protocol import Word, parse

PACKAGE_ROOT = Path(__file__).resolve().parent
STARTUP_TIMEOUT = 180.0      # the server importing torch on a slow, shared CPU
GROUP_START_TIMEOUT = 60.0   # a forked child getting ready (CUDA initialisation included)
IMPORT_TIMEOUT = 30.0        # importing one student module (torch is already loaded)
BETWEEN_TIMEOUT = 30.0       # writing one check's outputs and starting the next
UNMEASURED_LIMIT_S = 60.0    # a check's limit when the caller gives none
POLL_SECONDS = 0.1
MEMORY_POLL_SECONDS = 0.25
# Memory kept for the grader itself when the container's memory is limited.
CONTAINER_RESERVE_MB = 96


PRINTED_MAX = 2_200  # characters of a check's printed output read back (runner.PRINTED_TAIL + a note)


@dataclass
class Outcome:
    """Raw result of one check: arrays from the child, or why there are none.

    ``elapsed`` is the check's own run time in seconds (student imports excluded);
    ``peak_mb`` the largest anonymous resident memory of the child's processes seen
    while it ran; ``timed_out`` says it was stopped at its time limit.
    """

    arrays: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    error: str | None = None
    elapsed: float | None = None
    peak_mb: float = 0.0
    timed_out: bool = False
    printed: str = ""        # the end of what the student's code printed during the check


@dataclass
class Limits:
    memory_mb: int = 1536          # address space on top of the loaded libraries (CPU)
    rss_mb: int = 3072             # resident memory of the child's processes, all together
    max_processes: int = 256       # per sandbox user (threads count on Linux)
    time_scale: float = 1.0        # multiplies every check's timeout (slow machines)


def container_memory_mb() -> tuple[float, float] | None:
    """(limit, in use) of this process's memory cgroup in MB, or None if unlimited."""
    candidates = []
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers == "":
                candidates.append((Path("/sys/fs/cgroup") / path.lstrip("/"), "memory.max", "memory.current"))
            elif "memory" in controllers.split(","):
                base = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
                candidates.append((base, "memory.limit_in_bytes", "memory.usage_in_bytes"))
    except (OSError, ValueError):
        pass
    candidates += [(Path("/sys/fs/cgroup"), "memory.max", "memory.current"),
                   (Path("/sys/fs/cgroup/memory"), "memory.limit_in_bytes", "memory.usage_in_bytes")]
    for folder, limit_name, usage_name in candidates:
        try:
            raw = (folder / limit_name).read_text().strip()
            used = int((folder / usage_name).read_text().strip())
        except (OSError, ValueError):
            continue
        if raw == "max" or not raw.isdigit() or int(raw) >= 2**60:
            return None
        return int(raw) / 2**20, used / 2**20
    return None


def fit_to_container(limits: Limits, memory: tuple[float, float] | None = None) -> Limits:
    """Limits no larger than what the container's memory cgroup leaves free, so that a
    memory bomb is charged to its check instead of the container's OOM killer."""
    memory = memory if memory is not None else container_memory_mb()
    if memory is None:
        return limits
    limit_mb, used_mb = memory
    # Measured with the fork server running: what is left is the children's.
    headroom = int(limit_mb - used_mb - CONTAINER_RESERVE_MB)
    headroom = max(headroom, 64)
    fitted = replace(limits, rss_mb=min(limits.rss_mb, headroom))
    if limits.memory_mb > 0:
        fitted = replace(fitted, memory_mb=min(limits.memory_mb, headroom))
    return fitted


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


def kill_session_and_pid(pid: int, uid: int | None) -> None:
    """kill_all, plus the child itself (it may not have started its session yet)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    kill_all(pid, uid)


def _child_env(device: str, scratch: Path, shared_uid: bool) -> dict:
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "LD_LIBRARY_PATH")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    assignment = current()
    env.update({
        # the package, and the course root that the manifest's check modules import from
        "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(PACKAGE_ROOT.parent), str(assignment.course_root)])),
        ENV_VAR: str(assignment.path),
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


def _seconds(limit: float) -> str:
    return f"{limit:.1f} s" if limit < 10 else f"{limit:.0f} s"


class ServerError(Exception):
    """The fork server could not start or stopped answering."""


class _Server:
    """The fork server: started once, asked for one child per group of checks."""

    def __init__(self, device: str, user: tuple[int, int] | None):
        self.device = device
        self.scratch = Path(tempfile.mkdtemp(prefix="grade-server-"))
        os.chmod(self.scratch, 0o755)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.control = ours
        self.log_path = self.scratch / "server.log"
        command = [sys.executable, "-m", "autograder.runner", "--serve",
                   "--control-fd", str(theirs.fileno()), "--device", device]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=str(self.scratch), env=_child_env(device, self.scratch, user is None),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                pass_fds=(theirs.fileno(),), start_new_session=True)
        theirs.close()
        message = self.receive(STARTUP_TIMEOUT)
        if message is None or message.get("event") != "ready":
            self.close()
            raise ServerError("the check process did not start" + self._log_tail())

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text("utf-8", "replace").strip().splitlines()[-5:]
        except OSError:
            lines = []
        return ("\n" + "\n".join(lines)) if lines else ""

    def receive(self, timeout: float) -> dict | None:
        """The next message, or None on timeout or when the server is gone."""
        ready, _, _ = select.select([self.control], [], [], max(timeout, 0.0))
        if not ready:
            return None
        try:
            data = self.control.recv(65536)
        except OSError:
            data = b""
        if not data:
            raise ServerError("the check server stopped" + self._log_tail())
        return json.loads(data)

    def fork(self, request: dict, fds: Sequence[int]) -> int:
        try:
            socket.send_fds(self.control, [json.dumps(request).encode()], list(fds))
            message = self.receive(GROUP_START_TIMEOUT)
            while message is not None and message.get("event") == "exit":  # a late one
                message = self.receive(GROUP_START_TIMEOUT)
        except OSError as error:
            raise ServerError(f"the check server stopped ({error})") from None
        if message is None or message.get("event") != "forked":
            raise ServerError(f"the check server did not fork a child ({message})")
        return int(message["pid"])

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        try:
            self.control.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)


# Warm servers, kept for the life of this process: a notebook's later check() calls,
# and a test process's later gradings, fork from the server the first one started
# (it preloads libraries and the check declarations only; student files are imported
# afresh in every child). Keyed by everything the server was started with.
_WARM: dict[tuple, _Server] = {}


def _server_key(device: str, user: tuple[int, int] | None) -> tuple:
    # The server runs as the grader; only whether children drop privileges shapes it
    # (each run's sandbox uid travels with each request).
    env = _child_env(device, Path("/scratch"), user is None)
    return (device, user is None, sys.executable, tuple(sorted(env.items())))


def warm_server(device: str, user: tuple[int, int] | None) -> _Server:
    """The live warm server for ``(device, user)`` and this environment; started if needed."""
    key = _server_key(device, user)
    server = _WARM.get(key)
    if server is not None and server.alive():
        return server
    if server is not None:
        server.close()
    _WARM[key] = server = _Server(device, user)
    return server


def close_warm_servers() -> None:
    """Stop every warm server (at exit; or to free their memory)."""
    while _WARM:
        _WARM.popitem()[1].close()


atexit.register(close_warm_servers)


class Phase(enum.Enum):
    STARTING = "starting"    # forked, not yet ready
    BETWEEN = "between"      # ready, no check running
    CHECK = "check"          # running a check
    IMPORT = "import"        # importing a student module inside a check


class _Group:
    """One forked child running a group of checks, followed as a state machine.

    Every phase has an explicit deadline; an import suspends the check's own clock
    (its remaining time is put back afterwards), and the whole-run budget caps all.
    """

    def __init__(self, server: _Server, hw4: Path, checks: Sequence[Check], device: str,
                 workdir: Path, limits: Limits, user: tuple[int, int] | None):
        self.user = user
        self.out = Path(tempfile.mkdtemp(prefix="out-", dir=workdir))
        self.scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=workdir))
        if user is not None:
            for folder in (self.out, self.scratch):
                os.chown(folder, *user)
        self.read_fd, progress_w = os.pipe()
        self.err_fd, err_w = os.pipe()
        request = {"hw4": str(hw4), "out": str(self.out), "scratch": str(self.scratch), "device": device,
                   "checks": [c.id for c in checks], "memory_mb": limits.memory_mb,
                   "max_processes": limits.max_processes,
                   "uid": user[0] if user else -1, "gid": user[1] if user else -1}
        self.server = server
        try:
            self.pid = server.fork(request, (progress_w, err_w))
        except BaseException:
            os.close(self.read_fd)
            os.close(self.err_fd)
            raise
        finally:
            os.close(progress_w)
            os.close(err_w)
        self.code: int | None = None
        self.server_lost = False
        self.buffer = b""
        self.stderr_tail = b""

    def lines(self, timeout: float) -> list[str] | None:
        """Progress lines that arrived within ``timeout`` seconds; None at end of stream."""
        watched = [self.read_fd, self.err_fd, self.server.control]
        ready, _, _ = select.select(watched, [], [], max(timeout, 0.0))
        if self.err_fd in ready:
            chunk = os.read(self.err_fd, 65536)
            self.stderr_tail = (self.stderr_tail + chunk)[-4000:]
        if self.server.control in ready and not self.exited:
            self._take_exit(0.0)
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

    def _take_exit(self, timeout: float) -> None:
        try:
            message = self.server.receive(timeout)
        except ServerError:
            # The server is gone (student code may kill its parent when no privileges
            # were dropped): the child's status is unknown; the run starts a new server.
            self.server_lost = True
            return
        if message and message.get("event") == "exit" and message.get("pid") == self.pid:
            self.code = int(message["code"])

    @property
    def exited(self) -> bool:
        return self.code is not None or self.server_lost

    def close(self) -> int | None:
        code = self.code  # the child's own exit status, before any clean-up kill
        uid = self.user[0] if self.user else None
        if self.code is None:
            kill_session_and_pid(self.pid, uid)
        else:  # reaped: its pid may be reused, but not while its session has members
            kill_all(self.pid, uid)
        if not self.exited:
            self._take_exit(10.0)
        code = self.code if code is None else code
        os.close(self.read_fd)
        os.close(self.err_fd)
        return code


def run_checks(hw4: Path, checks: Sequence[Check], device: str = "cpu",
               limits: Limits | None = None, workdir: Path | None = None,
               drop_privileges: bool = True, timeouts: Mapping[str, float] | None = None,
               deadline: float | None = None, budget_s: float | None = None,
               warm: bool = True) -> dict[str, Outcome]:
    """Run ``checks`` against the hw4 folder; return an Outcome for every check.

    ``warm``: fork from this process's warm server (started on first use and kept;
    see :func:`warm_server`) instead of a server of this run's own.
    ``timeouts``: seconds per check id (default: UNMEASURED_LIMIT_S, or the check's higher floor), scaled
    by ``limits.time_scale``. ``deadline``: a ``time.monotonic()`` instant after which
    nothing more runs and every check left fails with a message saying why, naming
    ``budget_s``, the whole run's budget.
    """
    limits = limits or Limits()
    hw4 = Path(hw4).resolve()
    user = sandbox_user() if drop_privileges else None
    own_workdir = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="grade-run-"))
    os.chmod(workdir, 0o755)
    run = _Run(hw4, checks, device, limits, user, workdir, dict(timeouts or {}), deadline, budget_s, warm)
    try:
        run.all()
    finally:
        run.close()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return run.outcomes


class _Run:
    def __init__(self, hw4, checks, device, limits, user, workdir, timeouts, deadline, budget_s, warm):
        self.hw4, self.checks, self.device, self.limits = hw4, list(checks), device, limits
        self.warm = warm
        self.base_limits = limits
        self.user, self.workdir, self.timeouts, self.deadline = user, workdir, timeouts, deadline
        if budget_s is None and deadline is not None:
            budget_s = max(deadline - time.monotonic(), 0.0)
        self.budget_s = budget_s
        self.outcomes: dict[str, Outcome] = {}
        self.hung: dict[tuple[str, str], str] = {}   # (module, function) -> why its checks are skipped
        self.server: _Server | None = None

    def limit(self, check: Check) -> float:
        unmeasured = max(check.timeout or 0.0, UNMEASURED_LIMIT_S)  # as engine.time_limits
        return self.timeouts.get(check.id, unmeasured) * self.limits.time_scale

    def pending(self) -> list[Check]:
        return [c for c in self.checks if c.id not in self.outcomes]

    def all(self) -> None:
        while True:
            for check in self.pending():
                why = self.hung.get((check.module, check.function))
                if why:
                    self.outcomes[check.id] = Outcome(error=why)
            pending = self.pending()
            if not pending:
                return
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.out_of_budget(pending, None)
                return
            try:
                if self.server is None or not self.server.alive():
                    self.close()
                    self.server = (warm_server(self.device, self.user) if self.warm
                                   else _Server(self.device, self.user))
                    self.limits = fit_to_container(self.base_limits)
                self.group(pending)
            except ServerError as error:
                message = f"grader error: {error}"
                for check in self.pending():
                    self.outcomes[check.id] = Outcome(error=message)
                return

    def close(self) -> None:
        if self.server is not None and not (self.warm and self.server.alive()):
            self.server.close()
        self.server = None

    def out_of_budget(self, pending: Sequence[Check], current: Check | None) -> None:
        budget = _seconds(self.budget_s or 0.0)
        for check in pending:
            if check is current:
                text = (f"stopped: the grading time budget ({budget} for the whole submission) ran out "
                        "while this check was running")
            else:
                text = (f"not run: the grading time budget ({budget} for the whole submission) ran out "
                        "before this check started; earlier checks were slow or stopped for time")
            self.outcomes.setdefault(check.id, Outcome(error=text))

    def group(self, pending: Sequence[Check]) -> None:
        uid = self.user[0] if self.user else None
        child = _Group(self.server, self.hw4, pending, self.device, self.workdir, self.limits, self.user)
        by_id = {c.id: c for c in pending}
        phase = Phase.STARTING
        current: Check | None = None
        importing: str | None = None
        now = time.monotonic()
        deadline = now + GROUP_START_TIMEOUT
        check_started = suspended_at = 0.0
        import_time = 0.0
        paused_remaining = 0.0
        peak_kb = base_kb = 0
        last_memory_poll = 0.0
        failure: str | None = None
        budget_hit = False
        try:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    if phase is Phase.STARTING:
                        failure = "startup"
                    elif phase is Phase.IMPORT:
                        failure = f"importing {importing} took longer than {_seconds(IMPORT_TIMEOUT * self.limits.time_scale)}"
                    elif phase is Phase.CHECK:
                        failure = "timeout"
                    else:
                        failure = "the check process stopped responding between checks"
                    break
                if self.deadline is not None and now >= self.deadline:
                    budget_hit = True
                    break
                if phase is not Phase.STARTING and now - last_memory_poll > MEMORY_POLL_SECONDS:
                    last_memory_poll = now
                    used_kb = resident_kb(child.pid, uid)
                    peak_kb = max(peak_kb, used_kb)
                    # Pages shared with the server at the fork are not the student's.
                    if (used_kb - base_kb) / 1024 > self.limits.rss_mb:
                        failure = f"used more than {self.limits.rss_mb} MB of memory"
                        break
                wait = min(POLL_SECONDS, deadline - now)
                if self.deadline is not None:
                    wait = min(wait, self.deadline - now)
                lines = child.lines(wait)
                if lines is None:
                    break
                if not lines and child.exited:
                    break  # exited; a forked grandchild may still hold the pipe open
                for line in lines:
                    word, arg = parse(line)
                    now = time.monotonic()
                    if word is Word.READY and phase is Phase.STARTING:
                        base_kb = resident_kb(child.pid, uid)
                        phase = Phase.BETWEEN
                        deadline = now + BETWEEN_TIMEOUT
                    elif word is Word.START and arg in by_id and arg not in self.outcomes and phase is Phase.BETWEEN:
                        current, phase = by_id[arg], Phase.CHECK
                        check_started, import_time, peak_kb = now, 0.0, 0
                        deadline = now + self.limit(current)
                    elif word is Word.IMPORT and phase is Phase.CHECK:
                        importing, phase = arg, Phase.IMPORT
                        suspended_at, paused_remaining = now, deadline - now
                        deadline = now + IMPORT_TIMEOUT * self.limits.time_scale
                    elif word is Word.IMPORTED and phase is Phase.IMPORT:
                        import_time += now - suspended_at
                        importing, phase = None, Phase.CHECK
                        deadline = now + paused_remaining
                    elif word is Word.DONE and phase is Phase.CHECK and current is not None and arg == current.id:
                        outcome = _collect(child.out / f"{arg}.npz")
                        outcome.elapsed = max(now - check_started - import_time, 0.0)
                        outcome.peak_mb = peak_kb / 1024
                        self.outcomes[arg] = outcome
                        current, phase = None, Phase.BETWEEN
                        deadline = now + BETWEEN_TIMEOUT
        finally:
            code = child.close()
        if budget_hit:
            self.out_of_budget([c for c in pending if c.id not in self.outcomes], current)
            return
        if failure is None and current is None and all(c.id in self.outcomes for c in pending):
            return
        if phase is Phase.STARTING:
            # The grader itself could not start a child: report it on every check left.
            detail = child.stderr_tail.decode("utf-8", "replace").strip().splitlines()[-5:]
            message = "grader error: the check process did not start (" + _exit_text(code) + ")"
            if detail:
                message += "\n" + "\n".join(detail)
            for c in pending:
                self.outcomes.setdefault(c.id, Outcome(error=message))
            return
        if current is None:
            # The child stopped between checks (a student's atexit or thread, say):
            # the next check is charged, so the loop always makes progress.
            current = next(c for c in pending if c.id not in self.outcomes)
        if failure == "timeout":
            limit = _seconds(self.limit(current))
            self.outcomes[current.id] = Outcome(
                error=f"took longer than its time limit of {limit} and was stopped "
                      "(an infinite loop, or far too slow?)", timed_out=True, peak_mb=peak_kb / 1024)
            self.hung[(current.module, current.function)] = (
                f"not run: {current.function} was already stopped at its time limit ({limit}) in the "
                f"check \"{current.title}\", so its other checks are skipped (fix the loop or the "
                "slowness, and every check runs again)")
            return
        reason = failure or _exit_text(code)
        if phase is Phase.IMPORT:
            message = f"{importing} could not be imported: {reason} during import"
            for c in pending:
                if c.module == importing and c.id not in self.outcomes:
                    self.outcomes[c.id] = Outcome(error=message)
            self.outcomes.setdefault(current.id, Outcome(error=message))
        else:
            self.outcomes[current.id] = Outcome(error=f"{reason} while running this check",
                                                peak_mb=peak_kb / 1024)


def _collect(path: Path) -> Outcome:
    try:
        arrays = npzio.load(path)
        info = npzio.from_json_array(arrays.pop("__meta__"))
        if not isinstance(info, dict):
            raise ValueError("metadata is not an object")
        meta = info.get("outputs") or {}
        error = info.get("error")
        printed = str(info.get("printed") or "")[:PRINTED_MAX]
        if error is not None:
            return Outcome(error=str(error)[:5000], printed=printed)
        if not isinstance(meta, dict) or set(meta) != set(arrays):
            raise ValueError("outputs and metadata disagree")
        return Outcome(arrays=arrays, meta={k: dict(v) for k, v in meta.items()}, printed=printed)
    except (OSError, KeyError, ValueError, TypeError) as error:
        return Outcome(error=f"the check's output could not be read back ({error})")
