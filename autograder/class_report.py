"""What a whole class got wrong: ``grades.csv``, ``report.md`` and ``report.html``.

Written by ``grade-all`` and ``merge`` from the per-submission results. Every
output is a pure function of those results (no dates, no run times), so a rerun
and a merge of shards give byte-identical files.

A check *fails* for a submission when it scored below the check's points (the CSV
cell is below the column's maximum); submissions the grader could not finish have
empty check cells and are counted apart, never as failures.
"""
from __future__ import annotations

import csv
import html
import io
import json
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

MESSAGES_PER_CHECK = 3
# What differs from student to student for one same mistake: counts ("in 17 of 20
# places") and measured values (numbers with four or more significant digits, such as
# "min 7.248e-05"); constants such as shapes or "lr 0.001" are kept.
_COUNTS = re.compile(r"\b\d+ of \d+\b")
_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e[-+]?\d+)?(?![\w.])")


def _measured(match: re.Match) -> str:
    digits = match.group(0).lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return "..." if len(digits) >= 4 else match.group(0)


def normalise(message: str) -> str:
    """One mistake, one text: per-student counts and measured values left out."""
    return _NUMBER.sub(_measured, _COUNTS.sub("n of m", message))


@dataclass
class Record:
    """One graded submission: who, and Gradescope's per-check results."""

    key: str
    student: str
    sid: str
    score: float
    complete: bool
    tests: list[dict] = field(default_factory=list)

    @classmethod
    def load(cls, folder: Path) -> "Record":
        graded = json.loads((folder / "graded.json").read_text())
        results = json.loads((folder / "results.json").read_text())
        return cls(key=graded["key"], student=graded.get("student", ""), sid=graded.get("sid", ""),
                   score=float(results.get("score", 0.0)), complete=bool(graded.get("complete")),
                   tests=[t for t in results.get("tests", []) if "number" in t] if graded.get("complete") else [])


@dataclass
class CheckStats:
    id: str
    name: str
    points: float
    graded: int = 0
    failed: int = 0
    messages: Counter = field(default_factory=Counter)
    hints: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.failed / self.graded if self.graded else 0.0


def failure_messages(test: dict) -> tuple[list[str], list[str]]:
    """(messages, hints) of one failed check's output, each listed once.

    The output is the check's title, then ``input: ...``, then one line per problem
    (two spaces in; deeper lines are its numbers), hints as ``hint: ...``; an
    unimplemented function is a single line. Messages go through
    :func:`normalise`, so that one mistake is counted as one.
    """
    lines = str(test.get("output", "")).splitlines()
    if lines and lines[0] == test.get("name"):
        lines = lines[1:]
    messages, hints = [], []
    for line in lines:
        text = line.strip()
        if not text or line.startswith("   ") or text.startswith("input:"):
            continue
        if text.startswith("hint:"):
            hints.append(text[len("hint:"):].strip())
        else:
            messages.append(normalise(text))
    return list(dict.fromkeys(messages)), list(dict.fromkeys(hints))


def check_stats(records: Sequence[Record]) -> list[CheckStats]:
    """Per check, in the grader's order: how many submissions failed it and with what."""
    stats: dict[str, CheckStats] = {}
    for record in records:
        for test in record.tests:
            entry = stats.setdefault(test["number"], CheckStats(test["number"], test["name"], test["max_score"]))
            entry.graded += 1
            if test["score"] < test["max_score"]:
                entry.failed += 1
                messages, hints = failure_messages(test)
                entry.messages.update(messages)
                entry.hints.update(hints)
    return list(stats.values())


def _by_failure_rate(stats: Sequence[CheckStats]) -> list[CheckStats]:
    order = {s.id: i for i, s in enumerate(stats)}
    return sorted(stats, key=lambda s: (-s.rate, -s.failed, order[s.id]))


def _num(value: float) -> str:
    return f"{value:g}"


def grades_csv(records: Sequence[Record], stats: Sequence[CheckStats]) -> str:
    """student, sid, submission, score, max_score, then one column per check id."""
    max_score = sum(s.points for s in stats)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "sid", "submission", "score", "max_score", *(s.id for s in stats)])
    for record in records:
        scores = {t["number"]: t["score"] for t in record.tests}
        writer.writerow([record.student, record.sid, record.key, _num(record.score), _num(max_score),
                         *(_num(scores[s.id]) if s.id in scores else "" for s in stats)])
    return buffer.getvalue()


