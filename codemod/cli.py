"""Thin click commands: parse options, call the engine, pick a renderer, set the exit status.

Exit status, every command: 0 clean or done; 1 findings left (an undecided selector, or another rule's
finding) or, with --check, changes pending; 2 bad usage, a bad decision file, or any input that could not
be read, parsed or safely rewritten (the rest is still processed and reported).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import click

from codemod import __version__

if TYPE_CHECKING:
    from codemod.decisions import Decisions
    from codemod.engine import FileResult, Run
    from codemod.rule import Rule
    from codemod.sources import FileError

COLOR = click.Choice(["auto", "always", "never"])
# One instance of each path type, shared by every option: click looks up a translation (gettext, which
# stats the filesystem) for each instance it creates, on every start-up.
ANY_PATH = click.Path()
FILE_PATH = click.Path(dir_okay=False)
EXISTING_FILE = click.Path(dir_okay=False, exists=True)


def _use_color(choice: str, stream: object) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _load_decisions(path: str | None) -> Decisions | None:
    if path is None:
        return None
    from codemod.decisions import DecisionFileError, load

    try:
        return load(Path(path))
    except DecisionFileError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _report_problems(run: Run) -> None:
    from codemod.render.text import error_line, skipped_line

    for skipped in run.skipped:
        click.echo(skipped_line(skipped), err=True)
    for error in run.errors:
        click.echo(error_line(error), err=True)


def _progress(items: list[Any]) -> Iterable[Any]:
    """A progress bar on stderr for long runs on a terminal; never under pre-commit or in CI logs."""
    if len(items) < 200 or os.environ.get("PRE_COMMIT") or not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label="cilium-codemod", file=sys.stderr, show_pos=True) as bar:
        yield from bar


def _breakdown(labels: Iterable[str]) -> str:
    """`: 2 all-clusters, 1 local` — counts per action or rule, for summary lines."""
    from collections import Counter

    counts = Counter(labels)
    return ": " + ", ".join(f"{n} {label}" for label, n in sorted(counts.items())) if counts else ""


F = TypeVar("F", bound=Callable[..., Any])


def rule_options(command: F) -> F:
    """--select / --ignore / --target-version / --values, the same on every command that runs rules."""
    command = click.option("--target-version", "target", type=click.Choice(["1.19", "1.20"]),
                           help="Only the rules about upgrading to this Cilium version (default: all).")(command)
    command = click.option("--ignore", multiple=True, metavar="RULE",
                           help="Skip this rule (repeat, or separate ids with commas).")(command)
    command = click.option("--values", "values", multiple=True, type=ANY_PATH, metavar="FILE",
                           help="Read this file as Cilium Helm values whatever its name (files named like "
                           "*values*.yaml are). Repeat for several.")(command)
    return click.option("--select", multiple=True, metavar="RULE",
                        help="Run only this rule (repeat, or separate ids with commas); see `cilium-codemod "
                        "rules`.")(command)


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A size in bytes from `1048576`, `512KiB`, `200MB` (see sources.parse_size); a usage error otherwise."""
    from codemod.sources import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


def size_option(command: F) -> F:
    """--max-file-size, on every command that reads manifests."""
    from codemod.sources import DEFAULT_MAX_FILE_SIZE, MAX_FILE_SIZE_ENV

    return click.option("--max-file-size", "max_file_size", default=str(DEFAULT_MAX_FILE_SIZE), callback=_size,
                        envvar=MAX_FILE_SIZE_ENV, show_envvar=True, metavar="SIZE",
                        help="A manifest larger than this is an error and is never read: bytes, or a number with "
                        "kB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024). Default: 32MiB.")(command)


def jobs_option(command: F) -> F:
    return click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
                        help="Check files in N processes (default: the CPU count); output order stays the "
                        "same.")(command)


def _jobs(jobs: int | None) -> int:
    if jobs is not None:
        return jobs
    count = getattr(os, "process_cpu_count", os.cpu_count)()
    return max(1, count or 1)


def _rules(select: tuple[str, ...], ignore: tuple[str, ...], target: str | None) -> list[Rule]:
    from codemod.rule import PROBLEMS, UnknownRule, choose_rules, load_rules

    try:
        rules = choose_rules(load_rules(), select, ignore, target)
        for problem in PROBLEMS:
            click.echo(f"warning: {problem}", err=True)
    except UnknownRule as exc:
        raise click.UsageError(str(exc)) from None
    for rule in rules:  # rules whose findings depend on the version aimed at
        if hasattr(rule, "target_version"):
            rule.target_version = target
    return rules


