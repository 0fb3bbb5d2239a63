"""The student release: built by the builder only, in sync with source/, and leak-free.

The first half tests the builder on small fixture trees (fence stripping, notebooks
through nbgrader, the autograder allow-list, idempotence); the second half tests the
committed ``release/hw4`` against ``source/hw4``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import release as builder
from autograder.manifest import current
from autograder.release import ReleaseError, build_release, strip_module, tree_differences

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "hw4"
RELEASE = ROOT / "release" / "hw4"
STUDENT_MODULES = current().student_modules
FIXTURE_MANIFEST = """\
name = "hw4"
title = "A fixture assignment"
answers = "autograder/answers"
[[files]]
path = "shapes/area.py"
functions = ["area", "Shape.scale"]
[[parts]]
id = "p1"
title = "Part 1"
notebook = "part1.ipynb"
checks = "autograder.checks.p1"
hidden_checks = "autograder.checks.p1_hidden"
"""
STUB = re.compile(r'raise NotImplementedError\("([\w.]+): not implemented yet"\)')


# --------------------------------------------------------------------- the builder

FENCED = '''\
import math


def area(r):
    """Area of a circle."""
    # TODO: return the area
    ### BEGIN SOLUTION
    value = math.pi * r ** 2  # secret
    return value
    ### END SOLUTION


class Shape:
    def scale(self,
              k):
        # TODO: scale
        if k:
            ### BEGIN SOLUTION
            return k * 2
            ### END SOLUTION
        return 0

    ### BEGIN HIDDEN TESTS
    hidden_value = 42
    ### END HIDDEN TESTS
'''


def test_strip_module_replaces_each_fence_by_a_named_stub_at_its_indentation():
    out = strip_module(FENCED, "shapes.py")
    assert "secret" not in out and "hidden_value" not in out and "k * 2" not in out
    assert '    raise NotImplementedError("area: not implemented yet")\n' in out
    assert '            raise NotImplementedError("Shape.scale: not implemented yet")\n' in out
    assert "# TODO: return the area" in out  # the instructions stay
    namespace: dict = {}
    exec(compile(out, "shapes.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="area"):
        namespace["area"](1.0)
    with pytest.raises(NotImplementedError, match="Shape.scale"):
        namespace["Shape"]().scale(1)
    assert strip_module(out, "shapes.py") == out  # stripping is idempotent


@pytest.mark.parametrize("text, complaint", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "without its BEGIN"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n", "fence inside"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "outside any function"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", "left in the release"),
    ("def f(x):\n    if x:\n  ### BEGIN SOLUTION\n        return 1\n  ### END SOLUTION\n", "not valid Python"),
])
def test_strip_module_refuses_malformed_fences(text, complaint):
    with pytest.raises(ReleaseError, match=complaint):
        strip_module(text, "bad.py")


def _fixture_notebook(path: Path) -> None:
    def meta(**fields):
        return {"nbgrader": {"schema_version": 3, "task": False, **fields}}

    nb = nbformat.v4.new_notebook()
    setup = nbformat.v4.new_code_cell("import os", metadata=meta(grade=False, solution=False, locked=True,
                                                                 grade_id="setup"))
    setup.id = "setup"
    ran = nbformat.v4.new_code_cell("print('plot')")
    ran.outputs = [nbformat.v4.new_output("stream", text="plot\n")]
    ran.execution_count = 3
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Part", metadata=meta(grade=False, solution=False, locked=True,
                                                              grade_id="intro")),
        setup,
        ran,
        nbformat.v4.new_code_cell("check('area')", metadata=meta(grade=True, solution=False, locked=True,
                                                                 points=3, grade_id="check_area")),
        nbformat.v4.new_code_cell("# hidden\n### BEGIN HIDDEN TESTS\ncheck('area', hidden=True)\n"
                                  "### END HIDDEN TESTS",
                                  metadata=meta(grade=True, solution=False, locked=True, points=2,
                                                grade_id="check_area_hidden")),
        nbformat.v4.new_markdown_cell("Why?\n\n### BEGIN SOLUTION\nThe instructor's answer.\n### END SOLUTION",
                                      metadata=meta(grade=True, solution=True, locked=False, points=2,
                                                    grade_id="q_why")),
    ]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def fixture_trees(tmp_path_factory):
    """A tiny source assignment, a tiny autograder package, and its release built twice."""
    base = tmp_path_factory.mktemp("release-fixture")
    source = base / "source" / "hw4"
    (source / "shapes").mkdir(parents=True)
    (source / "randomizer.py").write_text("def seed(s):\n    pass\n")
    (source / "assignment.toml").write_text(FIXTURE_MANIFEST)
    (source / "shapes" / "area.py").write_text(FENCED)
    (source / "notes.txt").write_text("provided notes\n")
    (source / "data").mkdir()
    (source / "data" / "big.bin").write_bytes(b"0" * 10)
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "x.pyc").write_bytes(b"")
    (source / "hw4_submission.zip").write_bytes(b"PK")
    _fixture_notebook(source / "part1.ipynb")
    package = base / "package"
    for rel in builder.ENGINE_FILES + ("checks/p1.py", "release.py", "gradescope.py", "checks/p1_hidden.py",
                                       "answers/hidden.npz", "bench_grader.py"):
        (package / rel).parent.mkdir(parents=True, exist_ok=True)
        (package / rel).write_text(f"# {rel}\n")
    # the answers the release filters: one public and one hidden check timed
    np.savez(package / "answers" / "public.npz", **{"t.public/x": np.zeros(1)})
    (package / "answers" / "timings.json").write_text(json.dumps({"seconds": {"t.public": 0.1, "t.hidden": 0.2}}))
    first = build_release(source, base / "first" / "hw4", package=package)
    second = build_release(source, base / "second" / "hw4", package=package)
    again = build_release(source, base / "first" / "hw4", package=package)  # over an existing release
    return {"base": base, "first": base / "first" / "hw4", "second": base / "second" / "hw4",
            "listing": (first, second, again)}


def test_fixture_release_has_exactly_the_expected_files(fixture_trees):
    first, second, again = fixture_trees["listing"]
    expected = sorted(["assignment.toml", "randomizer.py", "shapes/area.py", "notes.txt", "part1.ipynb",
                       "autograder/checks/p1.py", "autograder/answers/public.npz", "autograder/answers/timings.json"]
                      + [f"autograder/{rel}" for rel in builder.ENGINE_FILES])
    assert first == expected == second == again
    leftovers = [p.name for p in fixture_trees["first"].parent.iterdir()]
    assert leftovers == ["hw4"], "the staging folder must not be left behind"


def test_fixture_release_times_only_public_checks(fixture_trees):
    released = json.loads((fixture_trees["first"] / "autograder" / "answers" / "timings.json").read_text())
    assert released["seconds"] == {"t.public": 0.1}


def test_fixture_release_is_byte_identical_when_built_twice(fixture_trees):
    assert tree_differences(fixture_trees["first"], fixture_trees["second"]) == []


def test_fixture_notebook_goes_through_nbgrader(fixture_trees):
    nb = json.loads((fixture_trees["first"] / "part1.ipynb").read_text())
    text = json.dumps(nb)
    assert "instructor's answer" not in text and "hidden=True" not in text and "BEGIN" not in text
    cells = {c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"] if "nbgrader" in c["metadata"]}
    assert "YOUR ANSWER HERE" in "".join(cells["q_why"]["source"])
    assert cells["check_area"]["metadata"]["nbgrader"]["points"] == 3
    assert cells["check_area"]["metadata"]["editable"] is False  # locked by nbgrader
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
               for c in nb["cells"] if c["cell_type"] == "code")


def test_build_refuses_a_bad_fence_and_leaves_the_old_release(tmp_path, fixture_trees):
    source = tmp_path / "hw4"
    shutil.copytree(fixture_trees["first"].parent.parent / "source" / "hw4", source)
    (source / "shapes" / "area.py").write_text("def f():\n    ### BEGIN SOLUTION\n    return 1\n")
    dest = tmp_path / "out" / "hw4"
    shutil.copytree(fixture_trees["first"], dest)
    with pytest.raises(ReleaseError, match="never closed"):
        build_release(source, dest, package=fixture_trees["base"] / "package")
    assert tree_differences(dest, fixture_trees["first"]) == []


def test_every_autograder_file_is_classified_public_or_instructor_only():
    """A module the lead adds must be named in ENGINE_FILES or INSTRUCTOR_ONLY (check
    modules and answers are classified by the manifest)."""
    assert builder.unclassified_autograder_files() == []


def test_public_grader_files_hold_no_instructor_file():
    public, secret = builder.grader_files(current())
    assert secret and not set(public) & secret
    for rel in public:
        assert "hidden" not in rel and not rel.startswith(
            tuple(f"autograder/{name}" for name in ("release", "gradescope", "oracle", "book", "bench", "templates")))


# ---------------------------------------------------------------- the real release

def _needs_release():
    if not (RELEASE / "randomizer.py").is_file():
        pytest.fail("release/hw4 is missing: run `make release` and commit it")


def _release_files() -> list[Path]:
    return sorted(p for p in RELEASE.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts)


def test_committed_release_is_in_sync_with_source(tmp_path):
    _needs_release()
    done = subprocess.run([sys.executable, "-m", "autograder.release", "--check"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_release_contains_the_provided_and_student_files():
    _needs_release()
    for rel in STUDENT_MODULES + current().notebooks + (
            "randomizer.py", "part2_diffusion/unet.py", "part2_diffusion/push_task.py", "collect_submission.py",
            "autograder/notebook.py", "autograder/answers/public.npz"):
        assert (RELEASE / rel).is_file(), rel
    assert not list(RELEASE.rglob("*_hidden.py")) and not list(RELEASE.rglob("hidden.npz"))


FENCES = (("### BEGIN SOLUTION", "### END SOLUTION"), ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"))


def _fenced_lines(text: str) -> tuple[set[str], set[str]]:
    """(lines inside solution or hidden-test fences, lines outside them), stripped."""
    inside, outside, fenced = set(), set(), False
    for line in text.splitlines():
        stripped = line.strip()
        if any(stripped.startswith(begin) for begin, _ in FENCES):
            fenced = True
        elif any(stripped.startswith(end) for _, end in FENCES):
            fenced = False
        elif stripped:
            (inside if fenced else outside).add(stripped)
    return inside, outside


def _source_texts() -> dict[str, str]:
    """Every text of source/hw4 that can hold a fence: modules, and notebook cells."""
    texts = {}
    for path in sorted(SOURCE.rglob("*")):
        rel = path.relative_to(SOURCE).as_posix()
        if "__pycache__" in rel or ".ipynb_checkpoints" in rel or not path.is_file():
            continue
        if path.suffix == ".py":
            texts[rel] = path.read_text()
        elif path.suffix == ".ipynb":
            for number, cell in enumerate(nbformat.read(path, as_version=4).cells):
                texts[f"{rel}#cell{number}"] = cell.source
    return texts


def _secret_lines() -> dict[str, str]:
    """Lines that appear only inside solution or hidden-test fences of source/hw4."""
    inside, outside = {}, set()
    for where, text in _source_texts().items():
        fenced, rest = _fenced_lines(text)
        outside |= rest
        for line in fenced:
            inside.setdefault(line, where)
    # short control-flow lines ("if threshold:", "return x") are everybody's code
    trivial = re.compile(r"^[\W_]*$|^(if|elif|else|for|while|with|try|except|finally|return|pass|break|continue)\b.{0,20}$")
    return {line: where for line, where in inside.items()
            if line not in outside and len(line) >= 8 and not trivial.match(line)}


def test_no_solution_or_hidden_line_reaches_the_release():
    _needs_release()
    secrets = _secret_lines()
    assert secrets, "source/hw4 has no solution fences: is the source there?"
    leaks = []
    for path in _release_files():
        data = path.read_bytes()
        if path.suffix == ".npz":
            continue  # checked by key below
        text = data.decode("utf-8", "replace")
        lines = text.splitlines()
        if path.suffix == ".ipynb":
            lines = [l for c in nbformat.reads(text, as_version=4).cells for l in c.source.splitlines()]
        if path.relative_to(RELEASE).parts[0] != "autograder":  # the engine names the markers in code
            for word in builder.MARKER_WORDS:
                assert word not in text, f"{path.relative_to(RELEASE)} holds the marker {word!r}"
        for line in lines:
            if line.strip() in secrets:
                leaks.append(f"{path.relative_to(RELEASE)}: {line.strip()!r} (from {secrets[line.strip()]})")
    assert not leaks, "solution lines in the release:\n" + "\n".join(leaks)


def _hidden_check_ids() -> set[str]:
    from autograder.checks import all_checks

    return {c.id for c in all_checks(include_hidden=True) if c.hidden}


def test_no_hidden_check_or_hidden_answer_reaches_the_release():
    _needs_release()
    hidden = _hidden_check_ids()
    with np.load(RELEASE / "autograder" / "answers" / "public.npz") as public:
        ids = {name.partition("/")[0] for name in public.files}
    assert ids and not ids & hidden
    for path in _release_files():
        if path.suffix == ".npz":
            continue
        text = path.read_text(errors="replace")
        found = sorted(h for h in hidden if h in text)
        assert not found, f"{path.relative_to(RELEASE)} names hidden checks {found}"


def test_no_notebook_under_source_or_release_has_outputs():
    notebooks = sorted(SOURCE.glob("*.ipynb")) + sorted(RELEASE.glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, \
                    f"{path.relative_to(ROOT)}: cell {cell.get('id')} has outputs; clear them before committing"


def test_release_written_answers_are_blank_and_check_cells_locked():
    _needs_release()
    for name in current().notebooks:
        nb = nbformat.read(RELEASE / name, as_version=4)
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded, name
        for cell in graded:
            meta = cell.metadata["nbgrader"]
            if meta.get("solution"):
                assert cell.cell_type == "markdown" and "YOUR ANSWER HERE" in cell.source, meta["grade_id"]
            else:
                assert meta["locked"] and cell.metadata.get("editable") is False, meta["grade_id"]
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.id == "setup" and first_code.metadata["nbgrader"]["grade_id"] == "setup"


# ------------------------------------------------------- every TODO raises clearly

@pytest.mark.parametrize("rel", STUDENT_MODULES)
def test_every_release_todo_raises_not_implemented_with_its_name(rel, tmp_path):
    """Call each TODO function or method of the released module with plausible
    arguments (the other modules being the reference ones, so only this module's
    stubs can raise) and expect NotImplementedError naming it."""
    _needs_release()
    released = (RELEASE / rel).read_text()
    assert len(STUB.findall(released)) == (SOURCE / rel).read_text().count("### BEGIN SOLUTION")
    hybrid = tmp_path / "hw4"
    shutil.copytree(RELEASE, hybrid, ignore=shutil.ignore_patterns("__pycache__", "autograder", "*.ipynb"))
    for other in STUDENT_MODULES:
        if other != rel:
            shutil.copyfile(SOURCE / other, hybrid / other)
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("release_probe.py")),
                           str(hybrid), rel, str(SOURCE / rel)],
                          cwd=hybrid, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
                               "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["called"], f"{rel} has no TODO stubs"
    assert not report["problems"], "\n".join(report["problems"])


def test_release_autograder_works_alone(tmp_path):
    """The public package, copied out of the repository, imports and lists only public checks."""
    _needs_release()
    hw4 = tmp_path / "hw4"
    shutil.copytree(RELEASE, hw4, ignore=shutil.ignore_patterns("__pycache__"))
    code = textwrap.dedent("""
        import sys
        from autograder.notebook import check
        from autograder.checks import all_checks
        from autograder import engine
        checks = all_checks(include_hidden=True)
        assert checks and not any(c.hidden for c in checks), [c.id for c in checks if c.hidden]
        assert engine.provided_root().resolve() == engine.REPO_ROOT.resolve()
        print(len(checks))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=hw4, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stdout + done.stderr


