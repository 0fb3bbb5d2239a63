"""Build the student release ``release/hw4`` from the instructor's ``source/hw4``.

``python -m autograder release`` (``make release``) regenerates the whole folder:

* every ``.py`` file of ``source/hw4`` is copied with each solution fence
  (``### BEGIN SOLUTION`` .. ``### END SOLUTION``) replaced by
  ``raise NotImplementedError("<function>: not implemented yet")`` at the fence's
  indentation, and each hidden-test fence removed. nbgrader copies ``.py`` files
  verbatim, so this is the step that keeps module solutions out of the release;
* the notebooks go through nbgrader's own ``generate_assignment`` (cell metadata
  checked, locked cells, solutions replaced, hidden tests removed, outputs cleared),
  run in a throw-away course folder so nothing is left behind;
* a public copy of the ``autograder`` package goes to ``release/hw4/autograder``
  (an explicit allow-list: no hidden checks, no hidden answers, no instructor tools)
  so that ``from autograder.notebook import check`` works for students.

The build is deterministic (no timestamps): running it twice gives identical bytes.
``--check`` builds into a temporary folder and reports differences from ``--dest``
without touching it (what CI runs).
"""
from __future__ import annotations

import argparse
import filecmp
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent
ASSIGNMENT = "hw4"

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
# Any of these words left in a released file means a fence was malformed.
MARKER_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                "BEGIN MARK SCHEME", "END MARK SCHEME")

# The public part of the autograder package, relative to autograder/. An allow-list:
# a file the lead adds is NOT released until it is named here (or, if it is for
# instructors only, in INSTRUCTOR_ONLY); tests/test_release.py fails until every
# file of the package is in exactly one of the two lists.
PUBLIC_AUTOGRADER_FILES = (
    "__init__.py",
    "__main__.py",
    "cli.py",
    "engine.py",
    "runner.py",
    "sandbox.py",
    "results.py",
    "notebook.py",
    "npzio.py",
    "protocol.py",
    "compare.py",
    "checks/__init__.py",
    "checks/api.py",
    "checks/part1.py",
    "checks/part2.py",
    "answers/public.npz",
    "answers/timings.json",
)
# Glob patterns (relative to autograder/) that never leave the instructor's copy.
INSTRUCTOR_ONLY = (
    "release.py",
    "gradescope.py",
    "oracle.py",
    "book.py",
    "grade_all.py",
    "class_report.py",
    "bench*.py",
    "checks/*_hidden.py",
    "answers/hidden.npz",
    "templates/*",
)

# Set-up files of the repository root that every release carries (students set up
# from the release alone); README.md's marker line becomes the points table.
SETUP_FILES = ("requirements.txt", "environment.yml")
POINTS_MARKER = "<!-- points table: written by the release builder from the checks -->"

# Never copied from source/hw4: caches, downloaded data, students' build products.
IGNORED_NAMES = ("__pycache__", ".ipynb_checkpoints", ".*", "*.pyc", "data", "*.zip",
                 "*.pt", "*.pth", "*.ckpt", "gradebook.db", "nbgrader_config.py")

