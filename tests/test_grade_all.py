"""``python -m autograder grade-all`` and ``merge``: a whole class graded in parallel.

The fast tests cover finding submissions in the three layouts, nested zips, the
content hash, sharding, the sharing of cores and memory, the report's arithmetic
and bad input. The slow one grades a mixed class of nine real submissions once with
two jobs, once shard by shard with one job (each submission alone), and reuses
those outputs for every assertion.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from autograder import cli
from autograder.class_report import Record, failure_messages, normalise, write_outputs
from autograder.engine import grade_folder, select_checks
from autograder.grade_all import (InputError, Submission, content_hash, discover, grade_all, in_shard, merge,
                                  parse_shard, plan_jobs, unwrap)
from tests import catalogue_part1, catalogue_part2
from tests.mutants import ROOT, STUDENT_FILES, add_infinite_loops, build_submission

pytestmark = pytest.mark.xdist_group("grade_all")   # one worker grades the class once
RELEASE = ROOT / "release" / "hw4"
MUTANTS = {m.name: m for m in catalogue_part1.MUTANTS + catalogue_part2.MUTANTS}
METADATA = """\
submission_1001:
  :submitters:
  - :name: Erin Example
    :sid: '1001'
    :email: erin@example.edu
  :created_at: 2026-11-20 10:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.0
  :results: !ruby/hash:ActiveSupport::HashWithIndifferentAccess
    score: 0.0
submission_1002:
  :submitters:
  - :name: Finn Partner
    :sid: '1002'
  - :name: Gale Partner
    :email: gale@example.edu
