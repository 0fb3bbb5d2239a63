"""The grading engine on a stand-in homework: attacks and bad input cost only
the affected points and never break the grader.

The stand-in (tests/engine_fixture) has five checks: ``scale`` 2 points,
``noise`` 3 + 1, ``double`` 2 + 1 hidden; 9 in all.
"""
from __future__ import annotations

import json
import os
import shutil
import textwrap
import zipfile
from pathlib import Path

import pytest

from autograder import results as results_mod
from autograder.engine import generate_answers, grade_folder
from autograder.sandbox import Limits

FIXTURE = Path(__file__).parent / "engine_fixture"
REFERENCE = FIXTURE / "reference"
P1 = "part1_gans/gan_pytorch.py"
P2 = "part2_diffusion/noise_scheduler.py"
GOOD_P1 = (REFERENCE / P1).read_text()
GOOD_P2 = (REFERENCE / P2).read_text()
FULL = 9.0
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs the grader to run as root")


def _fixture_environment(answers: Path) -> dict[str, str]:
    return {"HW4_EXTRA_CHECKS": "tests.engine_fixture.checks", "HW4_ANSWERS_DIR": str(answers),
            "HW4_PROVIDED": str(answers.parent / "reference")}


@pytest.fixture(scope="session")
def stored_answers(tmp_path_factory):
    """The stand-in reference (with the course's own randomizer) and its answers."""
    base = tmp_path_factory.mktemp("fixture")
    shutil.copytree(REFERENCE, base / "reference")
    shutil.copy(Path(__file__).resolve().parents[1] / "source" / "hw4" / "randomizer.py",
                base / "reference" / "randomizer.py")
    answers = base / "answers"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in _fixture_environment(answers).items():
            patch.setenv(key, value)
        generate_answers(source=base / "reference", only="fixture")
    return answers


@pytest.fixture
def fixture_answers(stored_answers, monkeypatch):
    """The stand-in homework's checks, answers and provided files, for one test."""
    for key, value in _fixture_environment(stored_answers).items():
        monkeypatch.setenv(key, value)
    return stored_answers


@pytest.fixture
def grade(fixture_answers, tmp_path):
    def run(p1: str | None = GOOD_P1, p2: str | None = GOOD_P2, limits=None, **kwargs):
        submission = tmp_path / "submission"
        for rel, text in ((P1, p1), (P2, p2)):
            if text is not None:
                (submission / rel).parent.mkdir(parents=True, exist_ok=True)
                (submission / rel).write_text(textwrap.dedent(text))
        submission.mkdir(exist_ok=True)
        return grade_folder(submission, only="fixture", limits=limits, **kwargs)
    return run


def scores(report) -> dict[str, float]:
    return {t["id"]: t["score"] for t in report.tests}


def outputs(report) -> dict[str, str]:
    return {t["id"]: t["output"] for t in report.tests}


P1_IDS = {"fixture.scale.values", "fixture.noise.values", "fixture.noise.range"}
P2_IDS = {"fixture.double.values", "fixture.double.hidden"}


def test_reference_gets_full_marks(grade):
    report = grade()
    assert report.score == FULL, report.details()
    assert report.failed_ids() == set()


def test_answers_are_byte_for_byte_reproducible(fixture_answers, tmp_path, monkeypatch):
    before = {p.name: p.read_bytes() for p in fixture_answers.glob("*.npz")}
    monkeypatch.setenv("HW4_ANSWERS_DIR", str(tmp_path))
    generate_answers(source=fixture_answers.parent / "reference", only="fixture")
    after = {p.name: p.read_bytes() for p in tmp_path.glob("*.npz")}
    assert before == after and set(before) == {"public.npz", "hidden.npz"}


def test_results_json_is_valid_gradescope_schema(grade, tmp_path):
    report = grade(p1=GOOD_P1.replace("2 * x - 1", "1 - 2 * x"))
    path = tmp_path / "results" / "results.json"
    report.write_json(path)
    data = json.loads(path.read_text())
    results_mod.validate(data)
    assert data["score"] == FULL - 2
    by_number = {t["number"]: t for t in data["tests"]}
    assert by_number["fixture.scale.values"]["status"] == "failed"
    assert by_number["fixture.double.hidden"]["visibility"] == "after_published"
    assert "sign flipped" in by_number["fixture.scale.values"]["output"]
    assert "expected -1, got 1" in by_number["fixture.scale.values"]["output"]


