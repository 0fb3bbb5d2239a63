"""The fork server that runs student code (``python -m autograder.runner --serve``).

The server is started once per grading run. It imports torch and friends and the
check declarations (while possibly still root), then waits for requests from the
trusted parent on a Unix socket. Each request names a group of checks and brings
the write end of a fresh progress pipe; the server forks a child for it and
reports the child's pid and, later, its exit status. A crash or a timeout
therefore costs a fork (milliseconds), not a fresh interpreter importing torch.

The forked child is untrusted by design: it starts a session of its own, drops
privileges, sets resource limits and only then imports any student module.
Everything in it can be monkeypatched by the student's code, so it holds no answers
and decides no score. It runs the ``run`` half of each requested check, converts
what comes back to plain arrays and writes one ``<check id>.npz`` per check into
the output folder, reporting progress (:mod:`autograder.protocol`) so that the
parent can attribute a crash, a hang or an ``exit`` to one check.

CUDA is never initialised in the server (a forked child could not use it); each
child initialises it for itself.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import resource
import signal
import socket
import sys
import traceback
import warnings
from pathlib import Path
from typing import Callable

# Imported now: after privileges are dropped the package folder may be unreadable.
from autograder import npzio
from autograder.checks.api import StudentError  # a check's run may raise it too
from autograder.protocol import Word

MAX_ELEMENTS = 8_000_000
MAX_STRING = 10_000
# What a check keeps of the student's print() output (the end of it), for the student.
PRINTED_TAIL = 2_000
# Imported by every server; the assignment manifest adds what its student files may
# import ([runner] preload). All are imported before privileges are dropped, so they
# keep working when the interpreter's own folders are unreadable afterwards.
BASE_PRELOAD = ("math", "json", "warnings", "numpy")
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38


class Env:
    """What a check's ``run(env)`` may use; see autograder/checks/api.py."""

    def __init__(self, hw4: Path, scratch: Path, device, progress):
        self.hw4 = hw4
        self.scratch = scratch
        self.device = device
        self._progress = progress
        self._modules: dict[str, object] = {}
        self._errors: dict[str, StudentError] = {}

    @property
    def randomizer(self):
        from autograder.manifest import current

        return self.module(current().randomizer)

    def seed(self, s: int) -> None:
        import torch

        self.randomizer.seed(s)
        torch.manual_seed(1_000_003 + 7919 * int(s))  # deterministic, unlike the randomizer's

    def module(self, relpath: str):
        if relpath in self._modules:
            return self._modules[relpath]
        if relpath in self._errors:
            raise self._errors[relpath]
        path = self.hw4 / relpath
        name = relpath[:-3].replace("/", ".")
        if not path.is_file():
            error = StudentError(f"{relpath} is missing from the submission")
            self._errors[relpath] = error
            raise error
        self._progress(Word.IMPORT, relpath)
        try:
            module = importlib.import_module(name)
        except BaseException as exc:  # SyntaxError, ImportError, SystemExit, ...
            error = StudentError(f"{relpath} could not be imported: {describe(exc, self.hw4)}")
            self._errors[relpath] = error
            raise error from None
        finally:
            self._progress(Word.IMPORTED, relpath)
        self._modules[relpath] = module
        return module


def describe(exc: BaseException, hw4: Path) -> str:
    """One teaching line plus the student's own frames (no grader internals)."""
    if isinstance(exc, NotImplementedError):
        text = str(exc).strip()
        return "not implemented yet" + (f" ({text})" if text and "not implemented" not in text.lower() else "")
    if isinstance(exc, SystemExit):
        return f"the code called exit({exc.code!r})"
    if isinstance(exc, SyntaxError):
        where = Path(exc.filename or "?")
        try:
            where = where.resolve().relative_to(hw4.resolve())
        except ValueError:
            pass
        return f"SyntaxError in {where}, line {exc.lineno}: {exc.msg}\n    {(exc.text or '').strip()}"
    message = f"{type(exc).__name__}: {exc}"[:2000]
    frames = []
    root = str(hw4.resolve())
    for frame in traceback.extract_tb(exc.__traceback__):
        filename = os.path.abspath(frame.filename)
        if filename.startswith(root + os.sep):
            rel = os.path.relpath(filename, root)
            frames.append(f'  File "{rel}", line {frame.lineno}, in {frame.name}\n    {frame.line or ""}')
    if frames:
        message += "\n" + "\n".join(frames[-6:])
    return message


