"""The grading report: Gradescope's results.json and a readable table."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

# Gradescope's results.json, the fields this grader writes.
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "execution_time", "tests"],
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "visibility": {"enum": ["visible", "hidden", "after_due_date", "after_published"]},
        "stdout_visibility": {"enum": ["visible", "hidden", "after_due_date", "after_published"]},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "score", "max_score", "status", "output", "visibility"],
                "properties": {
                    "name": {"type": "string"},
                    "score": {"type": "number", "minimum": 0},
                    "max_score": {"type": "number", "minimum": 0},
                    "status": {"enum": ["passed", "failed"]},
                    "output": {"type": "string"},
                    "visibility": {"enum": ["visible", "hidden", "after_due_date", "after_published"]},
                    "number": {"type": "string"},
                },
            },
        },
    },
}


@dataclass
class Report:
    tests: list[dict] = field(default_factory=list)
    execution_time: float = 0.0
    output: str = ""
    peak_child_mb: float = 0.0   # largest resident memory of a grading child (anonymous)

    @property
    def score(self) -> float:
        return round(sum(t["score"] for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(t["max_score"] for t in self.tests), 6)

    def failed_ids(self) -> set[str]:
        return {t["id"] for t in self.tests if t["score"] < t["max_score"]}

    def passed_ids(self) -> set[str]:
        return {t["id"] for t in self.tests if t["score"] >= t["max_score"]}

    def by_id(self) -> dict[str, dict]:
        return {t["id"]: t for t in self.tests}

    def to_gradescope(self) -> dict:
        tests = [{key: t[key] for key in ("name", "score", "max_score", "status", "output", "visibility")}
                 | {"number": t["id"]} for t in self.tests]
        return {
            "score": self.score,
            "execution_time": round(self.execution_time, 2),
            "output": self.output,
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
        }

    def write_json(self, path: Path) -> None:
        write_results(Path(path), self.to_gradescope())

    def table(self, width: int = 100) -> str:
        lines = [f"{'check':<{width - 22}} {'points':>9}  result"]
        lines.append("-" * width)
        for t in self.tests:
            mark = "ok" if t["status"] == "passed" else "FAIL"
            shown = t["name"] if len(t["name"]) <= width - 24 else t["name"][: width - 27] + "..."
            hidden = " (hidden)" if t["visibility"] != "visible" else ""
            lines.append(f"{shown:<{width - 22}} {t['score']:>4g}/{t['max_score']:<4g}  {mark}{hidden}")
        lines.append("-" * width)
        lines.append(f"{'total':<{width - 22}} {self.score:>4g}/{self.max_score:<4g}")
        return "\n".join(lines)

    def details(self) -> str:
        """The failure messages grouped by student function: one heading per function
        with its failed checks below it; a function that is not implemented yet (or
        whose every check failed for one same reason) takes a single line."""
        groups: dict[str, list[dict]] = {}
        for t in self.tests:
            groups.setdefault(t.get("function") or t["name"], []).append(t)
        blocks = []
        for function, tests in groups.items():
            failed = [t for t in tests if t["status"] != "passed"]
            if not failed:
                continue
            lost = sum(t["max_score"] - t["score"] for t in failed)
            count = f"{len(failed)} of {len(tests)} check{'s' if len(tests) != 1 else ''} failed"
            if all(t["output"].startswith(f"{function}: not implemented yet") for t in failed):
                blocks.append(f"{function}: not implemented yet ({count}, {lost:g} points)")
                continue
            reasons = {_reason(t["output"]) for t in failed}
            if len(failed) > 1 and len(reasons) == 1 and "" not in reasons:
                # one cause (a crash in the function, say): say it once
                reason = reasons.pop().replace("\n", "\n    ")
                blocks.append(f"{function} ({count}, {lost:g} points lost), all for one reason:\n    {reason}")
                continue
            lines = [f"{function} ({count}, {lost:g} points lost)"]
            said: set[str] = set()
            for t in failed:
                title, _, body = t["output"].rstrip().partition("\n")
                shown = "".join("\n      " + p.replace("\n", "\n      ") for p in say_once(body, said))
                lines.append(f"  - {title}{shown}")
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)


def _paragraphs(body: str) -> list[str]:
    """A check's message split where a line starts at the message's own indentation
    (the input, each problem, each hint, the printed output), continuations kept."""
    lines = body.strip("\n").splitlines()
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    paragraphs: list[list[str]] = []
    for line in lines:
        if not paragraphs or len(line) - len(line.lstrip()) <= indent:
            paragraphs.append([])
        paragraphs[-1].append(line[indent:])
    return ["\n".join(p) for p in paragraphs]


def _kind(paragraph: str) -> str:
    if paragraph.startswith("hint:"):
        return "hint"
    if paragraph.startswith("your code printed"):
        return "printed output"
    return "message"


def say_once(body: str, said: set[str], failed: bool = True) -> list[str]:
    """The paragraphs of a check's message (without its title) that were not said yet
    for an earlier check (``said``, updated), and, for a failed check, one line naming
    what it repeats: several checks failing for one reason, or running one function
    that printed, then read as one explanation instead of copies."""
    fresh, repeated = [], []
    for paragraph in _paragraphs(body):
        if paragraph not in said:
            fresh.append(paragraph)
        elif not paragraph.startswith("input:"):
            repeated.append(_kind(paragraph))
        said.add(paragraph)
    if not failed:  # a passing check shows only what its code printed, if that is new
        return fresh if any(_kind(p) == "printed output" for p in fresh) else []
    if repeated:
        fresh.append(f"(same {' and '.join(dict.fromkeys(repeated))} as above)")
    return fresh


def _reason(output: str) -> str:
    """A failure message without its first line (the check's title) and the input line."""
    lines = output.splitlines()[1:]
    return "\n".join(line.strip() for line in lines if not line.strip().startswith("input:")).strip()


def validate(results: dict) -> None:
    import jsonschema

    jsonschema.validate(results, RESULTS_SCHEMA)


def write_results(path: Path, results: dict) -> None:
    """Validate and write atomically; the file is always complete or absent."""
    validate(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, path)


def failure_results(message: str) -> dict:
    """What to write when grading itself could not finish."""
    return {"score": 0.0, "execution_time": 0.0, "output": message, "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [{"name": "autograder", "score": 0.0, "max_score": 0.0, "status": "failed",
                       "output": message, "visibility": "visible"}]}