def test_not_implemented_is_one_clear_line(grade):
    stub = """
    import randomizer
    def scale(x):
        raise NotImplementedError("scale: not implemented yet")
    def noise(n, device=None):
        raise NotImplementedError
    """
    report = grade(p1=stub)
    out = outputs(report)
    assert report.failed_ids() == P1_IDS
    for cid in P1_IDS:
        assert "not implemented yet" in out[cid]
        assert "Traceback" not in out[cid] and "\n" not in out[cid].strip()


# ---------------------------------------------------------------- bad input

def test_empty_submission(grade):
    report = grade(p1=None, p2=None)
    assert report.score == 0 and report.max_score == FULL
    assert "missing from the submission" in report.output
    assert all("missing from the submission" in o for o in outputs(report).values())


def test_missing_submission_path(fixture_answers, tmp_path):
    report = grade_folder(tmp_path / "nope", only="fixture")
    assert report.score == 0 and "submission not found" in report.output


@pytest.mark.parametrize("broken, words", [
    ("def scale(x)\n    return x\n", "SyntaxError"),
    ("import no_such_module_anywhere\n", "No module named 'no_such_module_anywhere'"),
    ("raise RuntimeError('boom at import')\n", "boom at import"),
])
def test_module_that_does_not_import_costs_only_its_checks(grade, broken, words):
    report = grade(p1=broken)
    assert report.failed_ids() == P1_IDS
    assert report.score == FULL - 6
    assert all(words in outputs(report)[cid] for cid in P1_IDS)


@pytest.mark.parametrize("body, words", [
    ("return (2 * x - 1).reshape(4, 3)", "expected shape (3, 4), got (4, 3)"),
    ("return (2 * x - 1).double()", "expected dtype torch.float32, got torch.float64"),
    ("return (2 * x - 1) / 0 * 0", "NaN or infinite"),
    ("return None", "expected a tensor or a number, got NoneType"),
    ("return (2 * x - 1).tolist()", "expected a torch.Tensor"),
    ("raise ValueError('bad scale')", "ValueError: bad scale"),
])
def test_wrong_output_costs_only_that_check(grade, body, words):
    report = grade(p1=GOOD_P1.replace("return 2 * x - 1", body))
    assert report.failed_ids() == {"fixture.scale.values"}
    assert words in outputs(report)["fixture.scale.values"]


def test_exception_message_shows_student_frames_only(grade):
    report = grade(p1=GOOD_P1.replace("return 2 * x - 1", "return helper(x)") + "\ndef helper(x):\n    return x[99]\n")
    text = outputs(report)["fixture.scale.values"]
    assert "IndexError" in text and 'File "part1_gans/gan_pytorch.py"' in text and "in helper" in text
    assert "runner.py" not in text and "autograder" not in text.split("input:")[1]


def _zip(tmp_path: Path, prefix: str) -> Path:
    path = tmp_path / f"sub{len(prefix)}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(prefix + P1, GOOD_P1)
        archive.writestr(prefix + P2, GOOD_P2)
        archive.writestr(prefix + "randomizer.py", "raise SystemExit('a replaced provided file is ignored')")
    return path


@pytest.mark.parametrize("prefix, full", [("", True), ("hw4/", True), ("a/b/", False)])
def test_zip_nesting(fixture_answers, tmp_path, prefix, full):
    report = grade_folder(_zip(tmp_path, prefix), only="fixture")
    if full:
        assert report.score == FULL, report.details()
    else:
        assert report.score == 0 and "nested too deeply" in report.output


def test_zip_slip_and_links_are_refused(fixture_answers, tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../" + P1, GOOD_P1)
        link = zipfile.ZipInfo(P2)
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "/etc/passwd")
    report = grade_folder(path, only="fixture")
    assert report.score == 0
    assert "unsafe path" in report.output and "links are not accepted" in report.output


# ---------------------------------------------------------------- attacks

def test_exit_at_import_costs_only_that_module(grade):
    for attack in ("import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n",
                   "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"):
        report = grade(p1=attack + GOOD_P1)
        assert report.failed_ids() == P1_IDS, attack
        assert report.score == FULL - 6
        assert "could not be imported" in outputs(report)["fixture.scale.values"]


def test_exit_inside_one_function_costs_only_that_check(grade):
    report = grade(p1=GOOD_P1.replace("return 2 * x - 1", "import os; os._exit(0)"))
    assert report.failed_ids() == {"fixture.scale.values"}
    assert "exited with code 0" in outputs(report)["fixture.scale.values"]


