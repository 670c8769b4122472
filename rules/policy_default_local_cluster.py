"""`clustermesh.policyDefaultLocalCluster`: the escape hatch back to Cilium 1.18's cluster default."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from codemod.cilium import Policy, text_of
from codemod.documents import Mapping, Node, Path, Scalar, deref
from codemod.edits import Insert, Op, Replace, remove_entry
from codemod.helm import HELM_VALUES, boolean, lookup, meant_boolean
from codemod.rule import Context, Finding

if TYPE_CHECKING:
    from codemod.engine import Run


class PolicyDefaultLocalCluster:
    id = "policy-default-local-cluster"
    summary = "clustermesh.policyDefaultLocalCluster: a real boolean; false is a temporary escape hatch"
    fixable = True
    needs_decision = False
    severity = "warning"
    versions = ("1.19", "1.20")
    kinds = (HELM_VALUES,)
    explanation = """
`clustermesh.policyDefaultLocalCluster` switches Cilium 1.19's local-cluster default for policy peers.
`false` keeps 1.18's behaviour for the upgrade window; Cilium will deprecate and then remove it, so it is
reported as something to take out once every policy names its clusters. The chart's schema accepts only a
real boolean: a quoted "false" or "true" fails to render, and is rewritten to the boolean it spells.
"""
    before = """
clustermesh:
  policyDefaultLocalCluster: "false"
"""
    after = """
clustermesh:
  policyDefaultLocalCluster: false
"""

    escape_hatch: str | None = None  # "on" or "off": set by `rewrite --escape-hatch`
    escape_hatch_blocked: str | None = None  # why "off" must not take it out yet (set with it)

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        holder, node = lookup(policy.node, ("clustermesh", "policyDefaultLocalCluster"))
        value = deref(node)
        path = (*policy.path, "clustermesh", "policyDefaultLocalCluster")
        doc = policy.document.index
        if self.escape_hatch is not None:
            yield from self._escape_hatch(policy, context, holder, value, path, doc)
            return
        if holder is None or not isinstance(value, Scalar) or value.is_null:
            return
        key = holder.key_node("policyDefaultLocalCluster")
        assert key is not None
        text = text_of(value) or ""
        meant = meant_boolean(value)
        if boolean(value) is None and meant is not None:
            yield context.finding(self.id, policy, path, key,
                                  f'policyDefaultLocalCluster: "{text}" is a string and the chart schema rejects '
                                  "it: write the boolean",
                                  fix=[Replace(doc, path, meant)], fixable=True)
        elif meant is False:
            yield context.finding(self.id, policy, path, key, ESCAPE_HATCH, severity="info")

    def _escape_hatch(self, policy: Policy, context: Context, holder: Mapping | None, value: Node | None,
                      path: Path, doc: int) -> Iterator[Finding]:
        is_false = meant_boolean(value) is False
        where = holder.key_node("policyDefaultLocalCluster") if holder is not None else None
        anchor = where or policy.node.key_node("clustermesh") or policy.node
        if self.escape_hatch == "on":
            if boolean(value) is False:
                return
            fix: list[Op] = [Replace(doc, path, False)] if value is not None else [Insert(doc, path, False)]
            yield context.finding(self.id, policy, path, anchor, "escape hatch on: policyDefaultLocalCluster: "
                                  "false keeps Cilium 1.18's peer default through the upgrade window",
                                  fix=fix, fixable=True)
        elif is_false and holder is not None and self.escape_hatch_blocked:
            yield context.finding(self.id, policy, path, anchor, self.escape_hatch_blocked)
        elif is_false and holder is not None:
            mapping_path = path[:-1]
            yield context.finding(self.id, policy, path, anchor, "escape hatch off: policies name their clusters; "
                                  "Cilium's own default (true) applies again",
                                  fix=[remove_entry(doc, mapping_path, holder, "policyDefaultLocalCluster")],
                                  fixable=True)

    def after_run(self, run: Run) -> None:
        """The escape hatch is no longer needed when every policy scanned already names its clusters."""
        if "implicit-cluster-selector" not in run.rules or not any(r.verdicts for r in run.files):
            return
        if run.skipped or run.errors:  # a policy that could not be read may still rely on it
            return
        if any(f.rule == "implicit-cluster-selector" for f in run.findings):
            return
        for f in run.findings:
            if f.rule == self.id and f.message == ESCAPE_HATCH:
                f.severity = "warning"
                f.message = ("policyDefaultLocalCluster: false is no longer needed: every policy scanned names its "
                             "clusters; remove it (rewrite --escape-hatch off)")


ESCAPE_HATCH = ("policyDefaultLocalCluster: false keeps Cilium 1.18's peer default (the escape hatch): take it out "
                "once every policy names its clusters")
