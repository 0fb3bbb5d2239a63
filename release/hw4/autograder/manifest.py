"""The assignment manifest (``assignment.toml``): what an assignment is made of.

One file beside the assignment's notebooks names the student files and their graded
functions, the notebooks, the parts with their check modules, where the stored
answers live and what the grading server preloads. Everything else (the engine, the
release builder, the book, the Gradescope packager, ``nbgrader_config.py``,
``collect_submission.py``, the tests) reads it through :func:`current`, so a new
assignment is a new folder with a manifest, not an edit of the engine.

Where the manifest is found (the *course root* is the folder holding ``autograder/``):

* ``$AUTOGRADER_ASSIGNMENT``: a manifest file, the folder holding one, or an
  assignment name under ``<course root>/source/``;
* otherwise ``<course root>/assignment.toml`` (the student release, where the
  package sits inside the assignment folder), else the only
  ``<course root>/source/*/assignment.toml``, else the only
  ``<course root>/release/*/assignment.toml`` (the Gradescope autograder).
"""
from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

MANIFEST = "assignment.toml"
ENV_VAR = "AUTOGRADER_ASSIGNMENT"
COURSE_ROOT = Path(__file__).resolve().parent.parent

_MODULE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
_RELPATH = r"^(?!/)(?!.*\.\.)[A-Za-z0-9_./-]+$"
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "title", "files", "parts"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+$"},
        "title": {"type": "string", "minLength": 1},
        "colab_folder": {"type": "string", "minLength": 1},
        "submission_zip": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+\.zip$"},
        "answers": {"type": "string", "pattern": _RELPATH},
        "randomizer": {"type": "string", "pattern": _RELPATH + r"(?<=\.py)"},
        "files": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["path", "functions"],
            "properties": {
                "path": {"type": "string", "pattern": _RELPATH + r"(?<=\.py)"},
                "functions": {"type": "array", "minItems": 1,
                              "items": {"type": "string", "pattern": r"^[A-Za-z_][\w.]*$"}},
            }}},
        "parts": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["id", "title", "checks"],
            "properties": {
                "id": {"type": "string", "pattern": r"^[A-Za-z0-9_]+$"},
                "title": {"type": "string"},
                "notebook": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+\.ipynb$"},
                "checks": {"type": "string", "pattern": _MODULE},
                "hidden_checks": {"type": "string", "pattern": _MODULE},
            }}},
        "figures": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["notebook", "cell", "title"],
            "properties": {"notebook": {"type": "string"}, "cell": {"type": "string"}, "title": {"type": "string"}}}},
        "check_support": {"type": "array", "items": {"type": "string", "pattern": _MODULE}},
        "instructor_only": {"type": "array", "items": {"type": "string", "pattern": _RELPATH}},
        "tools": {"type": "object", "additionalProperties": {"type": "string", "pattern": _RELPATH + r"(?<=\.py)"},
                  "propertyNames": {"pattern": r"^[a-z][a-z0-9-]*$"}},
        "runner": {"type": "object", "additionalProperties": False, "properties": {
            "preload": {"type": "array", "items": {"type": "string", "pattern": _MODULE}}}},
    },
}


class ManifestError(Exception):
    """The manifest is missing, ambiguous or malformed."""


@dataclass(frozen=True)
class StudentFile:
    path: str                       # relative to the assignment folder, e.g. "part1_gans/gan_pytorch.py"
    functions: tuple[str, ...]      # graded functions, e.g. ("sample_noise", "NoiseScheduler.add_noise")


@dataclass(frozen=True)
class Part:
    id: str                         # check ids of this part start with "<id>."
    title: str
    notebook: str | None            # at the top of the assignment folder
    checks: str                     # dotted module with ``CHECKS: list[Check]``, shipped to students
    hidden_checks: str | None       # the same for hidden checks, never shipped to students


