"""GitHub Actions workflow commands: one annotation per finding, shown on the pull request's diff."""

from __future__ import annotations

from codemod.engine import Run


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_commands(run: Run, with_decision: bool) -> str:
    """`::warning file=…,line=…,title=…::message` lines: open findings warn (an undecided deny peer is an
    error: it silently stops denying remote clusters), decided and informational ones are notices."""
    lines: list[str] = []
    for f in run.findings:
        level = "notice"
        if f.left_open(fixing=False):
            level = "error" if f.deny and f.undecided else "warning"
        title = f.rule + (f" [{f.decision.label}]" if with_decision and f.decision is not None else "")
        lines.append(f"::{level} file={_escape_property(f.file)},line={f.line},"
                     f"title={_escape_property(title)}::{_escape_data(f'{f.policy} {f.path}: {f.message}')}")
    for e in run.errors:
        where = f",line={e.line}" if e.line else ""
        lines.append(f"::error file={_escape_property(e.file)}{where},title=cilium-codemod::"
                     f"{_escape_data(e.message)}")
    return "".join(line + "\n" for line in lines)
