"""nbgrader configuration. The course root is this repository; every assignment is a
folder source/<name>/ with an assignment.toml (autograder/manifest.py), e.g. hw4:

    source/hw4/                  instructor notebooks and modules (with solutions)
    release/hw4/                 student version (`make release`)
    submitted/<student>/hw4/     what a student handed in (zip contents)
    autograded/<student>/hw4/    written by `nbgrader autograde hw4`

Workflow for instructors who grade with nbgrader (run from this folder):

    nbgrader generate_assignment hw4 --force   # records cells and points in gradebook.db
    nbgrader autograde hw4                     # runs every submitted/<student>/hw4
    nbgrader formgrade / nbgrader export       # manual answers, then the grades

Set HW4_DATA_DIR to a folder holding the SVHN and CIFAR-10 files before autograding,
so the notebooks do not download the data once per student. Training cells skip
themselves under autograde (NBGRADER_EXECUTION); each check cell scores its
function with the same engine and checks as Gradescope (partial credit).

`nbgrader generate_assignment` copies `.py` files verbatim, which would put the
module solutions into release/hw4; the post-convert hook below therefore rebuilds
release/hw4 exactly as `make release` does (stripped modules, public autograder).
"""
import glob
import os
import sys

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

ROOT = os.path.dirname(os.path.abspath(__file__))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from autograder.manifest import MANIFEST, load  # noqa: E402

# Every assignment of the course, by name, from its manifest.
ASSIGNMENTS = {a.name: a for a in (load(p) for p in sorted(glob.glob(os.path.join(ROOT, "source", "*", MANIFEST))))}

c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "hw4"
# Not copied from a submission (nor from source/): a submitted `autograder/` copy must
# never replace the instructor's (the notebooks import it), data and zips are large.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*",
                            "autograder", "data", "*.zip", "*.pt", "*.pth"]
# Autograde first copies source/<name> over the submission; the students' modules are
# what is graded, so they must not be replaced by the reference solution.
c.Autograde.exclude_overwriting = {name: list(a.student_modules) for name, a in ASSIGNMENTS.items()}
# A notebook runs every check in sandboxed child processes: give it time on a slow CPU.
c.Execute.timeout = 600


def _release_like_make_release(assignment=None, student=None, notebooks=None):
    """After `nbgrader generate_assignment <name>`, rebuild release/<name> with the
    stripped modules (nbgrader's own copy would contain the solutions)."""
    if assignment not in ASSIGNMENTS:
        return
    import shutil

    from autograder.release import build_release

    dest = os.path.join(ROOT, "release", assignment)
    try:
        build_release(os.path.join(ROOT, "source", assignment), dest)
    except Exception:
        shutil.rmtree(dest, ignore_errors=True)  # never leave nbgrader's unstripped copy
        raise


c.GenerateAssignment.post_convert_hook = _release_like_make_release