@dataclass(frozen=True)
class Assignment:
    name: str
    title: str
    path: Path                      # the manifest file
    course_root: Path               # the folder holding autograder/ (and source/, release/)
    files: tuple[StudentFile, ...]
    parts: tuple[Part, ...]
    colab_folder: str
    submission_zip: str
    answers: str                    # relative to course_root
    preload: tuple[str, ...]
    randomizer: str                 # the provided seeded randomizer (``seed(s)``), relative to the folder
    check_support: tuple[str, ...] = ()     # modules the public check modules import (released with them)
    figures: tuple[dict, ...] = ()          # notebook cells whose figures go into the written-work PDF
    instructor_only: tuple[str, ...] = ()   # paths in the source folder never released
    tools: tuple[tuple[str, str], ...] = ()  # (command, script relative to the source folder)

    def is_instructor_only(self, rel: str) -> bool:
        return any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in self.instructor_only)

    @property
    def folder(self) -> Path:
        """The folder the manifest sits in (source, release or a student's copy)."""
        return self.path.parent

    @property
    def student_modules(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)

    @property
    def notebooks(self) -> tuple[str, ...]:
        return tuple(p.notebook for p in self.parts if p.notebook)

    @property
    def submitted(self) -> tuple[str, ...]:
        """Every file taken from a submission: the student modules, then the notebooks."""
        return self.student_modules + self.notebooks

    @property
    def functions(self) -> tuple[str, ...]:
        return tuple(name for f in self.files for name in f.functions)

    @property
    def source_dir(self) -> Path:
        return self.course_root / "source" / self.name

    @property
    def release_dir(self) -> Path:
        return self.course_root / "release" / self.name

    @property
    def answers_dir(self) -> Path:
        return self.course_root / self.answers

    def provided_dir(self) -> Path:
        """Where the provided (non-student) files come from: the release, else the source,
        else the folder the manifest sits in (the student's own copy)."""
        for folder in (self.release_dir, self.source_dir, self.folder):
            if (folder / MANIFEST).is_file():
                return folder
        raise ManifestError(f"no folder with {MANIFEST} for {self.name}")

    def check_modules(self, include_hidden: bool = True) -> list[tuple[str, bool]]:
        """(dotted module, hidden) for every part, public before hidden within a part."""
        found = []
        for part in self.parts:
            found.append((part.checks, False))
            if include_hidden and part.hidden_checks:
                found.append((part.hidden_checks, True))
        return found

    def part_of(self, check_id: str) -> Part | None:
        return next((p for p in self.parts if check_id.startswith(p.id + ".")), None)

    def module_of(self, function: str) -> str | None:
        """The student file that defines ``function`` (qualified or bare name)."""
        for f in self.files:
            if function in f.functions or function in {n.split(".")[-1] for n in f.functions}:
                return f.path
        return None


def load(path: Path | str, course_root: Path | str | None = None) -> Assignment:
    """Read and validate one manifest. ``course_root`` defaults to the folder above
    ``source/`` or ``release/`` when the manifest sits in one, else to its own folder."""
    import jsonschema

    path = Path(path).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ManifestError(f"cannot read {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(f"{path}: not valid TOML: {error}") from None
    try:
        jsonschema.validate(data, SCHEMA)
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ManifestError(f"{path}: {where}: {error.message}") from None
    if course_root is None:
        course_root = path.parent.parent.parent if path.parent.parent.name in ("source", "release") else path.parent
    parts = tuple(Part(p["id"], p["title"], p.get("notebook"), p["checks"], p.get("hidden_checks"))
                  for p in data["parts"])
    files = tuple(StudentFile(f["path"], tuple(f["functions"])) for f in data["files"])
    for label, values in (("file", [f.path for f in files]), ("part", [p.id for p in parts]),
                          ("function", [n for f in files for n in f.functions])):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ManifestError(f"{path}: {label} listed twice: {', '.join(repeated)}")
    return Assignment(
        name=data["name"], title=data["title"], path=path, course_root=Path(course_root).resolve(),
        files=files, parts=parts, colab_folder=data.get("colab_folder", data["name"]),
        submission_zip=data.get("submission_zip", f"{data['name']}_submission.zip"),
        answers=data.get("answers", f"answers/{data['name']}"),
        preload=tuple(data.get("runner", {}).get("preload", ())),
        randomizer=data.get("randomizer", "randomizer.py"),
        check_support=tuple(data.get("check_support", ())),
        figures=tuple(dict(f) for f in data.get("figures", ())),
        instructor_only=tuple(data.get("instructor_only", ())),
        tools=tuple(sorted(data.get("tools", {}).items())),
    )


def find(course_root: Path = COURSE_ROOT, choice: str | None = None) -> Path:
    """The manifest to use under ``course_root`` (see the module docstring)."""
    if choice:
        given = Path(choice)
        for candidate in (given, given / MANIFEST, course_root / "source" / choice / MANIFEST):
            if candidate.is_file():
                return candidate
        own = course_root / MANIFEST  # a student's copy: the package sits in the assignment folder
        if own.is_file() and tomllib.loads(own.read_text(encoding="utf-8")).get("name") == choice:
            return own
        raise ManifestError(f"${ENV_VAR}={choice}: no {MANIFEST} there")
    if (course_root / MANIFEST).is_file():
        return course_root / MANIFEST
    for kind in ("source", "release"):
        found = sorted((course_root / kind).glob(f"*/{MANIFEST}"))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(p.parent.name for p in found)
            raise ManifestError(f"several assignments in {course_root / kind} ({names}): "
                                f"set ${ENV_VAR} to the one to use")
    raise ManifestError(f"no {MANIFEST} under {course_root} (nor in source/*/ or release/*/)")


@functools.lru_cache(maxsize=None)
def _cached(choice: str | None, course_root: str) -> Assignment:
    path = find(Path(course_root), choice)
    root = Path(course_root) if path.resolve().is_relative_to(Path(course_root).resolve()) else None
    return load(path, root)


def current() -> Assignment:
    """The assignment this process works on (read once, then cached: a grading child
    may no longer be able to read the file after dropping its privileges)."""
    assignment = _cached(os.environ.get(ENV_VAR) or None, str(COURSE_ROOT))
    root = str(assignment.course_root)
    if root not in sys.path:
        sys.path.append(root)  # check modules are importable from the course root
    return assignment
