"""`cilium-codemod rules` and `explain RULE`: what each rule checks, and what it changes."""

from __future__ import annotations

import sys
import textwrap
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from codemod.rule import RuleInfo


def _action(info: RuleInfo) -> str:
    if not info.fixable:
        return "reports"
    return "rewrites (decision)" if info.needs_decision else "rewrites"


def _infos(target: str | None) -> list[RuleInfo]:
    from codemod.rule import ORIGINS, choose_rules, describe, load_rules

    rules = choose_rules(load_rules(), target=target)
    return [describe(r, ORIGINS.get(r.id, "built-in")) for r in rules]


@click.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--target-version", "target", type=click.Choice(["1.19", "1.20"]),
              help="Only the rules about upgrading to this Cilium version.")
def rules_command(fmt: str, target: str | None) -> None:
    """List the rules: id, severity, whether it rewrites or only reports, Cilium versions, summary."""
    infos = _infos(target)
    if fmt == "json":
        import json

        click.echo(json.dumps([{
            "id": i.id, "summary": i.summary, "severity": i.severity, "rewrites": i.fixable,
            "needs_decision": i.needs_decision, "versions": list(i.versions), "kinds": list(i.kinds),
            "origin": i.origin} for i in infos], indent=2))
        return
    rows = [("RULE", "SEVERITY", "ACTION", "CILIUM", "SUMMARY")]
    rows += [(i.id, i.severity, _action(i), ",".join(i.versions), i.summary + ("" if i.origin == "built-in"
                                                                             else f" [{i.origin}]")) for i in infos]
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row[:4])) + "  " + row[4])


@click.command("explain")
@click.argument("rule_id", metavar="RULE")
def explain_command(rule_id: str) -> None:
    """Print what RULE checks and why, with a before/after example."""
    found = {i.id: i for i in _infos(None)}
    info = found.get(rule_id)
    if info is None:
        click.echo(f"error: unknown rule {rule_id} (known: {', '.join(sorted(found))})", err=True)
        sys.exit(2)
    how = "rewrites, as the decision file says" if info.needs_decision and info.fixable else \
        "rewrites" if info.fixable else "reports only"
    out = [f"{info.id}: {info.summary}", "",
           f"severity: {info.severity}; {how}; Cilium {', '.join(info.versions)}; looks at "
           f"{', '.join(info.kinds)}" + ("" if info.origin == "built-in" else f"; from {info.origin}"), "",
           textwrap.fill(" ".join(info.explanation.split()), width=100)]
    for title, example in (("Before:", info.before), ("After:", info.after)):
        if example.strip():
            out += ["", title, textwrap.indent(textwrap.dedent(example).strip("\n"), "    ")]
    click.echo("\n".join(out))
