"""The dry-run diff: a unified diff that `git apply` accepts, each file's part preceded by `#` lines
that explain every change (git apply reads those as commentary)."""

from __future__ import annotations

import difflib

import click

from codemod.engine import FileResult


def explanation(result: FileResult) -> list[str]:
    lines = [f"# {result.display}"]
    for f in result.findings:
        if not f.fix:
            continue
        if f.decision is not None:
            what = f.decision.label + (f" ({f.decision.reason})" if f.decision.reason else "")
        else:
            what = f"{f.rule}: {f.message}"
        lines.append(f"#   {f.policy} {f.path}: {what}")
    return lines


def file_diff(result: FileResult) -> list[str]:
    assert result.source is not None and result.new_text is not None
    old = result.source.encode(result.source.text).decode("utf-8").splitlines(keepends=True)
    new = result.source.encode(result.new_text).decode("utf-8").splitlines(keepends=True)
    path = result.display.lstrip("/")  # an absolute path outside the working folder: still a/… b/…
    lines = [f"diff --git a/{path} b/{path}"]
    for line in difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", n=3):
        if line.startswith(("---", "+++")):
            lines.append(line.rstrip("\n"))
            continue
        if line.endswith("\n"):
            lines.append(line[:-1])
        else:
            lines += [line, "\\ No newline at end of file"]
    return lines


def render(results: list[FileResult], color: bool) -> str:
    out: list[str] = []
    for result in results:
        for line in explanation(result):
            out.append(click.style(line, fg="yellow") if color else line)
        for line in file_diff(result):
            out.append(_colour(line) if color else line)
    return "\n".join(out) + ("\n" if out else "")


def _colour(line: str) -> str:
    if line.startswith(("diff --git", "---", "+++")):
        return click.style(line, bold=True)
    if line.startswith("@@"):
        return click.style(line, fg="cyan")
    if line.startswith("+"):
        return click.style(line, fg="green")
    if line.startswith("-"):
        return click.style(line, fg="red")
    return line