def test_release_sets_up_and_explains_itself():
    """Students set up from the release alone: requirements, conda environment and a
    README whose points table is the checks' own."""
    _needs_release()
    from autograder.checks import all_checks

    for name in builder.SETUP_FILES:
        assert (RELEASE / name).read_bytes() == (ROOT / name).read_bytes(), name
    readme = (RELEASE / "README.md").read_text()
    assert builder.POINTS_MARKER not in readme
    for word in ("Colab", "conda env create -f environment.yml", "pip install -r requirements.txt",
                 'check("', "python -m autograder grade . --public-only", "collect_submission.py",
                 "hw4_submission.zip"):
        assert word in readme, word
    checks = all_checks(include_hidden=True)
    for function in {c.function for c in checks}:
        points = sum(c.points for c in checks if c.function == function)
        assert re.search(rf"\| `{re.escape(function)}` \| \d+ \| {points:g} \|", readme), function
    assert f"**{sum(c.points for c in checks):g}**" in readme


def test_release_public_checks_run_from_the_release_folder(tmp_path):
    """`python -m autograder grade . --public-only`, as the release README says."""
    _needs_release()
    hw4 = tmp_path / "hw4"
    shutil.copytree(RELEASE, hw4, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", ".", "--public-only", "--quiet"],
                          cwd=hw4, capture_output=True, text=True, timeout=600,
                          env={"PATH": os.environ["PATH"], "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"total\s+0/\d+", done.stdout), done.stdout