def _escape_hatch_blockers(paths: tuple[str, ...], decisions: Decisions | None, values: tuple[str, ...],
                           max_file_size: int) -> str | None:
    """Why the escape hatch cannot come out yet: selectors that still rely on the default with no decision, or
    files that could not be checked. None when every policy is accounted for."""
    from codemod import engine
    from codemod.rule import load_rules

    implicit = [r for r in load_rules() if r.id == "implicit-cluster-selector"]
    probe = engine.run(paths, implicit, decisions, fix=False, values=values, max_file_size=max_file_size)
    undecided = sum(1 for f in probe.findings if f.undecided)
    unchecked = len(probe.skipped) + len(probe.errors)
    if not undecided and not unchecked:
        return None
    reasons = [f"undecided selectors that rely on the default: {undecided}"] if undecided else []
    reasons += [f"files that could not be checked (skipped or unreadable): {unchecked}"] if unchecked else []
    return "escape hatch kept; " + "; ".join(reasons)


def _plural(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


class LazyGroup(click.Group):
    """Subcommands whose modules load only when they run (or help lists them): start-up stays small."""

    LAZY: ClassVar[dict[str, str]] = {"propose": "codemod.flows_cli:propose", "flows": "codemod.flows_cli:flows",
                                      "rules": "codemod.rules_cli:rules_command",
                                      "explain": "codemod.rules_cli:explain_command"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.LAZY.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        import importlib

        module, _, name = target.partition(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cilium-codemod")
def main() -> None:
    """Find and rewrite the Cilium policy selectors that Cilium 1.19's local-cluster default breaks."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=ANY_PATH)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "inspect-json", "github", "markdown", "sarif"]),
              default="text", show_default=True, help="Output format; inspect-json matches `cilium clustermesh "
              "inspect-policy-default-local-cluster -o json`; github prints workflow-command annotations; "
              "markdown a pull-request body.")
@click.option("--decisions", "decisions_path", type=FILE_PATH,
              help="Decision file: each affected selector also shows the action that applies to it.")
@click.option("--color", type=COLOR, default="auto", show_default=True)
@rule_options
@jobs_option
@size_option
def scan(paths: tuple[str, ...], fmt: str, decisions_path: str | None, color: str, select: tuple[str, ...],
         ignore: tuple[str, ...], target: str | None, values: tuple[str, ...], jobs: int | None,
         max_file_size: int) -> None:
    """Report every peer selector that relies on the implicit cluster default, and other upgrade findings."""
    from codemod import engine

    rules = _rules(select, ignore, target)
    decisions = _load_decisions(decisions_path)
    run = engine.run(paths, rules, decisions, fix=False, progress=_progress, values=values, jobs=_jobs(jobs),
                     max_file_size=max_file_size)
    with_decision = decisions is not None
    if fmt == "json":
        from codemod.render.json import report

        click.echo(report(run, with_decision), nl=False)
    elif fmt == "inspect-json":
        from codemod.render.json import inspect

        click.echo(inspect(run), nl=False)
        _report_problems(run)
    elif fmt == "github":
        from codemod.render.github import workflow_commands

        click.echo(workflow_commands(run, with_decision), nl=False)
    elif fmt == "markdown":
        from codemod.render.markdown import report as markdown

        click.echo(markdown(run), nl=False)
        _report_problems(run)
    elif fmt == "sarif":
        from codemod.render.sarif import report as sarif

        click.echo(sarif(run, with_decision), nl=False)
        _report_problems(run)
    else:
        from codemod.render.text import findings

        _report_problems(run)
        click.echo(findings(run, with_decision), nl=False, color=_use_color(color, sys.stdout))
    if run.errors:
        sys.exit(2)
    sys.exit(1 if any(f.left_open(fixing=False) for f in run.findings) else 0)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=ANY_PATH)
@click.option("--decisions", "decisions_path", type=FILE_PATH,
              help="Decision file; without it only rules that need no decision run.")
@click.option("--write", is_flag=True, help="Apply the changes (default: print a dry-run diff).")
@click.option("--check", is_flag=True, help="Print no diff; exit 1 when anything would change or stays undecided "
              "(with --write: when anything was rewritten).")
@click.option("--patch", "patch_path", type=click.Path(dir_okay=False, writable=True),
              help="Write the dry-run diff to this file instead of stdout (to attach to a pull request).")
@click.option("--format", "fmt", type=click.Choice(["diff", "markdown", "sarif"]), default="diff",
              show_default=True, help="diff: the explained unified diff; markdown: a pull-request body with the "
              "diff folded in; sarif: SARIF 2.1.0 with fixes.")
@click.option("--interactive", "-i", is_flag=True, help="Review each change on the terminal: y apply, n skip, "
              "a apply the rest of the file, d record a local decision, q quit.")
@click.option("--color", type=COLOR, default="auto", show_default=True)
@click.option("--escape-hatch", type=click.Choice(["on", "off"]),
              help="on: write clustermesh.policyDefaultLocalCluster: false into the Cilium values (1.18's peer "
              "default for the upgrade window); off: take it out again once every policy names its clusters.")
@rule_options
@jobs_option
@size_option
def rewrite(paths: tuple[str, ...], decisions_path: str | None, write: bool, check: bool, patch_path: str | None,
            fmt: str, interactive: bool, color: str, escape_hatch: str | None, select: tuple[str, ...],
            ignore: tuple[str, ...], target: str | None, values: tuple[str, ...], jobs: int | None,
            max_file_size: int) -> None:
    """Rewrite affected selectors into their explicit form, as the decision file says."""
    from codemod import engine
    from codemod.render import diff
    from codemod.render.text import finding_line

    if write and patch_path:
        raise click.UsageError("--patch writes the dry-run diff; it does not go with --write")
    if interactive and (write or check or patch_path or fmt != "diff"):
        raise click.UsageError("--interactive writes what you accept; it goes with no --write, --check, --patch "
                               "or --format")
    if interactive and not (sys.stdin.isatty() and sys.stdout.isatty()):
        click.echo("error: --interactive needs a terminal (stdin and stdout)", err=True)
        sys.exit(2)
    rules = _rules(select, ignore, target)
    decisions = _load_decisions(decisions_path)
    blocked = _escape_hatch_blockers(paths, decisions, values, max_file_size) if escape_hatch == "off" else None
    for rule in rules:
        if hasattr(rule, "escape_hatch"):  # the rule's options (see rules/policy_default_local_cluster.py)
            setattr(rule, "escape_hatch", escape_hatch)  # noqa: B010
            setattr(rule, "escape_hatch_blocked", blocked)  # noqa: B010
    if decisions is None:
        if rules and all(r.needs_decision for r in rules):
            raise click.UsageError(f"{', '.join(r.id for r in rules)} rewrites as the decision file says: "
                                   "give --decisions")
        rules = [r for r in rules if not r.needs_decision]
    run = engine.run(paths, rules, decisions, fix=True, progress=_progress, values=values, jobs=_jobs(jobs),
                     max_file_size=max_file_size)
    if interactive:
        from codemod.interactive import review

        review(run, rules, decisions, decisions_path, _use_color(color, sys.stdout), _write_one)
        write = True  # from here on, as after --write: run.changed holds what was written
    elif write:
        _write_changes(run)  # from here on, run.changed holds only what was really written
    elif patch_path:
        Path(patch_path).write_text(diff.render(run.changed, color=False), encoding="utf-8", newline="")
        click.echo(f"wrote the diff of {_plural(len(run.changed), 'file')} to {patch_path}", err=True)
    elif check:
        for result in run.changed:
            click.echo(f"would rewrite {result.display}", err=True)
    if fmt == "markdown":
        from codemod.render.markdown import report as markdown

        click.echo(markdown(run, run.changed, applied=write), nl=False)
    elif fmt == "sarif":
        from codemod.render.sarif import report as sarif

        click.echo(sarif(run, decisions is not None), nl=False)
    elif not (write or patch_path or check):
        use_color = _use_color(color, sys.stdout)
        click.echo(diff.render(run.changed, use_color), nl=False, color=use_color)
    _report_problems(run)
    # A finding counts as fixed only in a file that is (or would be) rewritten without error.
    left = [f for r in run.files for f in r.findings if f.left_open(fixing=not r.errors) or (r.errors and f.fix)]
    for f in left:
        click.echo(finding_line(f, with_decision=decisions is not None), err=True)
    changed = run.changed
    fixed = [f for r in changed for f in r.findings if f.fix]
    actions = _breakdown(f.decision.label if f.decision else f.rule for f in fixed)
    summary = (f"{'rewrote' if write else 'would rewrite'} {_plural(len(changed), 'file')} "
               f"({_plural(len(fixed), 'change')}{actions})"
               f"; {_plural(len(left), 'finding')} left"
               f"{_breakdown('undecided' if f.undecided else f.rule for f in left)}")
    click.echo(summary + (f"; {_plural(len(run.errors), 'error')}" if run.errors else ""), err=True)
    if run.errors:
        sys.exit(2)
    sys.exit(1 if left or (check and changed) else 0)


def _write_changes(run: Run) -> None:
    """Write every changed file; one that fails (or changed on disk since it was read) becomes an error.
    Each write waits on fsync, so a few threads keep the disk busy (fsync lets go of the GIL); the
    messages still come out in the order of the files."""
    from codemod.sources import sync_folder

    changed = run.changed
    if len(changed) < 8:
        problems = [_write_result(result, sync=False) for result in changed]
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=4) as pool:
            problems = list(pool.map(lambda result: _write_result(result, sync=False), changed))
    for folder in dict.fromkeys(r.source.path.parent for r, p in zip(changed, problems, strict=True)
                                if p is None and r.source is not None):
        sync_folder(folder)  # once per folder, after every rename in it
    for result, problem in zip(changed, problems, strict=True):
        _report_write(result, problem)


def _write_one(result: FileResult) -> None:
    _report_write(result, _write_result(result))


def _report_write(result: FileResult, problem: FileError | None) -> None:
    if problem is not None:
        result.errors.append(problem)
        result.new_text = None
        return
    count = sum(1 for f in result.findings if f.fix)
    click.echo(f"rewrote {result.display} ({_plural(count, 'change')})", err=True)


def _write_result(result: FileResult, sync: bool = True) -> FileError | None:
    from codemod.sources import FileError, write_atomically

    assert result.source is not None
    try:
        path, raw = result.source.path, result.source.raw
        if path.stat().st_size != len(raw) or path.read_bytes() != raw:
            raise OSError("changed on disk since it was read; not overwritten")
        write_atomically(path, result.new_bytes, sync)
    except OSError as exc:
        return FileError(result.display, None, f"not written: {exc.strerror or exc}")
    return None


@main.group()
def decisions() -> None:
    """Work with the decision file."""


@decisions.command("schema")
def decisions_schema() -> None:
    """Print the decision file's JSON Schema (for editors: `# yaml-language-server: $schema=...`)."""
    import json

    from codemod.decisions import schema

    click.echo(json.dumps(schema(), indent=2))


@decisions.command("validate")
@click.argument("file", type=FILE_PATH)
def decisions_validate(file: str) -> None:
    """Check a decision file against the schema; exit 2 with file, line and field when it is wrong."""
    loaded = _load_decisions(file)
    assert loaded is not None
    click.echo(f"{file}: valid ({_plural(len(loaded.entries), 'decision')}, default {loaded.default.action})")


@decisions.command("init")
@click.argument("paths", nargs=-1, required=True, type=ANY_PATH)
@click.option("-o", "--output", type=FILE_PATH, help="Write here instead of stdout.")
@click.option("--default", "action", type=click.Choice(["undecided", "local", "all-clusters"]),
              default="undecided", show_default=True, help="The action written into every new entry.")
@click.option("--per-policy", is_flag=True, help="One entry per policy instead of one per selector.")
@click.option("--update", "update_path", type=EXISTING_FILE,
              help="Bring this decision file up to date: keep every decision made, add new selectors, "
              "flag entries that match nothing any more as STALE.")
@rule_options
@size_option
def decisions_init(paths: tuple[str, ...], output: str | None, action: str, per_policy: bool,
                   update_path: str | None, select: tuple[str, ...], ignore: tuple[str, ...],
                   target: str | None, values: tuple[str, ...], max_file_size: int) -> None:
    """Write the migration TODO: a decision file with one entry per affected selector."""
    from codemod import engine, todo
    from codemod.sources import absolute, write_atomically

    if output and update_path:
        raise click.UsageError("--update rewrites that file in place; it does not go with -o")
    existing = _load_decisions(update_path)
    run = engine.run(paths, [r for r in _rules(select, ignore, target) if r.needs_decision], existing, fix=False,
                     values=values, max_file_size=max_file_size)
    _report_problems(run)
    if update_path is not None:
        assert existing is not None
        try:
            result = todo.update(Path(update_path), existing, run.findings, todo.constant(action), per_policy)
        except todo.UpdateError as exc:
            click.echo(f"error: {exc}; nothing written", err=True)
            sys.exit(2)
        if result.text != todo.read_text(Path(update_path)):
            try:
                write_atomically(Path(update_path), result.text.encode("utf-8"))
            except OSError as exc:
                click.echo(f"error: cannot write {update_path}: {exc.strerror or exc}", err=True)
                sys.exit(2)
        click.echo(f"{update_path}: {_plural(result.added, 'new selector')} added, {result.kept} entries kept, "
                   f"{result.stale} stale", err=True)
    else:
        base = absolute(Path(output).parent if output else Path.cwd())
        text = todo.init(run.findings, base, todo.constant(action), per_policy)
        if output:
            try:
                write_atomically(Path(output), text.encode("utf-8"))
            except OSError as exc:
                click.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
                sys.exit(2)
            click.echo(f"wrote {output}", err=True)
        else:
            click.echo(text, nl=False)
    sys.exit(2 if run.errors else 0)


DEFAULT_DECISIONS = "cilium-codemod.decisions.yaml"


def _repo_decisions(given: str | None) -> str | None:
    """--decisions, else cilium-codemod.decisions.yaml at the root of the git repository we run in."""
    if given is not None:
        return given
    from codemod.sources import absolute

    for folder in (absolute("."), *absolute(".").parents):
        if (folder / ".git").exists():
            candidate = folder / DEFAULT_DECISIONS
            return str(candidate) if candidate.is_file() else None
    return None


@main.group()
def hook() -> None:
    """pre-commit hooks (see .pre-commit-hooks.yaml); each takes the staged file names."""


@hook.command("check")
@click.argument("files", nargs=-1, type=ANY_PATH)
@click.option("--decisions", "decisions_path", type=FILE_PATH,
              help=f"Decision file (default: {DEFAULT_DECISIONS} at the repository root, when present).")
@rule_options
@size_option
def hook_check(files: tuple[str, ...], decisions_path: str | None, select: tuple[str, ...], ignore: tuple[str, ...],
               target: str | None, values: tuple[str, ...], max_file_size: int) -> None:
    """Fail when a file has an undecided implicit selector, or a decided change that is not applied yet."""
    from codemod import engine
    from codemod.render.text import error_line

    rules = _rules(select, ignore, target)
    decisions = _load_decisions(_repo_decisions(decisions_path))
    if not files:
        sys.exit(0)
    run = engine.run(files, rules, decisions, fix=True, values=values, max_file_size=max_file_size)
    problems = [f"{f.file}:{f.line}: undecided: {f.policy} {f.path} ({f.message})"
                for f in run.findings if f.undecided]
    problems += [f"{r.display}: {_plural(sum(1 for f in r.findings if f.fix), 'decided change')} not applied "
                 "(run the cilium-codemod-fix hook, or cilium-codemod rewrite --write)" for r in run.changed]
    for line in problems + [error_line(e) for e in run.errors]:
        click.echo(line)
    sys.exit(2 if run.errors else 1 if problems else 0)


@hook.command("fix")
@click.argument("files", nargs=-1, type=ANY_PATH)
@click.option("--decisions", "decisions_path", type=FILE_PATH,
              help=f"Decision file (default: {DEFAULT_DECISIONS} at the repository root, when present).")
@rule_options
@size_option
def hook_fix(files: tuple[str, ...], decisions_path: str | None, select: tuple[str, ...], ignore: tuple[str, ...],
             target: str | None, values: tuple[str, ...], max_file_size: int) -> None:
    """Apply the decided rewrites to the given files; exit 1 when a file was changed (pre-commit convention)."""
    from codemod import engine
    from codemod.render.text import error_line

    chosen = _rules(select, ignore, target)
    decisions = _load_decisions(_repo_decisions(decisions_path))
    if not files:
        sys.exit(0)
    rules = [r for r in chosen if decisions is not None or not r.needs_decision]
    run = engine.run(files, rules, decisions, fix=True, values=values, max_file_size=max_file_size)
    _write_changes(run)
    for error in run.errors:
        click.echo(error_line(error))
    sys.exit(2 if run.errors else 1 if run.changed else 0)