def test_infinite_loop_times_out(grade):
    report = grade(p1=GOOD_P1.replace("return 2 * x - 1", "while True:\n        pass"),
                   limits=Limits(time_scale=0.05))
    assert report.failed_ids() == {"fixture.scale.values"}
    assert "took longer than" in outputs(report)["fixture.scale.values"]


def test_monkeypatching_comparisons_gains_nothing(grade):
    attack = """
    import numpy, torch
    numpy.allclose = lambda *a, **k: True
    numpy.array_equal = lambda *a, **k: True
    torch.allclose = lambda *a, **k: True
    torch.Tensor.__sub__ = lambda self, other: torch.zeros_like(self)
    torch.Tensor.__eq__ = lambda self, other: True
    import autograder.compare, autograder.checks.api
    autograder.compare.judge = lambda *a, **k: None
    autograder.checks.api.Close.__init__ = lambda self, *a, **k: None
    def scale(x):
        return torch.zeros_like(x)
    def noise(n, device=None):
        return torch.zeros(n, 3)
    """
    report = grade(p1=attack)
    assert report.failed_ids() == {"fixture.scale.values", "fixture.noise.values"}


def test_lying_objects_and_subclasses_gain_nothing(grade):
    attack = """
    import torch
    class Liar(torch.Tensor):
        def __eq__(self, other): return True
        def __array__(self, *a, **k):
            import numpy; return numpy.zeros(0)
        def numpy(self): raise RuntimeError("no")
    class Anything:
        def __eq__(self, other): return True
        def __array__(self, *a, **k): raise RuntimeError("no")
    def scale(x):
        return torch.zeros_like(x).as_subclass(Liar)
    def noise(n, device=None):
        return Anything()
    """
    report = grade(p1=attack)
    assert report.failed_ids() == P1_IDS
    assert "got Anything" in outputs(report)["fixture.noise.values"]


def test_huge_output_is_refused(grade):
    report = grade(p1=GOOD_P1.replace("return 2 * x - 1", "import torch; return torch.zeros(9_000_000)"))
    assert report.failed_ids() == {"fixture.scale.values"}
    assert "far more than expected" in outputs(report)["fixture.scale.values"]


def test_printing_fake_results_gains_nothing(grade, capfd):
    fake = json.dumps({"score": 100, "tests": []})
    attack = f"import sys\nprint({fake!r})\nprint({fake!r}, file=sys.stderr)\n"
    report = grade(p1=attack + GOOD_P1.replace("return 2 * x - 1", "return x"))
    assert report.failed_ids() == {"fixture.scale.values"}
    assert '"score": 100' not in capfd.readouterr().out


def test_forged_output_files_gain_nothing(grade):
    attack = """
    import sys, os, numpy
    from autograder import npzio
    out = sys.argv[sys.argv.index("--out") + 1]
    fd = int(sys.argv[sys.argv.index("--progress-fd") + 1])
    meta = npzio.json_array({"outputs": {"y": {"kind": "tensor", "dtype": "torch.float32", "on_device": True}}, "error": None})
    for cid in ("fixture.scale.values", "fixture.noise.values", "fixture.double.values"):
        npzio.save(os.path.join(out, cid + ".npz"), {"y": numpy.ones((3, 4), "float32"), "__meta__": meta})
        os.write(fd, f"done {cid}\\n".encode())
    """
    report = grade(p1=textwrap.dedent(attack) + GOOD_P1.replace("return 2 * x - 1", "return x"))
    assert "fixture.scale.values" in report.failed_ids()
    assert report.score <= FULL - 2


