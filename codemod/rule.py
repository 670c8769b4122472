"""The one small interface every rule implements, built-in or third-party.

A rule looks at one policy and yields findings; a finding may carry a fix, expressed as data-level edit
requests (`codemod.edits`). Rules never open files, print, or decide how text is spliced: the engine does
that once for all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from codemod.cilium import Peer, Policy
from codemod.decisions import UNDECIDED, Decision, Decisions, Subject
from codemod.documents import Node, format_path, source_of
from codemod.edits import Op


@dataclass
class Finding:
    rule: str
    file: str
    document: int
    line: int
    kind: str
    namespace: str | None
    name: str
    path: str
    message: str
    direction: str | None = None
    deny: bool | None = None
    decision: Decision | None = None  # implicit selectors only
    fix: list[Op] = field(default_factory=list)
    severity: str = "warning"  # "info" findings are reported but never hold the exit status at 1
    fixable: bool = False  # the tool can rewrite it (given a decision, for implicit selectors)
    source: str = ""  # the node as written (shown by `decisions init` above each entry)

    @property
    def policy(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def undecided(self) -> bool:
        return self.decision is not None and self.decision.action == "undecided"

    def left_open(self, fixing: bool) -> bool:
        """Whether it keeps the exit status at 1: an undecided selector, or another rule's finding that
        this run does not fix (`fixing`: a rewrite applies the fixes it carries)."""
        if self.severity == "info":
            return False
        if self.decision is not None:
            return self.undecided
        return not (fixing and self.fix)


@dataclass
class Context:
    """What a rule may know about the file it looks at, and the decisions to apply."""

    file: Path
    display: str
    decisions: Decisions | None = None
    text: str = ""  # the file's text, so findings can quote what they point at

    def decide(self, peer: Peer) -> Decision:
        if self.decisions is None:
            return UNDECIDED
        p = peer.policy
        return self.decisions.decide(Subject(self.file, p.kind, p.namespace or "", p.name,
                                             format_path(peer.path), peer.direction, peer.deny))

    def finding(self, rule: str, policy: Policy, path: tuple[str | int, ...], node: Node, message: str,
                **extra: object) -> Finding:
        return Finding(rule, self.display, policy.document.index, node.line + 1, policy.kind, policy.namespace,
                       policy.name, format_path(path), message, source=source_of(node, self.text),
                       **extra)  # type: ignore[arg-type]


class Rule(Protocol):
    id: str
    summary: str
    fixable: bool
    needs_decision: bool

    def check(self, policy: Policy, context: Context) -> Iterable[Finding]: ...


ENTRY_POINT_GROUP = "cilium_codemod.rules"


def load_rules() -> list[Rule]:
    """The built-in rules, then any registered under the `cilium_codemod.rules` entry-point group."""
    from importlib.metadata import entry_points

    from rules import BUILTIN

    found: list[Rule] = [cls() for cls in BUILTIN]
    known = {rule.id for rule in found}
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        rule = entry.load()()
        if rule.id not in known:
            known.add(rule.id)
            found.append(rule)
    return found
