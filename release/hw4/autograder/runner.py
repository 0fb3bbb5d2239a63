"""The child process that runs student code (``python -m autograder.runner``).

Untrusted by design: everything here can be monkeypatched by the student's code,
so it holds no answers and decides no score. It runs the ``run`` half of each
requested check, converts what comes back to plain arrays and writes one
``<check id>.npz`` per check into the output folder, reporting progress on a pipe
so that the parent can attribute a crash, a hang or an ``exit`` to one check.

Order of events: import torch and friends (while possibly still root), load the
check declarations, drop privileges and set resource limits, and only then import
any student module.
"""
from __future__ import annotations

import argparse
import importlib
import os
import resource
import sys
import traceback
from pathlib import Path

# Imported now: after privileges are dropped the package folder may be unreadable.
from autograder import npzio

MAX_ELEMENTS = 8_000_000
MAX_STRING = 10_000
# Modules a student file may import; imported before privileges are dropped, so
# they keep working when the interpreter's own folders are unreadable afterwards.
PRELOAD = (
    "math", "random", "itertools", "functools", "collections", "dataclasses", "typing",
    "pickle", "json", "copy", "time", "glob", "warnings", "contextlib",
    "numpy", "torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.optim.lr_scheduler",
    "torch.optim.swa_utils", "torch.utils.data", "torch.utils.checkpoint",
    "torchvision", "torchvision.datasets", "torchvision.transforms", "torchvision.transforms.v2",
    "torchvision.utils", "tqdm", "tqdm.auto", "scipy.io", "PIL.Image",
    "matplotlib", "matplotlib.pyplot", "matplotlib.gridspec",
)


class StudentError(Exception):
    """An error to report to the student as it stands (no traceback)."""


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
        return self.module("randomizer.py")

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
        self._progress(f"import {relpath}")
        try:
            module = importlib.import_module(name)
        except BaseException as exc:  # SyntaxError, ImportError, SystemExit, ...
            error = StudentError(f"{relpath} could not be imported: {describe(exc, self.hw4)}")
            self._errors[relpath] = error
            raise error from None
        finally:
            self._progress(f"imported {relpath}")
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


def run_one(check, env, out_dir: Path, device_type: str) -> None:
    arrays, meta, error = {}, {}, None
    try:
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
    arrays["__meta__"] = npzio.json_array({"outputs": meta, "error": error})
    npzio.save(out_dir / f"{check.id}.npz", arrays)


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise RuntimeError("could not drop privileges")
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="autograder.runner")
    parser.add_argument("--hw4", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--scratch", required=True, type=Path)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checks", required=True, help="comma-separated check ids")
    parser.add_argument("--progress-fd", type=int, required=True)
    parser.add_argument("--uid", type=int, default=-1)
    parser.add_argument("--gid", type=int, default=-1)
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--max-processes", type=int, default=0)
    args = parser.parse_args(argv)

    progress_file = os.fdopen(args.progress_fd, "w", buffering=1)

    def progress(line: str) -> None:
        progress_file.write(line + "\n")
        progress_file.flush()

    import warnings

    warnings.filterwarnings("ignore")
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    import matplotlib

    matplotlib.use("Agg")
    import torch

    torch.set_num_threads(1)
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.zeros(1, device=args.device)  # initialise CUDA before limits apply
    device = torch.device(args.device)

    from autograder.checks import by_id

    registry = by_id(include_hidden=True)
    wanted = [registry[cid] for cid in args.checks.split(",") if cid]

    if args.uid >= 0:
        drop_privileges(args.uid, args.gid)
    set_limits(args.memory_mb, args.max_processes, device.type)

    hw4 = args.hw4.resolve()
    sys.path.insert(0, str(hw4))
    os.chdir(args.scratch)
    os.environ["HOME"] = str(args.scratch)
    env = Env(hw4, args.scratch, device, progress)
    progress("ready")
    for check in wanted:
        progress(f"start {check.id}")
        run_one(check, env, args.out, device.type)
        progress(f"done {check.id}")
    progress("finished")
    progress_file.close()
    # Skip interpreter teardown: student objects' __del__ must not decide the exit code.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
