"""`rewrite --interactive`: review every change on the terminal, like `git add -p`.

y apply it, n skip it, a apply it and the rest of this file, d record a `local` decision for this selector in
the decision file (and skip it), q quit (what was accepted so far is written). Every file is still
rewritten through the same verified path as `rewrite --write`, with only the accepted changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import click

from codemod.decisions import Decisions
from codemod.edits import Unsafe
from codemod.engine import FileResult, Run, rewrite_some
from codemod.render import diff
from codemod.rule import Finding, Rule

HELP = "y - apply this change\nn - skip it\na - apply it and every remaining change in this file\n" \
       "d - record a local decision for this selector in the decision file, and skip it\n" \
       "q - quit; the changes accepted so far are written\n"


def review(run: Run, rules: list[Rule], decisions: Decisions | None, decisions_path: str | None, color: bool,
           write: Callable[[FileResult], None]) -> None:
    """Ask about each change; write each file's accepted changes through `write` as soon as the file is done."""
    for result in run.changed:
        changes = [f for f in result.findings if f.fix]
        accepted: list[Finding] = []
        rest = quit_now = False
        for number, finding in enumerate(changes, 1):
            if rest:
                accepted.append(finding)
                continue
            try:
                alone = rewrite_some(result, [finding], rules, decisions)
            except Unsafe as exc:
                click.echo(f"{result.display}:{finding.line}: cannot be applied on its own ({exc.message}); skipped")
                continue
            shown = replace(result, findings=[finding], new_text=alone)
            click.echo(diff.render([shown], color), nl=False, color=color)
            answer = _ask(f"({number}/{len(changes)}) Apply this change [y,n,a,d,q,?]? ")
            if answer == "y":
                accepted.append(finding)
            elif answer == "a":
                accepted.append(finding)
                rest = True
            elif answer == "d":
                if finding.decision is None:  # only a cluster selector takes a decision
                    click.echo("only a cluster selector can be decided; skipped")
                else:
                    _record_local(decisions_path, finding)
            elif answer == "q":
                quit_now = True
                break
        result.new_text = rewrite_some(result, accepted, rules, decisions) if accepted else None
        result.findings = [f for f in result.findings if not f.fix or f in accepted]
        if result.changed:
            write(result)
        if quit_now:
            break
    for result in run.files:  # files not reached before quitting stay as they are
        if result.new_text is not None and not result.changed:
            result.new_text = None


def _ask(prompt: str) -> str:
    while True:
        click.echo(prompt, nl=False)
        key = click.getchar().lower()
        click.echo(key)
        if key in ("y", "n", "a", "d", "q"):
            return key
        click.echo(HELP, nl=False)


def _record_local(decisions_path: str | None, finding: Finding) -> None:
    from codemod.todo import record

    if decisions_path is None:
        click.echo("no decision file (--decisions) to record the decision in; skipped")
        return
    try:
        record(Path(decisions_path), finding, "local")
    except OSError as exc:
        click.echo(f"cannot record the decision in {decisions_path}: {exc.strerror or exc}; skipped")
        return
    click.echo(f"recorded: {finding.policy} {finding.path}: local, in {decisions_path}")
