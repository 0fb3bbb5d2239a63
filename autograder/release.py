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

from .manifest import MANIFEST, Assignment, ManifestError, current, load

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
# Any of these words left in a released file means a fence was malformed.
MARKER_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                "BEGIN MARK SCHEME", "END MARK SCHEME")

# The engine's public files, relative to autograder/. An allow-list: a file the lead
# adds is NOT released until it is named here (or, if it is for instructors only, in
# INSTRUCTOR_ONLY); tests/test_release.py fails until every file of the package is
# classified. The public check modules and answers come from the manifest.
ENGINE_FILES = (
    "__init__.py",
    "__main__.py",
    "cli.py",
    "engine.py",
    "manifest.py",
    "runner.py",
    "sandbox.py",
    "results.py",
    "notebook.py",
    "npzio.py",
    "protocol.py",
    "compare.py",
    "checks/__init__.py",
    "checks/api.py",
    "checks/helpers.py",
    "written.py",
)
PUBLIC_ANSWERS = ("public.npz", "timings.json")
# Glob patterns (relative to autograder/) that never leave the instructor's copy.
INSTRUCTOR_ONLY = (
    "release.py",
    "gradescope.py",
    "book.py",
    "grade_all.py",
    "class_report.py",
    "bench*.py",
    "templates/*",
)

# Set-up files of the repository root that every release carries (students set up
# from the release alone); README.md's marker line becomes the points table.
SETUP_FILES = ("requirements.txt", "environment.yml")
POINTS_MARKER = "<!-- points table: written by the release builder from the checks -->"

# Never copied from source/hw4: caches, downloaded data, students' build products.
IGNORED_NAMES = ("__pycache__", ".ipynb_checkpoints", ".*", "*.pyc", "data", "*.zip",
                 "*.pt", "*.pth", "*.ckpt", "gradebook.db", "nbgrader_config.py")

# The first code cell of every notebook (cell id "setup"), from
# templates/setup_cell.py with the manifest's Colab folder filled in.
# `--write-setup-cell` puts it into the source notebooks; tests/test_notebooks_execute.py
# runs it as Colab would.
SETUP_TEMPLATE = PACKAGE_ROOT / "templates" / "setup_cell.py"


def setup_cell(assignment=None) -> str:
    from string import Template

    assignment = assignment or current()
    return Template(SETUP_TEMPLATE.read_text()).substitute(colab_folder=assignment.colab_folder)


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