def histogram_svg(scores: Sequence[float], max_score: float) -> str:
    """The score histogram (matplotlib), as SVG text that is the same for the same scores."""
    import matplotlib
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 3.2))
    axes = figure.add_subplot()
    top = math.ceil(max(max_score, max(scores, default=0.0), 1.0))
    width = math.ceil(top / 20)   # at most 20 bars, each a whole number of points wide
    axes.hist(scores, bins=list(range(0, top + width, width)), color="#4C72B0", edgecolor="white")
    axes.set_xlabel(f"score (out of {_num(max_score)})")
    axes.set_ylabel("submissions")
    axes.yaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "hw4-class-report", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _summary(records: Sequence[Record], max_score: float) -> list[str]:
    graded = [r.score for r in records if r.complete]
    lines = [f"{len(records)} submissions, {len(graded)} graded"]
    missing = [r.key for r in records if not r.complete]
    if missing:
        lines.append(f"not graded (the grader could not finish; rerun grade-all): {', '.join(missing)}")
    if graded:
        lines.append(f"score out of {_num(max_score)}: mean {statistics.mean(graded):.2f}, "
                     f"median {_num(statistics.median(graded))}, lowest {_num(min(graded))}, "
                     f"highest {_num(max(graded))}; full marks: {sum(s >= max_score for s in graded)}")
    return lines


def report_markdown(records: Sequence[Record], stats: Sequence[CheckStats]) -> str:
    max_score = sum(s.points for s in stats)
    out = ["# Class report", ""]
    out += [f"- {line}" for line in _summary(records, max_score)]
    out += ["", "![Score histogram](histogram.svg)", "", "## Checks by failure rate", "",
            "| # | check | id | points | failed | failure rate |", "|---:|---|---|---:|---:|---:|"]
    ranked = _by_failure_rate(stats)
    for rank, s in enumerate(ranked, 1):
        out.append(f"| {rank} | {_md(s.name)} | `{s.id}` | {_num(s.points)} | {s.failed} of {s.graded} "
                   f"| {100 * s.rate:.0f}% |")
    out += ["", "## The mistakes, check by check", ""]
    failing = [s for s in ranked if s.failed]
    if not failing:
        out.append("No check failed.")
    for s in failing:
        out += [f"### {_md(s.name)} (`{s.id}`)", "", f"Failed by {s.failed} of {s.graded} "
                f"({100 * s.rate:.0f}%).", ""]
        for message, count in s.messages.most_common(MESSAGES_PER_CHECK):
            out.append(f"- {count} x {_md(message)}")
        for hint, count in s.hints.most_common():
            out.append(f"- hint shown to {count}: {_md(hint)}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def report_html(records: Sequence[Record], stats: Sequence[CheckStats], svg: str) -> str:
    max_score = sum(s.points for s in stats)
    e = html.escape
    ranked = _by_failure_rate(stats)
    rows = "\n".join(
        f"<tr><td>{rank}</td><td>{e(s.name)}</td><td><code>{e(s.id)}</code></td><td>{_num(s.points)}</td>"
        f"<td>{s.failed} of {s.graded}</td><td><span class=bar style=\"width:{100 * s.rate:.0f}px\"></span>"
        f" {100 * s.rate:.0f}%</td></tr>" for rank, s in enumerate(ranked, 1))
    sections = []
    for s in (s for s in ranked if s.failed):
        items = [f"<li><b>{count}</b> &times; {e(message)}</li>" for message, count in s.messages.most_common(MESSAGES_PER_CHECK)]
        items += [f"<li class=hint>hint shown to <b>{count}</b>: {e(hint)}</li>" for hint, count in s.hints.most_common()]
        sections.append(f"<h3>{e(s.name)} <code>{e(s.id)}</code></h3>\n<p>Failed by {s.failed} of {s.graded} "
                        f"({100 * s.rate:.0f}%).</p>\n<ul>\n" + "\n".join(items) + "\n</ul>")
    figure = svg[svg.index("<svg"):] if "<svg" in svg else ""
    summary = "\n".join(f"<li>{e(line)}</li>" for line in _summary(records, max_score))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class report</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .2rem .6rem; border-bottom: 1px solid #ddd; text-align: left; }}
.bar {{ display: inline-block; height: .7rem; background: #C44E52; }} .hint {{ color: #555; }}
</style></head><body>
<h1>Class report</h1>
<ul>
{summary}
</ul>
<figure>{figure}</figure>
<h2>Checks by failure rate</h2>
<table><tr><th>#</th><th>check</th><th>id</th><th>points</th><th>failed</th><th>failure rate</th></tr>
{rows}
</table>
<h2>The mistakes, check by check</h2>
{chr(10).join(sections) or "<p>No check failed.</p>"}
</body></html>
"""


def write_outputs(out: Path, records: Sequence[Record], fingerprint: str, options: dict) -> None:
    """index.json, grades.csv, histogram.svg, report.md and report.html in ``out``."""
    out = Path(out)
    records = sorted(records, key=lambda r: r.key)
    stats = check_stats(records)
    max_score = sum(s.points for s in stats)
    svg = histogram_svg([r.score for r in records if r.complete], max_score)
    index = {"format": 1, "grader_sha256": fingerprint, "options": options,
             "submissions": [r.key for r in records]}
    files = {"index.json": json.dumps(index, indent=1, sort_keys=True) + "\n",
             "grades.csv": grades_csv(records, stats), "histogram.svg": svg,
             "report.md": report_markdown(records, stats), "report.html": report_html(records, stats, svg)}
    for name, text in files.items():
        tmp = out / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out / name)