"""


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


# ------------------------------------------------------------------ finding submissions

def test_folder_layout_takes_folders_and_zips_and_skips_the_rest(tmp_path):
    root = tmp_path / "class"
    build_submission(root / "alice smith")
    zip_folder(build_submission(tmp_path / "bob"), root / "bob.zip")
    (root / "notes.txt").write_text("not a submission")
    (root / "__MACOSX").mkdir()
    (root / ".hidden").mkdir()
    out = root / "graded"   # the output folder inside the class folder is not a student
    out.mkdir()
    found = discover([root], exclude=out)
    assert [(s.key, s.student, s.layout) for s in found] == [("alice_smith", "alice smith", "folder"),
                                                            ("bob", "bob", "zip")]


def test_gradescope_export_names_come_from_the_metadata(tmp_path):
    export = tmp_path / "download" / "assignment_42_export"
    for folder in ("submission_1001", "submission_1002"):
        build_submission(export / folder)
    (export / "submission_metadata.yml").write_text(METADATA)
    for root in (export, export.parent):   # the export itself, or the folder it was unzipped into
        found = discover([root])
        assert [(s.key, s.student, s.sid, s.layout) for s in found] == [
            ("submission_1001", "Erin Example", "1001", "gradescope"),
            ("submission_1002", "Finn Partner & Gale Partner", "1002;gale@example.edu", "gradescope")]


def test_nbgrader_course_takes_each_students_assignment_folder(tmp_path):
    course = tmp_path / "course"
    build_submission(course / "submitted" / "dora" / "hw4")
    (course / "submitted" / "dora" / "hw3").mkdir()   # another assignment of the same student
    for root in (course, course / "submitted"):
        (found,) = discover([root])
        assert (found.key, found.layout, found.path) == ("dora", "nbgrader", course / "submitted" / "dora" / "hw4")


def test_two_submissions_with_one_name_are_refused(tmp_path):
    build_submission(tmp_path / "a" / "sam")
    build_submission(tmp_path / "b" / "sam")
    with pytest.raises(InputError, match="share one name"):
        discover([tmp_path / "a", tmp_path / "b"])


def test_nested_zip_is_graded_from_its_inner_zip_with_the_same_hash(tmp_path):
    plain = build_submission(tmp_path / "plain")
    inner = zip_folder(plain, tmp_path / "hw4_submission.zip")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(inner, "upload/hw4_submission.zip")
    folder_with_zip = tmp_path / "folder"
    folder_with_zip.mkdir()
    shutil.copy(inner, folder_with_zip / "hw4_submission.zip")
    hashes = set()
    for path, layout in ((plain, "folder"), (outer, "zip"), (folder_with_zip, "folder")):
        graded, files, notes = unwrap(Submission("s", "s", "", path, layout), tmp_path / "scratch")
        assert sorted(files) == sorted(STUDENT_FILES)
        hashes.add(content_hash(files, notes))
    assert len(hashes) == 1


def test_content_hash_follows_the_graded_files_only(tmp_path):
    folder = build_submission(tmp_path / "s")
    sub = Submission("s", "s", "", folder, "folder")
    first = content_hash(*unwrap(sub, tmp_path)[1:])
    (folder / "scratch_notes.txt").write_text("not graded")
    assert content_hash(*unwrap(sub, tmp_path)[1:]) == first
    path = folder / "part1_gans" / "gan_pytorch.py"
    path.write_text(path.read_text() + "\n# changed\n")
    assert content_hash(*unwrap(sub, tmp_path)[1:]) != first


# ------------------------------------------------------------------ shards and resources

def test_shards_split_the_class_exactly_and_stay_put():
    keys = [f"student_{i}" for i in range(200)]
    for count in (1, 2, 3, 7):
        owners = [[i for i in range(count) if in_shard(k, (i, count))] for k in keys]
        assert all(len(o) == 1 for o in owners)
        assert all(in_shard(k, (o[0], count)) for k, o in zip(keys, owners))   # the same again
    assert all(in_shard(k, None) for k in keys)


@pytest.mark.parametrize("text", ["2/2", "-1/2", "1/0", "a/b", "1", ""])
def test_bad_shard_is_refused(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="I/N"):
        parse_shard(text)


def test_jobs_are_capped_by_memory_and_share_cores_fairly():
    assert plan_jobs(None, cores=[0, 1], free_mb=64000)[:2] == (2, 1.0)
    jobs, scale, notes = plan_jobs(8, cores=[0, 1], free_mb=64000)
    assert (jobs, scale) == (8, 4.0) and "multiplied by 4" in notes[0]
    jobs, scale, notes = plan_jobs(4, cores=[0, 1, 2, 3], free_mb=8000)
    assert (jobs, scale) == (2, 1.0) and "lowered to 2" in notes[0]
    with pytest.raises(InputError):
        plan_jobs(0, cores=[0])


# ------------------------------------------------------------------ the report

def _record(key: str, tests: list[tuple[str, float, float, str]], complete: bool = True) -> Record:
    return Record(key=key, student=key.title(), sid="", score=sum(t[1] for t in tests), complete=complete,
                  tests=[{"number": cid, "name": cid.upper(), "score": score, "max_score": top,
                          "status": "passed" if score >= top else "failed", "output": output}
                         for cid, score, top, output in tests])


def test_failure_messages_group_one_mistake_as_one():
    output = ("TITLE\n  input: f(3)\n  `x`: values differ from the expected ones in 17 of 20 places\n"
              "    largest miss at index (2,): expected 0.5, got 0.25\n  hint: did you forget the shift?")
    assert failure_messages({"name": "TITLE", "output": output}) == (
        ["`x`: values differ from the expected ones in n of m places"], ["did you forget the shift?"])
    assert normalise("no negative values (min 7.248e-05), lr 0.001") == "no negative values (min ...), lr 0.001"


def test_report_counts_and_ranks_checks_from_the_results(tmp_path):
    miss = "B\n  `y`: expected [1], got [2]\n  hint: off by one"
    records = [_record("ann", [("a", 1, 1, "A"), ("b", 0, 2, miss)]),
               _record("ben", [("a", 0, 1, "a: not implemented yet"), ("b", 0, 2, miss)]),
               _record("cat", [("a", 1, 1, "A"), ("b", 2, 2, "B")]),
               _record("dan", [], complete=False)]
    write_outputs(tmp_path, records, fingerprint="f", options={})
    rows = read_csv(tmp_path / "grades.csv")
    assert [r["submission"] for r in rows] == ["ann", "ben", "cat", "dan"]
    assert [(r["a"], r["b"], r["max_score"]) for r in rows] == [("1", "0", "3"), ("0", "0", "3"),
                                                                ("1", "2", "3"), ("", "", "3")]
    report = (tmp_path / "report.md").read_text()
    table = re.findall(r"^\| (\d+) \| .* \| `(\w+)` \| .* \| (\d+) of (\d+) \|", report, flags=re.M)
    assert table == [("1", "b", "2", "3"), ("2", "a", "1", "3")]
    assert "- 2 x `y`: expected [1], got [2]" in report and "- hint shown to 2: off by one" in report
    assert "not graded (the grader could not finish; rerun grade-all): dan" in report
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html and "2 of 3" in html and "off by one" in html
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    write_outputs(tmp_path, list(reversed(records)), fingerprint="f", options={})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before   # a pure function of the results


# ------------------------------------------------------------------ bad input

def test_missing_folder_is_a_clear_message_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["grade-all", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    assert "nowhere: no such folder" in capsys.readouterr().err
    assert not out.exists()


def test_a_zip_is_not_a_class_folder(tmp_path, capsys):
    archive = zip_folder(build_submission(tmp_path / "s"), tmp_path / "s.zip")
    assert cli.main(["grade-all", str(archive), "--out", str(tmp_path / "out")]) == 2
    assert "unzip it first" in capsys.readouterr().err


def test_merge_refuses_folders_that_are_not_grade_all_outputs(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no index.json"):
        merge([tmp_path / "empty"], tmp_path / "merged")


# ------------------------------------------------------------------ a whole class, end to end

LOOPING = "ImageGenerator.load_dataset"


def expected_failures(all_ids: set[str]) -> dict[str, set[str]]:
    """Each submission of the class below and the checks it must fail (the catalogue's
    contract, which tests/test_catalogue.py proves by grading each mistake alone)."""
    looping = {c.id for c in select_checks() if c.function == LOOPING}
    return {"reference": set(), "untouched": all_ids, "noise_unshifted": set(MUTANTS["noise_unshifted"].loses),
            "generator_sigmoid": set(MUTANTS["generator_sigmoid"].loses),
            "add_noise_missing_sqrt": set(MUTANTS["add_noise_missing_sqrt"].loses), "looping": looping,
            "nested": set(MUTANTS["cumprod_of_betas"].loses),
            "submission_1001": set(MUTANTS["lerp_guidance"].loses),
            "dora": set(MUTANTS["labels_not_shifted"].loses)}


def make_class(base: Path) -> list[Path]:
    """Nine submissions in three roots: a class folder (folders, zips, a zipped zip, the
    untouched release, one that loops), a Gradescope export and an nbgrader course."""
    folder = base / "class"
    build_submission(folder / "reference")
    zip_folder(RELEASE, folder / "untouched.zip", prefix="hw4/")
    build_submission(folder / "noise_unshifted", MUTANTS["noise_unshifted"].edits)
    build_submission(folder / "generator_sigmoid", MUTANTS["generator_sigmoid"].edits)
    zip_folder(build_submission(base / "tmp" / "sqrt", MUTANTS["add_noise_missing_sqrt"].edits),
               folder / "add_noise_missing_sqrt.zip")
    add_infinite_loops(build_submission(folder / "looping"), {LOOPING})
    inner = zip_folder(build_submission(base / "tmp" / "cumprod", MUTANTS["cumprod_of_betas"].edits),
                       base / "tmp" / "hw4_submission.zip")
    with zipfile.ZipFile(folder / "nested.zip", "w") as archive:
        archive.write(inner, "hw4_submission.zip")
    export = base / "export"
    build_submission(export / "submission_1001", MUTANTS["lerp_guidance"].edits)
    (export / "submission_metadata.yml").write_text(METADATA.split("submission_1002")[0])
    build_submission(base / "course" / "submitted" / "dora" / "hw4", MUTANTS["labels_not_shifted"].edits)
    return [folder, export, base / "course"]


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def per_check(folder: Path, key: str) -> dict[str, float]:
    results = json.loads((folder / "submissions" / key / "results.json").read_text())
    return {t["number"]: t["score"] for t in results["tests"]}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    roots = make_class(base)
    parallel = base / "parallel"
    argv = ["grade-all", *map(str, roots), "--out", str(parallel), "--jobs", "2", "--quiet"]
    assert cli.main(argv) == 0
    first = snapshot(parallel)
    rerun = grade_all(roots, parallel, jobs=2, progress=False)
    # One at a time, shard by shard: each submission graded alone.
    shards = [base / "shard0", base / "shard1"]
    for index, shard in enumerate(shards):
        grade_all(roots, shard, jobs=1, shard=(index, 2), progress=False)
    merged = base / "merged"
    assert cli.main(["merge", *map(str, shards), "--out", str(merged)]) == 0
    return {"roots": roots, "parallel": parallel, "first": first, "rerun": rerun, "shards": shards,
            "merged": merged}


@pytest.mark.slow
def test_parallel_grades_are_the_catalogues_and_the_lone_grades(graded_class):
    parallel, merged = graded_class["parallel"], graded_class["merged"]
    all_ids = {c.id for c in select_checks()}
    expected = expected_failures(all_ids)
    rows = {r["submission"]: r for r in read_csv(parallel / "grades.csv")}
    assert sorted(rows) == sorted(expected)
    for key, failing in expected.items():
        scores = per_check(parallel, key)
        assert set(scores) == all_ids
        points = {c.id: c.points for c in select_checks()}
        assert {cid for cid, score in scores.items() if score < points[cid]} == failing, key
        assert scores == per_check(merged, key), key      # graded alone (one job, one at a time)
        assert float(rows[key]["score"]) == pytest.approx(sum(scores.values()))
    assert rows["submission_1001"]["student"] == "Erin Example" and rows["submission_1001"]["sid"] == "1001"
    # the engine called directly, as `python -m autograder grade` does, agrees to the last check
    alone = grade_folder(graded_class["roots"][1] / "submission_1001", budget_s=420)
    assert {t["id"]: t["score"] for t in alone.tests} == per_check(parallel, "submission_1001")


@pytest.mark.slow
def test_two_shards_merged_equal_one_run(graded_class):
    parallel, merged, shards = graded_class["parallel"], graded_class["merged"], graded_class["shards"]
    keys = [json.loads((s / "index.json").read_text())["submissions"] for s in shards]
    assert keys[0] and keys[1] and not set(keys[0]) & set(keys[1])
    for name in ("grades.csv", "report.md", "report.html", "histogram.svg", "index.json"):
        assert (merged / name).read_bytes() == (parallel / name).read_bytes(), name


@pytest.mark.slow
def test_rerun_grades_nothing_and_changes_nothing(graded_class):
    rerun = graded_class["rerun"]
    assert (rerun.total, rerun.graded, rerun.reused, rerun.errors) == (9, 0, 9, [])
    assert snapshot(graded_class["parallel"]) == graded_class["first"]


@pytest.mark.slow
def test_report_failure_counts_match_the_csv(graded_class):
    parallel = graded_class["parallel"]
    points = {c.id: c.points for c in select_checks()}
    rows = read_csv(parallel / "grades.csv")
    from_csv = {cid: sum(float(r[cid]) < top for r in rows) for cid, top in points.items()}
    report = (parallel / "report.md").read_text()
    from_report = {cid: int(failed) for cid, failed, graded in
                   re.findall(r"\| `([\w.]+)` \| [\d.]+ \| (\d+) of (\d+) \|", report)}
    assert from_report == from_csv
    expected = expected_failures(set(points))
    assert from_csv == {cid: sum(cid in failing for failing in expected.values()) for cid in points}
    html = (parallel / "report.html").read_text()
    for cid, failed in from_csv.items():
        assert f"<code>{cid}</code></td><td>{points[cid]:g}</td><td>{failed} of {len(rows)}</td>" in html
    # the loop is named as what it is
    assert "took longer than its time limit" in report


# ------------------------------------------------------------------ the README's cluster recipes

README = ROOT / "README.md"


def readme_block(language: str, marker: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)
    (found,) = [b for b in blocks if marker in b]
    return found


def test_readme_slurm_array_script_and_merge_run(tmp_path):
    import os
    import subprocess
    import sys

    script = readme_block("bash", "#SBATCH --array").replace(".venv/bin/python", sys.executable)
    tasks = int(re.search(r"--array=0-(\d+)", script)[1]) + 1
    (tmp_path / "submissions").mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), SLURM_SUBMIT_DIR=str(tmp_path),
               SLURM_ARRAY_TASK_COUNT=str(tasks), SLURM_CPUS_PER_TASK="1")
    for task in range(tasks):
        subprocess.run(["bash", "-c", script], env=env | {"SLURM_ARRAY_TASK_ID": str(task)}, check=True,
                       capture_output=True)
    merge_line = re.search(r"^\S*python -m autograder merge .*$", readme_block("bash", "autograder merge"), re.M)[0]
    subprocess.run(["bash", "-c", merge_line.replace(".venv/bin/python", sys.executable)], cwd=tmp_path, env=env,
                   check=True, capture_output=True)
    assert sorted(p.name for p in (tmp_path / "grading").iterdir()) == ["all"] + [f"shard-{i}" for i in range(tasks)]
    assert (tmp_path / "grading" / "all" / "grades.csv").read_text().startswith("student,sid,submission,score")


def test_readme_kubernetes_indexed_job_runs_its_shard(tmp_path):
    import os
    import subprocess
    import sys

    import yaml

    job = yaml.safe_load(readme_block("yaml", "Indexed"))
    assert (job["apiVersion"], job["kind"], job["spec"]["completionMode"]) == ("batch/v1", "Job", "Indexed")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    command = container["args"][0]
    assert f"/{job['spec']['completions']} " in command.split("--shard", 1)[1]   # as many shards as pods
    assert container["volumeMounts"][0]["mountPath"] == "/data"
    (tmp_path / "submissions").mkdir()
    command = command.replace(".venv/bin/python", sys.executable).replace("/data", str(tmp_path))
    last = job["spec"]["completions"] - 1
    subprocess.run([*container["command"], command], env=dict(os.environ, PYTHONPATH=str(ROOT),
                   JOB_COMPLETION_INDEX=str(last)), check=True, capture_output=True, cwd=tmp_path)
    index = json.loads((tmp_path / "grading" / f"shard-{last}" / "index.json").read_text())
    assert index["submissions"] == []


# ------------------------------------------------------------------ reruns, on the stand-in homework

FIXTURE = Path(__file__).parent / "engine_fixture"


@pytest.mark.slow
def test_rerun_grades_what_changed_and_force_grades_all(tmp_path, monkeypatch):
    from autograder.engine import generate_answers
    from autograder.grade_all import Options

    reference = tmp_path / "reference"
    shutil.copytree(FIXTURE / "reference", reference)
    shutil.copy(ROOT / "source" / "hw4" / "randomizer.py", reference / "randomizer.py")
    monkeypatch.setenv("HW4_EXTRA_CHECKS", "tests.engine_fixture.checks")
    monkeypatch.setenv("HW4_ANSWERS_DIR", str(tmp_path / "answers"))
    monkeypatch.setenv("HW4_PROVIDED", str(reference))
    generate_answers(source=reference, only="fixture")
    options = Options(only="fixture")
    root = tmp_path / "class"
    for student in ("ann", "ben"):
        shutil.copytree(reference / "part1_gans", root / student / "part1_gans")
        shutil.copytree(reference / "part2_diffusion", root / student / "part2_diffusion")
    (root / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    out = tmp_path / "out"
    first = grade_all([root], out, jobs=2, options=options, progress=False)
    assert (first.graded, first.reused, first.errors) == (3, 0, [])
    scores = {r["submission"]: r["score"] for r in read_csv(out / "grades.csv")}
    assert scores["ann"] == scores["ben"] != "0" and scores["broken"] == "0"
    module = root / "ben" / "part2_diffusion" / "noise_scheduler.py"
    module.write_text(module.read_text().replace("def double(", "def double_renamed("))
    second = grade_all([root], out, jobs=2, options=options, progress=False)
    assert (second.graded, second.reused) == (1, 2)
    rows = {r["submission"]: r for r in read_csv(out / "grades.csv")}
    assert float(rows["ben"]["score"]) < float(rows["ann"]["score"])
    assert (grade_all([root], out, jobs=2, options=options, force=True, progress=False).graded) == 3