@ROOT_ONLY
def test_results_folder_and_answers_are_out_of_reach(grade, fixture_answers, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    os.chmod(results, 0o755)
    secret_answers = fixture_answers / "public.npz"
    reference = Path(__file__).resolve().parents[1] / "source" / "hw4" / "randomizer.py"
    attack = f"""
    import numpy
    def scale(x):
        open({str(results / 'results.json')!r}, "w").write('{{"score": 100, "tests": []}}')
        return x
    def noise(n, device=None):
        answers = numpy.load({str(secret_answers)!r})
        return answers["fixture.noise.values/z"]
    """
    report = grade(p1=attack)
    out = outputs(report)
    assert report.failed_ids() == P1_IDS
    assert "PermissionError" in out["fixture.scale.values"]
    assert "PermissionError" in out["fixture.noise.values"]
    assert not (results / "results.json").exists()
    if reference.exists():
        steal = f"def scale(x):\n    open({str(reference)!r}).read()\n    return 2 * x - 1\n"
        report = grade(p1=GOOD_P1.replace("def scale(x):\n    return 2 * x - 1", steal))
        assert "PermissionError" in outputs(report)["fixture.scale.values"]


@ROOT_ONLY
def test_fork_bomb_is_contained(grade):
    bomb = """
    import os
    def scale(x):
        while True:
            os.fork()
    """
    report = grade(p1=textwrap.dedent(bomb) + GOOD_P1.split("def scale")[0] + "def noise" + GOOD_P1.split("def noise")[1],
                   limits=Limits(time_scale=0.2))
    assert report.failed_ids() == {"fixture.scale.values"}, report.details()
    assert report.score == FULL - 2


def test_memory_bomb_is_contained(grade):
    bomb = GOOD_P1.replace("return 2 * x - 1", "blocks = [bytearray(64 * 2**20) for _ in range(400)]\n    return x")
    report = grade(p1=bomb, limits=Limits(memory_mb=512))
    assert report.failed_ids() == {"fixture.scale.values"}
    assert "MemoryError" in outputs(report)["fixture.scale.values"] or "memory" in outputs(report)["fixture.scale.values"]


def test_cli_always_writes_results(fixture_answers, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "r.json"
    env = dict(os.environ)
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "missing"), "--json", str(out),
                           "--only", "fixture"], cwd=Path(__file__).resolve().parents[1], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    results_mod.validate(data)
    assert data["score"] == 0 and "submission not found" in data["output"]
    assert "total" in done.stdout


