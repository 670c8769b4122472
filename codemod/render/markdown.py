"""A pull-request body for the migration: totals, a table per namespace, deny peers called out, undecided
selectors as a checklist, other findings, and the diff folded away."""

from __future__ import annotations

from collections import Counter, defaultdict

from codemod.engine import FileResult, Run
from codemod.rule import Finding

IMPLICIT = "implicit-cluster-selector"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"``{text}``"


def report(run: Run, diff_of: list[FileResult] | None = None, applied: bool = False) -> str:
    """The report; `diff_of` adds the collapsed diff of those files (`applied`: they were written)."""
    from codemod.render.diff import render

    implicit = [f for f in run.findings if f.rule == IMPLICIT]
    others = [f for f in run.findings if f.rule != IMPLICIT]
    policies = {(f.kind, f.namespace, f.name) for f in implicit}
    files = {f.file for f in implicit}
    out = ["## Cilium 1.19 local-cluster migration", ""]
    if not implicit and not others:
        out.append("No selector relies on the implicit cluster default, and nothing else needs attention.")
    else:
        out.append(f"**{len(implicit)}** selector{'' if len(implicit) == 1 else 's'} in **{len(policies)}** "
                   f"polic{'y' if len(policies) == 1 else 'ies'} ({len(files)} file{'' if len(files) == 1 else 's'})"
                   " rely on the implicit cluster default" + _actions(implicit) + ".")
    deny = [f for f in implicit if f.deny]
    if deny:
        out += ["", "> [!WARNING]",
                f"> {len(deny)} deny peer{'' if len(deny) == 1 else 's'}: an implicit deny peer silently stops "
                "denying remote clusters on Cilium 1.19; `all-clusters` keeps the 1.18 behaviour.", ">"]
        out += [f"> - {_code(f.policy)} {_code(f.path)}: **{_label(f)}** ({f.file}:{f.line})" for f in deny]
    by_namespace: dict[str, list[Finding]] = defaultdict(list)
    for f in implicit:
        by_namespace[f.namespace or ""].append(f)
    for namespace in sorted(by_namespace):
        title = f"Namespace {_code(namespace)}" if namespace else "Cluster-wide and namespace-less policies"
        out += ["", f"### {title}", "", "| Policy | Selector | Action | Reason |", "|---|---|---|---|"]
        for f in by_namespace[namespace]:
            reason = f.decision.reason if f.decision is not None and f.decision.reason else ""
            deny_mark = " (deny)" if f.deny else ""
            out.append(f"| {_code(f.name)} ({f.kind}) | {_code(f.path)}{deny_mark}<br>{_cell(f.file)}:{f.line} "
                       f"| {_label(f)} | {_cell(reason)} |")
    undecided = [f for f in implicit if f.undecided]
    if undecided:
        out += ["", "### Still to decide", ""]
        out += [f"- [ ] {_code(f.policy)} {_code(f.path)}{' (deny)' if f.deny else ''} — {f.file}:{f.line}"
                for f in undecided]
    if others:
        out += ["", "### Other findings", ""]
        out += [f"- **{f.rule}** {_code(f.policy)} {_code(f.path)} — {f.file}:{f.line}: {f.message}" for f in others]
    if run.errors or run.skipped:
        out += ["", "### Not processed", ""]
        out += [f"- error: {e.file}{f':{e.line}' if e.line else ''}: {e.message}" for e in run.errors]
        out += [f"- skipped: {s.file}: {s.reason}" for s in run.skipped]
    if diff_of:
        verb = "Applied" if applied else "Proposed"
        out += ["", f"<details><summary>{verb} diff ({len(diff_of)} file{'' if len(diff_of) == 1 else 's'})"
                "</summary>", "", "```diff", render(diff_of, color=False).rstrip("\n"), "```", "", "</details>"]
    return "\n".join(out) + "\n"


def _label(f: Finding) -> str:
    return f.decision.label if f.decision is not None else "undecided"


def _actions(findings: list[Finding]) -> str:
    counts = Counter(_label(f) for f in findings)
    return ": " + ", ".join(f"{n} {label}" for label, n in sorted(counts.items())) if counts else ""