# The first code cell of both notebooks (cell id "setup"). `--write-setup-cell` puts
# this text into source/hw4/*.ipynb; tests/test_notebooks_execute.py runs it as Colab.
SETUP_CELL = """\
# Setup: run this cell first (Colab or JupyterLab).
import os, sys, pathlib
# Colab only (ignored elsewhere): keep the hw4 folder on Google Drive so your edits survive.
USE_DRIVE = True                # False: work in /content/hw4, which is lost when the runtime ends
DRIVE_FOLDER = "MyDrive/hw4"    # where you uploaded the hw4 folder in your Drive
RELEASE_URL = os.environ.get("HW4_RELEASE_URL", "")  # or a URL of the hw4 release zip
if "google.colab" in sys.modules:
    import importlib.util, shutil, subprocess, tempfile, urllib.request, zipfile
    _home = pathlib.Path(os.environ.get("HW4_COLAB_HOME", "/content"))
    if USE_DRIVE:
        from google.colab import drive
        drive.mount(str(_home / "drive"))
        _work = _home / "drive" / DRIVE_FOLDER
    else:
        _work = _home / "hw4"
    if not (_work / "randomizer.py").exists():
        if not RELEASE_URL:
            raise FileNotFoundError(f"no hw4 files in {_work}: upload the hw4 folder there "
                                    "(or set RELEASE_URL to the release zip) and run this cell again")
        print(f"downloading the hw4 release into {_work} ...")
        with tempfile.TemporaryDirectory() as _tmp:
            _zip = pathlib.Path(_tmp, "hw4.zip")
            urllib.request.urlretrieve(RELEASE_URL, _zip)
            zipfile.ZipFile(_zip).extractall(_tmp)
            _got = next(p.parent for p in sorted(pathlib.Path(_tmp).rglob("randomizer.py")))
            shutil.copytree(_got, _work, dirs_exist_ok=True)
    _missing = [m for m in ("torch", "torchvision", "numpy", "scipy", "matplotlib", "tqdm")
                if importlib.util.find_spec(m) is None]
    if _missing:  # Colab ships all of these today; install only what is absent
        print("installing:", *_missing)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *_missing], check=True)
    os.chdir(_work)
HW4 = pathlib.Path.cwd()
# The autograder: inside hw4/ (student release) or a few folders up (course repository).
for _root in [HW4, *HW4.parents][:4]:
    if (_root / "autograder" / "__init__.py").exists():
        sys.path.insert(0, str(_root))
        break
if "google.colab" in sys.modules and os.geteuid() == 0:
    # the checks run as an unprivileged user, who cannot read Drive: use a readable copy
    _pkg = pathlib.Path(tempfile.mkdtemp(prefix="hw4-autograder-"))
    shutil.copytree(_root / "autograder", _pkg / "autograder")
    os.chmod(_pkg, 0o755)
    os.environ["HW4_PROVIDED"] = str(HW4)
    sys.path.insert(0, str(_pkg))
from autograder.notebook import check
%load_ext autoreload
%autoreload 2"""

_DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")
_CLASS = re.compile(r"^(?P<indent>[ \t]*)class[ \t]+(?P<name>\w+)")


class ReleaseError(Exception):
    """The source cannot be released as it is (malformed fence, leak, bad notebook)."""


# --------------------------------------------------------------------------- modules

def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def enclosing_name(lines: list[str], index: int) -> str | None:
    """Qualified name (``Class.method`` or ``function``) of the def around ``lines[index]``."""
    depth = len(_indent(lines[index]).expandtabs())
    names: list[str] = []
    for line in reversed(lines[:index]):
        if not line.strip():
            continue
        width = len(_indent(line).expandtabs())
        if width >= depth:
            continue
        match = _DEF.match(line) or _CLASS.match(line)
        if match:
            names.append(match.group("name"))
            depth = width
            if depth == 0:
                break
    return ".".join(reversed(names)) or None