def test_grading_process_never_imports_torch_or_student_code(fixture_answers, tmp_path):
    """The trusted parent stays small and never loads what a student could patch."""
    import subprocess
    import sys

    probe = ("import sys; from autograder.engine import grade_folder; "
             f"r = grade_folder({str(fixture_answers.parent / 'reference')!r}, only='fixture'); "
             "assert r.score == 9.0, r.details(); "
             "bad = [m for m in sys.modules if m == 'torch' or m.startswith('part1_gans') or m == 'randomizer']; "
             "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


@ROOT_ONLY
def test_debugging_prints_and_plots_cost_nothing(grade):
    """Printing a tensor and plt.show() import modules lazily; the child must have them
    although the interpreter's folders may be unreadable after the privilege drop
    (here the environment lives under /root, mode 0700)."""
    debug = GOOD_P1.replace("return 2 * x - 1", "print('x =', x, x.sum(), x[0])\n"
                            "    w = torch.zeros(1, requires_grad=True)\n"
                            "    (w * 2).sum().backward()\n"
                            "    torch.optim.Adam([w], lr=1e-3).step()  # imports hundreds of modules lazily\n"
                            "    return 2 * x - 1")
    debug = "import torch\n" + debug
    debug = "import matplotlib.pyplot as plt\nplt.plot([1, 2]); plt.show()\n" + debug
    report = grade(p1=debug)
    assert report.score == FULL, report.details()


def test_a_slow_import_does_not_extend_the_check_limit(grade):
    """Importing the student's module has its own limit; the check's clock pauses for it
    and then runs out at the check's own limit (not the import's)."""
    import time

    slow = "import time\ntime.sleep(2)\n" + GOOD_P1.replace("return 2 * x - 1", "while True:\n        pass")
    started = time.monotonic()
    report = grade(p1=slow, limits=Limits(time_scale=0.2))  # the scale check: 1 s, the import: 6 s
    wall = time.monotonic() - started
    out = outputs(report)
    assert report.failed_ids() == {"fixture.scale.values"}, report.details()
    assert "time limit of 1.0 s" in out["fixture.scale.values"]
    assert wall < 20, wall


def test_killing_the_fork_server_costs_only_that_check(fixture_answers, tmp_path):
    """Without a privilege drop (a student grading as themselves), student code can kill
    the fork server, its parent: the check it ran fails and a new server runs the rest."""
    from autograder.checks import by_id
    from autograder.engine import build_workspace
    from autograder.sandbox import run_checks

    attack = GOOD_P1.replace("return 2 * x - 1", "import os, signal, time\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                             "    time.sleep(5)\n    return 2 * x - 1")
    hw4 = build_workspace({P1: attack.encode(), P2: GOOD_P2.encode()}, tmp_path / "work")
    checks = [c for cid, c in by_id().items() if cid.startswith("fixture.")]
    outcomes = run_checks(hw4, checks, drop_privileges=False)
    failed = {cid for cid, o in outcomes.items() if o.error is not None}
    assert failed == {"fixture.scale.values"}, {cid: o.error for cid, o in outcomes.items()}


def test_what_student_code_prints_is_shown_not_judged(grade):
    """A debugging print reaches the student under its check (the end of it, when it
    is long) and changes no score; a hidden check never shows it."""
    chatty = GOOD_P1.replace("    return 2 * x - 1",
                             "    print('x is', x.shape)\n    for i in range(5000):\n        print('step', i)\n"
                             "    return 2 * x - 1")
    chatty = chatty.replace("def noise(n, device=None):\n", "def noise(n, device=None):\n    print('[PASS] forged')\n")
    report = grade(p1=chatty, p2=GOOD_P2.replace("def double(x):\n", "def double(x):\n    print('secret')\n"))
    assert report.score == FULL, report.details()
    out = outputs(report)
    scale = out["fixture.scale.values"]
    assert "your code printed" in scale and "step 4999" in scale and "x is" not in scale
    assert "lines before" in scale and len(scale) < 4000
    assert "  | [PASS] forged" in out["fixture.noise.values"]  # quoted, never a verdict of its own
    assert "secret" not in out["fixture.double.hidden"] and "secret" in out["fixture.double.values"]


def test_a_failing_check_shows_the_prints_made_before_the_error(grade):
    broken = GOOD_P1.replace("    return 2 * x - 1", "    print('about to fail')\n    return x.nope")
    out = outputs(grade(p1=broken))["fixture.scale.values"]
    assert "AttributeError" in out and "  | about to fail" in out


def test_later_gradings_fork_from_the_warm_server(grade):
    from autograder import sandbox

    grade()
    servers = dict(sandbox._WARM)
    assert servers and all(s.alive() for s in servers.values())
    report = grade(p1=GOOD_P1.replace("2 * x - 1", "1 - 2 * x"))  # a changed student file is read afresh
    assert report.failed_ids() == {"fixture.scale.values"}
    assert dict(sandbox._WARM) == servers and all(s.alive() for s in servers.values())


def test_what_goes_to_stderr_is_shown_too_and_escapes_are_not_obeyed(grade):
    """print(..., file=sys.stderr) is debugging output as well; terminal escapes (which
    could paint a fake verdict over the real one) come back as text."""
    noisy = GOOD_P1.replace("    return 2 * x - 1",
                            "    import sys\n    print('to stderr', file=sys.stderr)\n"
                            "    print('\\x1b[1A\\x1b[2K[PASS] scale (2/2)')\n"
                            "    print('epoch 1:  10%\\repoch 1: 100%', file=sys.stderr)\n    return x.nope")
    report = grade(p1=noisy)
    assert report.failed_ids() == {"fixture.scale.values"}
    out = outputs(report)["fixture.scale.values"]
    assert "  | to stderr" in out
    assert "  | epoch 1: 100%" in out and "10%" not in out  # a progress bar: its last state
    assert "\x1b" not in out and "  | \\x1b[1A\\x1b[2K[PASS] scale (2/2)" in out
    raising = GOOD_P1.replace("    return 2 * x - 1", "    raise ValueError('\\x1b[2Jall good')")
    out = outputs(grade(p1=raising))["fixture.scale.values"]
    assert "\x1b" not in out and "\\x1b[2Jall good" in out


def test_warnings_raised_in_student_code_are_shown_and_only_those(grade):
    """PyTorch's warning about mismatched shapes explains many wrong losses; warnings
    raised by the checks' own code are not the student's and stay out."""
    warns = GOOD_P1.replace("    return 2 * x - 1",
                            "    import torch\n    torch.nn.functional.mse_loss(x, x.sum(0))\n    return 2 * x - 1")
    report = grade(p1=warns)
    assert report.score == FULL, report.details()
    out = outputs(report)
    assert "part1_gans/gan_pytorch.py:" in out["fixture.scale.values"]
    assert "UserWarning: Using a target size (torch.Size([4]))" in out["fixture.scale.values"]
    assert all("your code printed" not in text for cid, text in out.items() if cid != "fixture.scale.values")