def to_plain(value, device_type: str):
    """Return (array, meta) for one output; raises StudentError if unusable."""
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        with torch._C.DisableTorchFunctionSubclass():
            tensor = torch.Tensor.detach(value)
            if tensor.is_sparse:
                tensor = tensor.to_dense()
            meta = {"kind": "tensor", "dtype": str(tensor.dtype), "device": str(tensor.device),
                    "on_device": tensor.device.type == device_type, "type": type(value).__name__,
                    "shape": list(tensor.shape)}
            if tensor.numel() > MAX_ELEMENTS:
                raise StudentError(f"output has {tensor.numel()} elements, far more than expected")
            tensor = torch.Tensor.cpu(tensor)
            if tensor.dtype in (torch.bfloat16, torch.float16):
                tensor = tensor.float()
            if tensor.is_complex():
                raise StudentError(f"output is a complex tensor ({tensor.dtype})")
            array = np.array(torch.Tensor.numpy(tensor), copy=True)
        return array, meta
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.size > MAX_ELEMENTS:
            raise StudentError(f"output is an unusable numpy array ({value.dtype}, {value.size} elements)")
        array = np.array(value, copy=True)
        return array, {"kind": "ndarray", "dtype": str(array.dtype), "on_device": True,
                       "type": type(value).__name__, "shape": list(array.shape)}
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        array = np.array(value)
        return array, {"kind": "scalar", "dtype": str(array.dtype), "on_device": True,
                       "type": type(value).__name__, "shape": []}
    if isinstance(value, str):
        return np.array(value[:MAX_STRING]), {"kind": "str", "dtype": "str", "on_device": True,
                                              "type": "str", "shape": []}
    if isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except Exception:
            array = None
        if array is None or array.dtype.hasobject or array.size > MAX_ELEMENTS:
            raise StudentError(f"output is a {type(value).__name__} that is not a plain list of numbers")
        return np.array(array, copy=True), {"kind": "list", "dtype": str(array.dtype), "on_device": True,
                                            "type": type(value).__name__, "shape": list(array.shape)}
    raise StudentError(f"expected a tensor or a number, got {type(value).__name__}")


class PrintedTail(io.TextIOBase):
    """Stands in for sys.stdout and sys.stderr during a check (print(..., file=sys.stderr)
    is debugging output too): keeps the last ``keep`` characters (a print in a loop must
    not fill the memory) and counts them all."""

    def __init__(self, keep: int = PRINTED_TAIL):
        self.keep, self.tail, self.total = keep, "", 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        self.total += len(text)
        self.tail = (self.tail + text)[-self.keep:]
        return len(text)

    def text(self) -> str:
        if self.total > len(self.tail):
            return f"[... {self.total - len(self.tail)} characters before ...]\n" + self.tail
        return self.tail


def students_warnings(hw4: Path, out) -> Callable:
    """A ``warnings.showwarning`` that writes to ``out`` the warnings attributed to a
    line of the student's files (the checks' own lines are not the student's to fix)."""
    import linecache

    root = Path(hw4).resolve()

    def show(message, category, filename, lineno, file=None, line=None):
        try:
            rel = Path(filename).resolve().relative_to(root)
        except (ValueError, OSError):
            return
        out.write(warnings.formatwarning(message, category, str(rel), lineno,
                                         linecache.getline(filename, lineno)))
    return show


def run_one(check, env, out_dir: Path, device_type: str) -> None:
    arrays, meta, error = {}, {}, None
    printed = PrintedTail()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed), warnings.catch_warnings():
            # The server ignores warnings (its preloading is noisy); a check shows those
            # raised in the student's files, such as PyTorch's about mismatched shapes.
            warnings.simplefilter("default")
            warnings.showwarning = students_warnings(env.hw4, printed)
            outputs = check.run(env)
            if not isinstance(outputs, dict):
                raise StudentError(f"check produced {type(outputs).__name__}, not a dict")
            for key, value in outputs.items():
                arrays[str(key)], meta[str(key)] = to_plain(value, device_type)
    except StudentError as exc:
        error = str(exc)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: they cost one check
        error = describe(exc, env.hw4)
    if error is not None:
        arrays, meta = {}, {}
    try:
        shown = printed.text()
    except BaseException:  # a student object whose str() raises
        shown = ""
    arrays["__meta__"] = npzio.json_array({"outputs": meta, "error": error, "printed": shown})
    npzio.save(out_dir / f"{check.id}.npz", arrays)


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise RuntimeError("could not drop privileges")
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except Exception:
        pass


def _owned_by(pid: str, uid: int) -> bool:
    try:
        return os.stat(f"/proc/{pid}").st_uid == uid
    except OSError:
        return False


def set_limits(memory_mb: int, max_processes: int, device_type: str) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 2**20, 512 * 2**20))
    if max_processes > 0 and os.getuid() != 0:
        # The limit counts every process of the user, so a grader that could not
        # drop privileges allows its user's present processes plus the budget.
        if os.environ.get("HW4_SHARED_UID"):
            uid = os.getuid()
            present = sum(1 for entry in os.listdir("/proc") if entry.isdigit() and _owned_by(entry, uid))
            max_processes += present
        resource.setrlimit(resource.RLIMIT_NPROC, (max_processes, max_processes))
    if memory_mb > 0 and device_type == "cpu":
        # Address space grows with what is already mapped (shared libraries of a
        # large torch build), so the budget is counted on top of the present size.
        with open("/proc/self/status") as status:
            vm_size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        limit = vm_size_kb * 1024 + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except Exception:
        pass