def _generate_notebooks(source: Path, notebooks: list[Path], dest: Path, name: str) -> None:
    """Run ``nbgrader generate_assignment`` on ``notebooks`` in a temporary course."""
    with tempfile.TemporaryDirectory(prefix="release-course-") as tmp:
        course = Path(tmp)
        assignment = course / "source" / name
        assignment.mkdir(parents=True)
        for rel in notebooks:
            _check_cell_ids(json.loads((source / rel).read_text()), rel)
            shutil.copyfile(source / rel, assignment / rel)
        (course / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
            c = get_config()
            c.CourseDirectory.root = {str(course)!r}
            c.CourseDirectory.course_id = "release"
            c.CourseDirectory.db_url = "sqlite:///" + {str(course / "gradebook.db")!r}
        """))
        config_dir = course / ".jupyter"
        config_dir.mkdir()
        env = nbgrader_env(JUPYTER_CONFIG_DIR=str(config_dir))
        env.pop("JUPYTER_CONFIG_PATH", None)
        done = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
             f"--CourseDirectory.root={course}", "--log-level=WARN"],
            cwd=course, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ReleaseError("nbgrader generate_assignment failed:\n" + done.stdout + done.stderr)
        for rel in notebooks:
            made = course / "release" / name / rel
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

def module_file(module: str) -> str:
    """The file of a dotted module, relative to the course root."""
    return module.replace(".", "/") + ".py"


def _origin(rel: str, assignment: Assignment, package: Path) -> Path:
    """Where a course-root-relative grader file comes from (``autograder/`` is ``package``)."""
    head, _, rest = rel.partition("/")
    return package / rest if head == "autograder" else assignment.course_root / rel


def grader_files(assignment: Assignment, package: Path = PACKAGE_ROOT) -> tuple[dict[str, Path], set[str]]:
    """The grader files the release carries ({course-root-relative path: origin}) and
    those it must never carry (hidden check modules, hidden answers)."""
    public = {f"autograder/{rel}": package / rel for rel in ENGINE_FILES}
    for module in [m for m, _ in assignment.check_modules(include_hidden=False)] + list(assignment.check_support):
        public[module_file(module)] = _origin(module_file(module), assignment, package)
    for name in PUBLIC_ANSWERS:
        rel = f"{assignment.answers}/{name}"
        public[rel] = _origin(rel, assignment, package)
    secret = {module_file(p.hidden_checks) for p in assignment.parts if p.hidden_checks}
    secret.add(f"{assignment.answers}/hidden.npz")
    missing = [rel for rel, origin in public.items() if not origin.is_file()]
    if missing:
        raise ReleaseError("the public autograder needs these files, which are missing: " + ", ".join(missing)
                           + " (for the answers run `python -m autograder answers`)")
    leaked = sorted(set(public) & secret) + [
        rel for rel in public if rel.startswith("autograder/")
        and any(fnmatch.fnmatch(rel.partition("/")[2], pattern) for pattern in INSTRUCTOR_ONLY)]
    if leaked:
        raise ReleaseError(f"instructor-only files among the public ones: {leaked}")
    return public, secret


def public_timings(timings: Path, public_answers: Path) -> str:
    """timings.json with the public checks only (the release must not name hidden ones)."""
    import zipfile

    try:
        with zipfile.ZipFile(public_answers) as archive:
            public = {name.partition("/")[0] for name in archive.namelist()}
        document = json.loads(timings.read_text())
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ReleaseError(f"{public_answers.name} or {timings.name} is unreadable ({error}): "
                           "run `python -m autograder answers`") from None
    document["seconds"] = {cid: t for cid, t in document.get("seconds", {}).items() if cid in public}
    return json.dumps(document, indent=1) + "\n"


def unclassified_autograder_files(package: Path = PACKAGE_ROOT, assignment: Assignment | None = None) -> list[str]:
    """Package files neither public, nor secret, nor instructor-only (they must be
    classified before a release)."""
    assignment = assignment or current()
    public, secret = grader_files(assignment, package)
    known = {rel.partition("/")[2] for rel in set(public) | secret if rel.startswith("autograder/")}
    found = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package).as_posix()
        if not path.is_file() or "__pycache__" in rel.split("/") or rel.endswith(".pyc"):
            continue
        if rel in known or any(fnmatch.fnmatch(rel, p) for p in INSTRUCTOR_ONLY):
            continue
        found.append(rel)
    return found


# ---------------------------------------------------------------------------- build

def build_release(source: Path | str | None = None, dest: Path | str | None = None,
                  package: Path | str = PACKAGE_ROOT) -> list[str]:
    """Regenerate ``dest`` (default: the manifest's release folder) from ``source``
    (default: its source folder); returns the released paths (sorted, POSIX).

    Everything is built in a temporary folder first, so a failure leaves ``dest`` as it was.
    """
    source = Path(source or current().source_dir).resolve()
    try:
        assignment = load(source / MANIFEST)
    except ManifestError as error:
        raise ReleaseError(f"{source} is not an assignment source: {error}") from None
    dest, package = Path(dest or assignment.release_dir).resolve(), Path(package).resolve()
    if dest == source or dest in source.parents or source in dest.parents or dest == REPO_ROOT:
        raise ReleaseError(f"refusing to write the release to {dest}")
    files = [rel for rel in source_files(source) if not assignment.is_instructor_only(rel.as_posix())]
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
        unlisted = sorted(set(assignment.notebooks) - {rel.as_posix() for rel in notebooks})
        if unlisted:
            raise ReleaseError(f"notebooks named in {MANIFEST} but missing from {source}: {unlisted}")
        if notebooks:
            _generate_notebooks(source, notebooks, staging, assignment.name)
        for name in SETUP_FILES:  # one copy of the environment: the repository's own
            origin = source.parent.parent / name
            if origin.is_file() and not (source / name).exists():
                shutil.copyfile(origin, staging / name)
        theory_page = assignment.course_root / "assignments" / assignment.name / "theory.md"
        if theory_page.is_file():  # the answer template, from the book's questions
            import nbformat

            from .written import TEMPLATE, template_notebook, theory_from_book

            nbformat.write(template_notebook(theory_from_book(theory_page), assignment.title), staging / TEMPLATE)
        readme = staging / "README.md"
        if readme.is_file() and POINTS_MARKER in readme.read_text():
            readme.write_text(readme.read_text().replace(POINTS_MARKER, points_table()))
        public, _ = grader_files(assignment, package)
        for rel, origin in public.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if rel == f"{assignment.answers}/timings.json":
                target.write_text(public_timings(origin, public[f"{assignment.answers}/public.npz"]))
            else:
                shutil.copyfile(origin, target)
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


def write_setup_cell(source: Path | str | None = None) -> list[str]:
    """Put :func:`setup_cell` into the cell with id "setup" of each source notebook
    (no other cell is touched); returns the notebooks that changed."""
    import nbformat

    source = Path(source or current().source_dir)
    cell = setup_cell(load(source / MANIFEST))
    changed = []
    for path in sorted(source.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        cells = [c for c in notebook.cells if c.get("id") == "setup"]
        if len(cells) != 1 or cells[0].cell_type != "code":
            raise ReleaseError(f"{path.name}: needs exactly one code cell with id 'setup'")
        if cells[0].source != cell:
            cells[0].source = cell
            nbformat.write(notebook, path)
            changed.append(path.name)
    return changed


CHECK_CALL = re.compile(r'^check\("([\w.]+)"(, hidden=True)?\)$', re.MULTILINE)


def registry_points(include_hidden: bool = True) -> dict[tuple[str, bool], float]:
    """Points per (function, hidden) from the registry of checks."""
    from .checks import all_checks

    points: dict[tuple[str, bool], float] = {}
    for c in all_checks(include_hidden):
        points[(c.function, c.hidden)] = points.get((c.function, c.hidden), 0) + c.points
    return points


def write_check_points(source: Path | str | None = None) -> list[str]:
    """Set the nbgrader points of every ``check("f")`` / ``check("f", hidden=True)``
    cell of the source notebooks to the registry's points for that function; returns
    the notebooks that changed. A cell naming a function without checks is an error."""
    import nbformat

    source = Path(source or current().source_dir)
    points = registry_points()
    bare = {(f.split(".")[-1], hidden): p for (f, hidden), p in points.items()}
    changed = []
    for path in sorted(source.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        touched = False
        for cell in notebook.cells:
            calls = CHECK_CALL.findall(cell.source) if cell.cell_type == "code" else []
            if len(calls) != 1:
                continue
            function, hidden = calls[0][0], bool(calls[0][1])
            want = points.get((function, hidden), bare.get((function, hidden)))
            if want is None:
                raise ReleaseError(f"{path.name}: cell {cell.get('id')} checks {function!r} "
                                   f"({'hidden' if hidden else 'public'}), which has no such checks")
            meta = cell.metadata.setdefault("nbgrader", {})
            if meta.get("points") != want:
                meta["points"] = int(want) if float(want).is_integer() else want
                touched = True
        if touched:
            nbformat.write(notebook, path)
            changed.append(path.name)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder release", description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, help="default: the manifest's source/<name>")
    parser.add_argument("--dest", type=Path, help="default: the manifest's release/<name>")
    parser.add_argument("--check", action="store_true",
                        help="build into a temporary folder and report differences from --dest")
    parser.add_argument("--write-setup-cell", action="store_true",
                        help="update the 'setup' cell of the source notebooks, then build")
    parser.add_argument("--write-points", action="store_true",
                        help="set the points of the source notebooks' check cells from the registry, then build")
    args = parser.parse_args(argv)
    if args.write_points:
        print("check-cell points updated in:", ", ".join(write_check_points(args.source)) or "nothing (up to date)")
    if args.write_setup_cell:
        print("setup cell updated in:", ", ".join(write_setup_cell(args.source)) or "nothing (up to date)")
    unclassified = unclassified_autograder_files(assignment=load(args.source / MANIFEST) if args.source else None)
    if unclassified:
        print("warning: autograder files in neither the public allow-list nor INSTRUCTOR_ONLY "
              "(autograder/release.py); they are not released: " + ", ".join(unclassified), file=sys.stderr)
    assignment = load(args.source / MANIFEST) if args.source else current()
    args.source = args.source or assignment.source_dir
    args.dest = args.dest or assignment.release_dir
    try:
        if args.check:
            with tempfile.TemporaryDirectory(prefix="release-check-") as tmp:
                build_release(args.source, Path(tmp) / assignment.name)
                problems = tree_differences(Path(tmp) / assignment.name, args.dest)
            if problems:
                print(f"{args.dest} is out of date (run `make release`):\n  " + "\n  ".join(problems))
                return 1
            print(f"{args.dest} is up to date")
            return 0
        released = build_release(args.source, args.dest)
    except ReleaseError as error:
        print(f"release failed: {error}", file=sys.stderr)
        return 1
    grader = set(grader_files(assignment)[0])
    stubs = sum((args.dest / rel).read_text().count("not implemented yet")
                for rel in released if rel.endswith(".py") and rel not in grader)
    print(f"wrote {args.dest}: {len(released)} files, {stubs} TODO stubs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
