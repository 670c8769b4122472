"""The commands that read Hubble captures: `propose` and `flows diff`.

Exit status: 0 done (for `flows diff`: no regression); 1 `flows diff` found regressions; 2 a capture or a
policy file could not be read, or held malformed lines (reported with their line numbers; the rest of the
work is still done and written).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec

import click

from codemod.cli import ANY_PATH, EXISTING_FILE, FILE_PATH, size_option

P = ParamSpec("P")

if TYPE_CHECKING:
    from codemod.decisions import Decision
    from codemod.flows import Capture


def guarded(command: Callable[P, None]) -> Callable[P, None]:
    """An unforeseen failure is exit 2 with one line, never a traceback that CI would read as exit 1
    ("regressions found")."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            click.echo(f"error: internal error ({type(exc).__name__}: {exc}); please report this", err=True)
            sys.exit(2)

    return run


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    from codemod.evidence import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


def report_captures(captures: list[Capture]) -> bool:
    """Print each capture's read errors and malformed lines to stderr; True when there was any."""
    bad = False
    for c in captures:
        shown = "<stdin>" if c.name == "-" else c.name
        if c.error is not None:
            click.echo(f"error: {shown}: {c.error}", err=True)
            bad = True
        for line in c.bad:
            click.echo(f"error: {shown}:{line.line}: {line.message} (line skipped)", err=True)
        if c.bad_lines > len(c.bad):
            click.echo(f"error: {shown}: {c.bad_lines - len(c.bad)} more malformed lines skipped", err=True)
        bad = bad or c.bad_lines > 0
    return bad


def narrower(decided: Decision, proposed: Decision) -> bool:
    """Whether a decision already made lets through less than the evidence needs (it is kept all the same)."""
    if decided.action in ("undecided", "all-clusters") or proposed.action == "local":
        return False
    if proposed.action == "all-clusters":
        return True
    return decided.action == "local" or not set(proposed.clusters) <= set(decided.clusters)


@click.command()
@click.option("--flows", "captures", multiple=True, required=True, metavar="CAPTURE",
              help="A Hubble capture: `hubble observe -o jsonpb` (or -o json) lines or the exporter file, "
              "gzip or plain; `-` reads stdin. Repeat for several.")
@click.argument("paths", nargs=-1, required=True, type=ANY_PATH)
@click.option("-o", "--output", type=FILE_PATH, help="Write here instead of stdout (`-`).")
@click.option("--local-cluster", metavar="NAME",
              help="The cluster that enforces the policies when the capture cannot tell (no cluster_name, "
              "no cluster label, node names without a cluster prefix).")
@click.option("--since", "since", metavar="DURATION",
              help="The window the capture was asked for (as given to `hubble observe --since`, e.g. 24h): "
              "warns when it holds less.")
@click.option("--update", "update_path", type=EXISTING_FILE,
              help="Bring this decision file up to date in place: its decisions win and are kept, its "
              "`undecided` entries take the proposal, proposals for selectors it does not cover are appended, "
              "and entries that match nothing get a STALE comment.")