def strip_module(text: str, where: str = "<module>") -> str:
    """The student version of a module: solution fences become raising stubs,
    hidden-test fences disappear. Raises :class:`ReleaseError` on malformed fences
    or when the result is not valid Python."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(BEGIN_SOLUTION) or stripped.startswith(BEGIN_HIDDEN):
            solution = stripped.startswith(BEGIN_SOLUTION)
            begin, end = (BEGIN_SOLUTION, END_SOLUTION) if solution else (BEGIN_HIDDEN, END_HIDDEN)
            close = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(end)), None)
            if close is None:
                raise ReleaseError(f"{where}:{i + 1}: {begin!r} is never closed by {end!r}")
            inner = [k + 1 for k in range(i + 1, close)
                     if any(w in lines[k] for w in ("### BEGIN", "### END"))]
            if inner:
                raise ReleaseError(f"{where}:{inner[0]}: fence inside the fence opened at line {i + 1}")
            if solution:
                name = enclosing_name(lines, i)
                if name is None:
                    raise ReleaseError(f"{where}:{i + 1}: solution fence outside any function")
                out.append(f'{_indent(line)}raise NotImplementedError("{name}: not implemented yet")\n')
            i = close + 1
            continue
        if stripped.startswith(END_SOLUTION) or stripped.startswith(END_HIDDEN):
            raise ReleaseError(f"{where}:{i + 1}: {stripped!r} without its BEGIN line")
        out.append(line)
        i += 1
    result = "".join(out)
    _refuse_markers(result, where)
    try:
        compile(result, where, "exec")
    except SyntaxError as error:
        raise ReleaseError(f"{where}: the stripped module is not valid Python: {error}") from None
    return result


def _refuse_markers(text: str, where: str) -> None:
    for number, line in enumerate(text.splitlines(), 1):
        for word in MARKER_WORDS:
            if word in line:
                raise ReleaseError(f"{where}:{number}: {word!r} left in the release: {line.strip()!r}")


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED_NAMES)


def source_files(source: Path) -> list[Path]:
    """Every file of the source assignment that the release is built from (sorted)."""
    found = []
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        for name in sorted(files):
            if not _ignored(name):
                found.append(Path(folder, name).relative_to(source))
    return found


# ------------------------------------------------------------------------- notebooks

def nbgrader_env(**extra) -> dict:
    """Environment for running nbgrader: it calls ``alembic`` through PATH, so the
    running interpreter's bin folder (the virtual environment) must come first."""
    env = dict(os.environ, PYTHONHASHSEED="0", **extra)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _generate_notebooks(source: Path, notebooks: list[Path], dest: Path) -> None:
    """Run ``nbgrader generate_assignment`` on ``notebooks`` in a temporary course."""
    with tempfile.TemporaryDirectory(prefix="hw4-release-course-") as tmp:
        course = Path(tmp)
        assignment = course / "source" / ASSIGNMENT
        assignment.mkdir(parents=True)
        for rel in notebooks:
            _check_cell_ids(json.loads((source / rel).read_text()), rel)
            shutil.copyfile(source / rel, assignment / rel)
        (course / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
            c = get_config()
            c.CourseDirectory.root = {str(course)!r}
            c.CourseDirectory.course_id = "hw4-release"
            c.CourseDirectory.db_url = "sqlite:///" + {str(course / "gradebook.db")!r}
        """))
        config_dir = course / ".jupyter"
        config_dir.mkdir()
        env = nbgrader_env(JUPYTER_CONFIG_DIR=str(config_dir))
        env.pop("JUPYTER_CONFIG_PATH", None)
        done = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force",
             f"--CourseDirectory.root={course}", "--log-level=WARN"],
            cwd=course, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ReleaseError("nbgrader generate_assignment failed:\n" + done.stdout + done.stderr)
        for rel in notebooks:
            made = course / "release" / ASSIGNMENT / rel
            if not made.is_file():
                raise ReleaseError(f"nbgrader did not produce {rel}")
            data = made.read_text()
            _refuse_markers(data, f"release notebook {rel}")
            _check_no_outputs(json.loads(data), rel)
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_text(data if data.endswith("\n") else data + "\n")


def _check_cell_ids(notebook: dict, where) -> None:
    """Cells without ids would get random ones from nbformat: the release would change
    on every build."""
    missing = [n for n, cell in enumerate(notebook.get("cells", [])) if not cell.get("id")]
    if missing or (notebook.get("nbformat"), notebook.get("nbformat_minor", 0)) < (4, 5):
        raise ReleaseError(f"{where}: needs nbformat 4.5 with an id on every cell "
                           f"(cells without: {missing[:5]}); save it with nbformat >= 5.1")


def _check_no_outputs(notebook: dict, where) -> None:
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count")):
            raise ReleaseError(f"{where}: a code cell kept its outputs")


# ------------------------------------------------------------------- the autograder

def public_autograder_files(package: Path = PACKAGE_ROOT) -> list[str]:
    """The allow-listed package files (relative to ``package``); every one must exist."""
    missing = [rel for rel in PUBLIC_AUTOGRADER_FILES if not (package / rel).is_file()]
    if missing:
        raise ReleaseError("the public autograder needs these files, which are missing: "
                           + ", ".join(f"autograder/{m}" for m in missing)
                           + " (for answers/public.npz run `python -m autograder answers`)")
    leaked = [rel for rel in PUBLIC_AUTOGRADER_FILES
              if any(fnmatch.fnmatch(rel, pattern) for pattern in INSTRUCTOR_ONLY)]
    if leaked:
        raise ReleaseError(f"instructor-only files in the public allow-list: {leaked}")
    return list(PUBLIC_AUTOGRADER_FILES)


def public_timings(package: Path = PACKAGE_ROOT) -> str:
    """timings.json with the public checks only (the release must not name hidden ones)."""
    import json
    import zipfile

    try:
        with zipfile.ZipFile(package / "answers" / "public.npz") as archive:
            public = {name.partition("/")[0] for name in archive.namelist()}
        document = json.loads((package / "answers" / "timings.json").read_text())
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ReleaseError(f"answers/public.npz or answers/timings.json is unreadable ({error}): "
                           "run `python -m autograder answers`") from None
    document["seconds"] = {cid: t for cid, t in document.get("seconds", {}).items() if cid in public}
    return json.dumps(document, indent=1) + "\n"


def unclassified_autograder_files(package: Path = PACKAGE_ROOT) -> list[str]:
    """Package files in neither list (they must be classified before a release)."""
    found = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package).as_posix()
        if not path.is_file() or "__pycache__" in rel.split("/") or rel.endswith(".pyc"):
            continue
        if rel in PUBLIC_AUTOGRADER_FILES or any(fnmatch.fnmatch(rel, p) for p in INSTRUCTOR_ONLY):
            continue
        found.append(rel)
    return found


# ---------------------------------------------------------------------------- build

def build_release(source: Path | str = REPO_ROOT / "source" / ASSIGNMENT,
                  dest: Path | str = REPO_ROOT / "release" / ASSIGNMENT,
                  package: Path | str = PACKAGE_ROOT) -> list[str]:
    """Regenerate ``dest`` from ``source``; returns the released paths (sorted, POSIX).

    Everything is built in a temporary folder first, so a failure leaves ``dest`` as it was.
    """
    source, dest, package = Path(source).resolve(), Path(dest).resolve(), Path(package).resolve()
    if not (source / "randomizer.py").is_file():
        raise ReleaseError(f"{source} does not look like the hw4 source (no randomizer.py)")
    if dest == source or dest in source.parents or source in dest.parents or dest == REPO_ROOT:
        raise ReleaseError(f"refusing to write the release to {dest}")
    files = source_files(source)
    notebooks = [rel for rel in files if rel.suffix == ".ipynb"]
    nested = [rel for rel in notebooks if len(rel.parts) > 1]
    if nested:
        raise ReleaseError(f"notebooks must sit at the top of {source.name}/: {nested}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".release-", dir=dest.parent))
    try:
        for rel in files:
            if rel.suffix == ".ipynb":
                continue
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if rel.suffix == ".py":
                target.write_text(strip_module((source / rel).read_text(), rel.as_posix()))
            else:
                data = (source / rel).read_bytes()
                _refuse_markers(data.decode("utf-8", "replace"), rel.as_posix())
                target.write_bytes(data)
        if notebooks:
            _generate_notebooks(source, notebooks, staging)
        for name in SETUP_FILES:  # one copy of the environment: the repository's own
            origin = source.parent.parent / name
            if origin.is_file() and not (source / name).exists():
                shutil.copyfile(origin, staging / name)
        readme = staging / "README.md"
        if readme.is_file() and POINTS_MARKER in readme.read_text():
            readme.write_text(readme.read_text().replace(POINTS_MARKER, points_table()))
        for rel in public_autograder_files(package):
            target = staging / "autograder" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if rel == "answers/timings.json":
                target.write_text(public_timings(package))
            else:
                shutil.copyfile(package / rel, target)
        for path in staging.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(staging, 0o755)
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())


def points_table() -> str:
    """The autograded points per student function (public and hidden checks), in Markdown."""
    from .checks import all_checks

    rows: dict[tuple[str, str], list[float]] = {}
    for check in all_checks(include_hidden=True):
        rows.setdefault((check.part, check.function), []).append(check.points)
    lines = ["| part | function | checks | points |", "|---|---|---:|---:|"]
    for (part, function), points in rows.items():
        lines.append(f"| {part[-1]} | `{function}` | {len(points)} | {sum(points):g} |")
    total = sum(sum(p) for p in rows.values())
    lines.append(f"| | **total** | {sum(len(p) for p in rows.values())} | **{total:g}** |")
    return "\n".join(lines)


def tree_differences(made: Path, committed: Path) -> list[str]:
    """Paths that differ between two release trees (ignoring Python caches)."""
    def listing(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}
    ours, theirs = listing(made), listing(committed) if committed.exists() else set()
    problems = [f"missing from {committed}: {rel}" for rel in sorted(ours - theirs)]
    problems += [f"not produced by the builder: {rel}" for rel in sorted(theirs - ours)]
    problems += [f"differs: {rel}" for rel in sorted(ours & theirs)
                 if not filecmp.cmp(made / rel, committed / rel, shallow=False)]
    return problems


def write_setup_cell(source: Path | str = REPO_ROOT / "source" / ASSIGNMENT) -> list[str]:
    """Put :data:`SETUP_CELL` into the cell with id "setup" of each source notebook
    (no other cell is touched); returns the notebooks that changed."""
    import nbformat

    changed = []
    for path in sorted(Path(source).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        cells = [c for c in notebook.cells if c.get("id") == "setup"]
        if len(cells) != 1 or cells[0].cell_type != "code":
            raise ReleaseError(f"{path.name}: needs exactly one code cell with id 'setup'")
        if cells[0].source != SETUP_CELL:
            cells[0].source = SETUP_CELL
            nbformat.write(notebook, path)
            changed.append(path.name)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder release", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=REPO_ROOT / "source" / ASSIGNMENT)
    parser.add_argument("--dest", type=Path, default=REPO_ROOT / "release" / ASSIGNMENT)
    parser.add_argument("--check", action="store_true",
                        help="build into a temporary folder and report differences from --dest")
    parser.add_argument("--write-setup-cell", action="store_true",
                        help="update the 'setup' cell of the source notebooks, then build")
    args = parser.parse_args(argv)
    if args.write_setup_cell:
        print("setup cell updated in:", ", ".join(write_setup_cell(args.source)) or "nothing (up to date)")
    unclassified = unclassified_autograder_files()
    if unclassified:
        print("warning: autograder files in neither the public allow-list nor INSTRUCTOR_ONLY "
              "(autograder/release.py); they are not released: " + ", ".join(unclassified), file=sys.stderr)
    try:
        if args.check:
            with tempfile.TemporaryDirectory(prefix="hw4-release-check-") as tmp:
                build_release(args.source, Path(tmp) / ASSIGNMENT)
                problems = tree_differences(Path(tmp) / ASSIGNMENT, args.dest)
            if problems:
                print(f"{args.dest} is out of date (run `make release`):\n  " + "\n  ".join(problems))
                return 1
            print(f"{args.dest} is up to date")
            return 0
        released = build_release(args.source, args.dest)
    except ReleaseError as error:
        print(f"release failed: {error}", file=sys.stderr)
        return 1
    stubs = sum((args.dest / rel).read_text().count("not implemented yet")
                for rel in released if rel.endswith(".py") and not rel.startswith("autograder/"))
    print(f"wrote {args.dest}: {len(released)} files, {stubs} TODO stubs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
