"""Human-readable lines, `file:line: rule policy path message`, grouped by file, with a summary."""

from __future__ import annotations

from collections import Counter

from codemod.engine import Run
from codemod.rule import Finding
from codemod.sources import FileError, Skipped


def finding_line(f: Finding, with_decision: bool) -> str:
    tail = ""
    if with_decision and f.decision is not None:
        tail = f" [{f.decision.label}]"
    return f"{f.file}:{f.line}: {f.rule} {f.policy} {f.path} {f.message}{tail}"


def error_line(e: FileError) -> str:
    return f"{e.file}:{e.line}: error: {e.message}" if e.line else f"{e.file}: error: {e.message}"


def skipped_line(s: Skipped) -> str:
    return f"{s.file}: skipped: {s.reason}"


def findings(run: Run, with_decision: bool) -> str:
    lines: list[str] = []
    previous: str | None = None
    for f in run.findings:
        if previous is not None and f.file != previous:
            lines.append("")
        previous = f.file
        lines.append(finding_line(f, with_decision))
    if lines:
        lines.append("")
    lines.append(summary(run, with_decision))
    return "\n".join(lines) + "\n"


def summary(run: Run, with_decision: bool) -> str:
    found = run.findings
    files = len({f.file for f in found})
    if not found:
        text = "No affected selectors or other findings"
    else:
        per_rule = Counter(f.rule for f in found)
        parts = ", ".join(f"{n} {rule}" for rule, n in sorted(per_rule.items()))
        text = f"Found {_count(len(found), 'finding')} in {_count(files, 'file')}: {parts}"
        if with_decision:
            actions = Counter(f.decision.label for f in found if f.decision is not None)
            text += "; decisions: " + ", ".join(f"{n} {a}" for a, n in sorted(actions.items()))
    policies = sum(len(r.verdicts) for r in run.files)
    holding = sum(1 for r in run.files if r.verdicts)
    text += f" ({policies} polic{'y' if policies == 1 else 'ies'} in {_count(holding, 'file')}"
    if run.skipped:
        text += f", {len(run.skipped)} skipped"
    if run.errors:
        text += f", {len(run.errors)} error{'s' if len(run.errors) != 1 else ''}"
    return text + ")."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