@size_option
@guarded
def propose(captures: tuple[str, ...], paths: tuple[str, ...], output: str | None, local_cluster: str | None,
            since: str | None, update_path: str | None, max_file_size: int) -> None:
    """Propose a decision file from Hubble captures taken before the upgrade."""
    from collections import Counter

    from codemod import propose as proposing
    from codemod.cli import _load_decisions, _plural, _report_problems
    from codemod.decisions import DecisionFileError, loads
    from codemod.sources import write_atomically
    from codemod.todo import UpdateError, read_text, subject_of

    output = None if output == "-" else output
    if output and update_path:
        raise click.UsageError("--update rewrites that file in place; it does not go with -o")
    if sum(1 for c in captures if c == "-") > 1:
        raise click.UsageError("stdin (-) can be read only once")
    window = _since(since)
    existing = _load_decisions(update_path)
    proposal = proposing.propose(paths, captures, local_cluster, window, existing, max_file_size)
    _report_problems(proposal.run)
    bad = report_captures(proposal.gathered.captures)
    g = proposal.gathered
    unopened = [c.name for c in g.captures if c.error is not None and c.lines == 0]
    if unopened or not g.flows:
        why = f"cannot read {', '.join(unopened)}" if unopened else "the captures hold no flows"
        click.echo(f"error: no decision file written: {why}", err=True)
        sys.exit(2)
    target = Path(update_path or output or "-")
    try:
        text, updated = proposing.render(proposal, Path(output) if output else None,
                                         Path(update_path) if update_path else None)
    except UpdateError as exc:
        click.echo(f"error: {exc}; nothing written", err=True)
        sys.exit(2)
    try:
        final = loads(target if target.name != "-" else Path.cwd() / "proposal.yaml", text)
    except DecisionFileError as exc:  # never write a decision file that would not load
        click.echo(f"error: internal error, the proposal does not validate ({exc}); nothing written", err=True)
        sys.exit(2)
    counts = Counter(final.decide(subject_of(f)).action for f in proposal.findings)
    conflicts = [(f, decided, proposal.decide(f)) for f in proposal.findings
                 if narrower(decided := final.decide(subject_of(f)), proposal.decide(f))]
    summary = ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))
    click.echo(f"propose: {_plural(len(proposal.findings), 'selector')}{': ' + summary if summary else ''}",
               err=True)
    if updated is not None:
        click.echo(f"{update_path}: {_plural(updated.filled, 'undecided entry', 'undecided entries')} filled, "
                   f"{_plural(updated.added, 'new selector')} added, {updated.kept} entries kept, "
                   f"{updated.stale} stale", err=True)
        if updated.still_undecided:
            click.echo(f"{update_path}: {_plural(updated.still_undecided, 'selector')} left undecided: their "
                       "`undecided` entry covers selectors with different proposals, or other entries share it "
                       "(anchor, merge key)", err=True)
    click.echo(f"evidence: {_plural(len(g.captures), 'capture')}, {_plural(g.flows, 'flow')}, {g.cross_cluster:,} "
               f"allowed cross-cluster, {g.explained:,} of them through implicit selectors", err=True)
    for line in proposal.warnings:
        click.echo(f"warning: {line}", err=True)
    for f, decided, proposed in conflicts[:10]:
        click.echo(f"warning: {f.file}:{f.line}: {f.policy} {f.path} is decided {decided.label}, but the evidence "
                   f"asks for {proposed.label} ({proposed.reason})", err=True)
    if len(conflicts) > 10:
        click.echo(f"warning: {len(conflicts) - 10} more decisions are narrower than the evidence", err=True)
    destination = update_path or output
    if destination is None:
        click.echo(text, nl=False)
    elif update_path is None or text != read_text(Path(update_path)):
        try:
            write_atomically(Path(destination), text.encode("utf-8"))
        except OSError as exc:
            click.echo(f"error: cannot write {destination}: {exc.strerror or exc}", err=True)
            sys.exit(2)
        click.echo(f"wrote {destination}", err=True)
    sys.exit(2 if proposal.run.errors or bad else 0)


@click.group()
def flows() -> None:
    """Work with Hubble flow captures."""


@flows.command("diff")
@click.argument("before")
@click.argument("after")
@click.option("--policies", "paths", multiple=True, type=ANY_PATH, metavar="PATH",
              help="Policy files or folders: trace cross-cluster regressions to the selectors responsible "
              "and the decision that restores them. Repeat for several.")
@click.option("--local-cluster", metavar="NAME", help="The enforcing cluster when the capture cannot tell.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True)
@size_option
@guarded
def flows_diff(before: str, after: str, paths: tuple[str, ...], local_cluster: str | None, fmt: str,
               max_file_size: int) -> None:
    """Connections allowed in BEFORE and dropped (or AUDIT) in AFTER; exit 1 when there is any."""
    from codemod.cli import _report_problems
    from codemod.engine import run
    from codemod.evidence import capture_warnings
    from codemod.flowdiff import diff
    from codemod.render import flowdiff as render
    from codemod.selection import PolicyModel, model

    if before == "-" and after == "-":
        raise click.UsageError("stdin (-) can be read only once")
    models: list[PolicyModel] = []
    errors = False
    if paths:
        policies = run(paths, [], None, fix=False, max_file_size=max_file_size,
                       visit=lambda policy, context: models.append(model(policy, context.display)))
        _report_problems(policies)
        errors = bool(policies.errors)
    result = diff(before, after, models, local_cluster)
    bad = report_captures([result.before, result.after])
    warnings = [w for c in (result.before, result.after) for w in capture_warnings(c, None)
                if "no policy-verdict" not in w]
    if fmt == "json":
        click.echo(render.as_json(result, warnings), nl=False)
    elif fmt == "markdown":
        click.echo(render.markdown(result, warnings), nl=False)
    else:
        click.echo(render.text(result), nl=False)
        for line in warnings:
            click.echo(f"warning: {line}", err=True)
    sys.exit(2 if errors or bad else 1 if result.regressions else 0)
