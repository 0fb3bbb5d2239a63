"""Judge one check's outputs against the stored answers (trusted parent only).

Everything here works on plain numpy arrays that came back from the child and
from the answer files; no student object ever reaches this module.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks.api import Check, Close, Exact, View


@dataclass
class Verdict:
    score: float
    max_score: float
    passed: bool
    output: str


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return str(value)


def _preview(array: np.ndarray, limit: int = 6) -> str:
    flat = np.asarray(array).reshape(-1)
    shown = ", ".join(_fmt(v) for v in flat[:limit])
    return f"[{shown}{', ...' if flat.size > limit else ''}]"


def compare_close(key: str, rule: Close, got: View, ans: View, device_name: str) -> str | None:
    """None when the output matches, else a message that teaches."""
    want, have = ans[key], got[key]
    want_meta, have_meta = ans.meta.get(key, {}), got.meta.get(key, {})
    label = f"`{key}`"
    if want_meta.get("kind") == "tensor" and have_meta.get("kind") != "tensor":
        return f"{label}: expected a torch.Tensor, got {have_meta.get('type', '?')}"
    if rule.check_dtype and want_meta.get("kind") == "tensor" and have_meta.get("dtype") != want_meta.get("dtype"):
        return (f"{label}: expected dtype {want_meta.get('dtype')}, got {have_meta.get('dtype')}"
                " (cast with .float() / .to(torch.float32), or create tensors with the right dtype)")
    if rule.check_device and want_meta.get("kind") == "tensor" and not have_meta.get("on_device", True):
        return (f"{label}: the result is on {have_meta.get('device')}, but the inputs were on "
                f"{device_name}: create new tensors with device=... taken from the inputs")
    if want.shape != have.shape:
        return f"{label}: expected shape {tuple(want.shape)}, got {tuple(have.shape)}"
    if have.dtype.kind in "fc" and not np.all(np.isfinite(have)):
        bad = int(np.size(have) - np.count_nonzero(np.isfinite(have)))
        return f"{label}: {bad} of {have.size} values are NaN or infinite (expected all finite)"
    if have.dtype.kind not in "biuf" or want.dtype.kind not in "biuf":
        return f"{label}: expected numbers, got {have.dtype}"
    w, h = want.astype(np.float64), have.astype(np.float64)
    diff = np.abs(h - w)
    bound = rule.atol + rule.rtol * np.abs(w)
    bad = diff > bound
    if not bad.any():
        return None
    index = np.unravel_index(int(np.argmax(np.where(bad, diff - bound, -np.inf))), diff.shape) if diff.ndim else ()
    rel = float(np.max(diff / np.maximum(np.abs(w), 1e-12)))
    where = f" at index {tuple(int(i) for i in index)}" if diff.ndim else ""
    return (f"{label}: values differ from the expected ones in {int(bad.sum())} of {bad.size} places\n"
            f"    largest miss{where}: expected {_fmt(w[index])}, got {_fmt(h[index])}\n"
            f"    max abs diff {float(diff.max()):.3g}, max rel diff {rel:.3g} "
            f"(allowed: {rule.atol:g} + {rule.rtol:g} * |expected|)\n"
            f"    expected {_preview(want)}\n"
            f"    got      {_preview(have)}")


def compare_exact(key: str, rule: Exact, got: View, ans: View) -> str | None:
    want, have = ans[key], got[key]
    want_meta, have_meta = ans.meta.get(key, {}), got.meta.get(key, {})
    if rule.check_dtype and want_meta.get("kind") == "tensor" and have_meta.get("dtype") != want_meta.get("dtype"):
        return f"`{key}`: expected dtype {want_meta.get('dtype')}, got {have_meta.get('dtype')}"
    if want.shape != have.shape:
        return f"`{key}`: expected shape {tuple(want.shape)}, got {tuple(have.shape)}"
    if want.dtype.kind == "U" or have.dtype.kind == "U":
        equal = want.dtype.kind == have.dtype.kind and np.array_equal(want, have)
    else:
        equal = np.array_equal(want, have)
    if equal:
        return None
    return f"`{key}`: expected {_preview(want)}, got {_preview(have)}"


PRINTED_LINES = 40


def plain_text(line: str) -> str:
    """Student text as it stands, with control characters (terminal escapes that could
    move the cursor and paint over verdicts, say) shown as escapes instead of obeyed."""
    return "".join(ch if ch.isprintable() or ch == "\t" else ascii(ch)[1:-1] for ch in line)


def _after_returns(line: str) -> str:
    """What a terminal leaves of a line that a progress bar (tqdm, say) kept rewriting
    with carriage returns: its last state."""
    states = [state for state in line.split("\r") if state]
    return states[-1] if states else ""


def printed_lines(check: Check, outcome) -> list[str]:
    """What the student's code printed during a public check, for their debugging
    (plain text, shown as such: it never changes a verdict)."""
    text = getattr(outcome, "printed", "") or ""
    if check.hidden or not text.strip():
        return []
    lines = [_after_returns(line) for line in text.rstrip().replace("\r\n", "\n").split("\n")]
    cut = len(lines) - PRINTED_LINES
    shown = ([f"[... {cut} lines before ...]"] if cut > 0 else []) + lines[-PRINTED_LINES:]
    return (["your code printed (for your debugging; it does not change the score):"]
            + [f"  | {plain_text(line)}" for line in shown])


def judge(check: Check, outcome, answers: View | None, device_name: str) -> Verdict:
    """Score one check. ``outcome`` is a sandbox.Outcome; ``answers`` the stored View."""
    head = f"{check.title}"
    if check.call:
        head += f"\n  input: {check.call}"
    printed = printed_lines(check, outcome)

    def fail(lines: list[str]) -> Verdict:
        return Verdict(0.0, check.points, False, head + "\n  " + "\n  ".join(lines + printed))

    if outcome.error is not None:
        first = outcome.error.strip()
        if first.startswith("not implemented yet"):
            return Verdict(0.0, check.points, False, f"{check.function}: {first}")
        return fail([plain_text(line) for line in first.splitlines()])
    got = View(outcome.arrays, outcome.meta)
    if answers is None and (check.expect or check.needs_answers):
        return fail(["grader error: no stored answer for this check (run `python -m autograder answers`)"])
    ans = answers if answers is not None else View({}, {})
    problems: list[str] = []
    for key, rule in check.expect.items():
        if key not in got:
            problems.append(f"`{key}`: no such output (the function returned nothing usable)")
            continue
        if key not in ans:
            problems.append(f"grader error: no stored answer for `{key}`")
            continue
        try:
            if isinstance(rule, Close):
                message = compare_close(key, rule, got, ans, device_name)
            else:
                message = compare_exact(key, rule, got, ans)
        except Exception as error:  # malformed arrays from the child
            message = f"`{key}`: could not compare ({type(error).__name__}: {error})"
        if message:
            problems.append(message)
    if check.verify is not None and not problems:
        try:
            problems.extend(str(m) for m in check.verify(got, ans))
        except Exception as error:
            problems.append(f"the result could not be checked ({type(error).__name__}: {error}); "
                            "is its shape right?")
    if not problems:
        return Verdict(check.points, check.points, True, "\n  ".join([head, *printed]))
    for hint in check.hints:
        try:
            if hint.when(got, ans):
                problems.append(f"hint: {hint.message}")
        except Exception:
            continue
    return fail(problems)