def preload(device: str) -> None:
    """Import everything a student file or a check may need, before any fork."""
    import warnings

    from autograder.manifest import current

    warnings.filterwarnings("ignore")
    wanted = BASE_PRELOAD + current().preload
    for name in wanted:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg")
    if "torch" not in sys.modules:
        return
    import torch

    torch.set_num_threads(1)
    warm_up()
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)


def warm_up() -> None:
    """Run once what student code commonly runs, so that every module it imports
    lazily is loaded while the interpreter's folders are still readable: after the
    privilege drop they may not be (an optimizer step alone imports hundreds of
    modules on some torch builds; a debugging print or plt.show() imports more).
    Single-threaded CPU work only: the server must stay safe to fork."""
    import io

    import numpy as np
    import torch
    import torch.nn as nn

    def attempt(step) -> None:
        try:
            step()
        except Exception:
            pass

    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.01),
                        nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 8 * 8, 1), nn.Tanh())
    x = torch.zeros(2, 3, 4, 4)

    def train_steps():
        for make in (torch.optim.Adam, torch.optim.SGD, torch.optim.AdamW):
            optimizer = make(net.parameters(), lr=1e-3)
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(net(x), torch.zeros(2, 1))
            loss.backward()
            optimizer.step()

    def averaged():
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.99))
        ema.update_parameters(net)

    def printing():
        repr(x), str(x.sum()), repr(net), f"{x.mean().item():.3f}", x.tolist()
        np.array2string(np.zeros((2, 2)))

    def saving():
        torch.save(net.state_dict(), io.BytesIO())
        np.save(io.BytesIO(), np.zeros(2))

    def plotting():
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2)
        axes[0].imshow(np.zeros((4, 4, 3)))
        axes[1].plot([0, 1], [1, 0], label="loss")
        axes[1].legend()
        fig.savefig(io.BytesIO(), format="png")
        plt.show()
        plt.close("all")

    def data():
        from torch.utils.data import DataLoader, TensorDataset

        for _ in DataLoader(TensorDataset(x, torch.zeros(2)), batch_size=1, shuffle=True):
            pass
        import torchvision.utils

        torchvision.utils.make_grid(torch.zeros(2, 3, 4, 4))

    def progress():
        from tqdm.auto import tqdm

        for _ in tqdm(range(2), file=io.StringIO()):
            pass

    for step in (train_steps, averaged, printing, saving, plotting, data, progress):
        attempt(step)


def run_group(request: dict, progress_fd: int, stderr_fd: int) -> None:
    """In the forked child: run one group of checks, then end the process."""
    code = 0
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(stderr_fd, 2)
        progress_file = os.fdopen(progress_fd, "w", buffering=1)

        def progress(word: Word, argument: str = "") -> None:
            progress_file.write(word.line(argument))
            progress_file.flush()

        scratch = Path(request["scratch"])
        os.environ.update(HOME=str(scratch), TMPDIR=str(scratch), MPLCONFIGDIR=str(scratch / ".mpl"))
        import tempfile

        tempfile.tempdir = None
        import torch

        device = torch.device(request["device"])
        if device.type == "cuda":
            torch.zeros(1, device=device)  # initialise CUDA before limits apply
        from autograder.checks import by_id

        registry = by_id(include_hidden=True)
        wanted = [registry[cid] for cid in request["checks"]]
        if request.get("uid", -1) >= 0:
            drop_privileges(request["uid"], request["gid"])
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        set_limits(request.get("memory_mb", 0), request.get("max_processes", 0), device.type)
        hw4 = Path(request["hw4"]).resolve()
        sys.path.insert(0, str(hw4))
        os.chdir(scratch)
        out = Path(request["out"])
        env = Env(hw4, scratch, device, progress)
        progress(Word.READY)
        for check in wanted:
            progress(Word.START, check.id)
            run_one(check, env, out, device.type)
            progress(Word.DONE, check.id)
        progress(Word.FINISHED)
        progress_file.close()
    except BaseException:  # the grader's own failure in the child: the parent reports it
        code = 70
        try:
            traceback.print_exc()
        except BaseException:
            pass
    # Skip interpreter teardown: student objects' __del__ must not decide the exit code.
    os._exit(code)


def serve(control: socket.socket, device: str) -> int:
    """Preload, then fork one child per request until the parent closes the socket."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # never outlive the grader
    preload(device)
    from autograder.checks import by_id

    by_id(include_hidden=True)  # load the declarations once, before any fork
    control.sendall(json.dumps({"event": "ready"}).encode())
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 65536, 2)
        except OSError:
            return 0
        if not data:
            for fd in fds:
                os.close(fd)
            return 0
        request = json.loads(data)
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            control.sendall(json.dumps({"event": "error", "message": "request without its pipes"}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            control.close()
            run_group(request, *fds)
        for fd in fds:
            os.close(fd)
        control.sendall(json.dumps({"event": "forked", "pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        control.sendall(json.dumps({"event": "exit", "pid": pid, "code": code}).encode())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="autograder.runner")
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--control-fd", type=int, required=True)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    control = socket.socket(fileno=args.control_fd)
    return serve(control, args.device)


if __name__ == "__main__":
    sys.exit(main())
