"""`clustermesh.policyDefaultLocalCluster`: the escape hatch back to Cilium 1.18's cluster default."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import Policy, text_of
from codemod.documents import Scalar, deref
from codemod.edits import Replace
from codemod.helm import HELM_VALUES, lookup
from codemod.rule import Context, Finding


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

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        holder, node = lookup(policy.node, ("clustermesh", "policyDefaultLocalCluster"))
        value = deref(node)
        if holder is None or not isinstance(value, Scalar) or value.is_null:
            return
        key = holder.key_node("policyDefaultLocalCluster")
        assert key is not None
        path = (*policy.path, "clustermesh", "policyDefaultLocalCluster")
        text = text_of(value) or ""
        quoted = value.style in ("'", '"')
        if quoted and text.lower() in ("true", "false"):
            yield context.finding(self.id, policy, path, key,
                                  f'policyDefaultLocalCluster: "{text}" is a string and the chart schema rejects '
                                  "it: write the boolean",
                                  fix=[Replace(policy.document.index, path, text.lower() == "true")], fixable=True)
        elif text == "false":
            yield context.finding(self.id, policy, path, key,
                                  "policyDefaultLocalCluster: false keeps Cilium 1.18's peer default (the escape "
                                  "hatch): take it out once every policy names its clusters", severity="info")
