"""An example third-party rule: every CiliumNetworkPolicy rule should say what it is for.

Install it next to cilium-codemod (`pip install examples/plugin`); `cilium-codemod rules` then lists
`policy-description`, and `--select` / `--ignore` take it like a built-in rule.
"""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import KNP, Policy, rules_of
from codemod.rule import Context, Finding


class PolicyDescription:
    id = "policy-description"
    summary = "a Cilium policy rule without a description"
    fixable = False
    needs_decision = False
    severity = "info"
    versions = ("1.19", "1.20")
    explanation = """
    Reviewers of a migration need to know what each rule is for: give every `spec` and `specs[]` item of a
    CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy a `description`.
    """
    before = """
    spec:
      endpointSelector: {matchLabels: {app: api}}
    """
    after = """
    spec:
      description: "api: ingress from the storefront"
      endpointSelector: {matchLabels: {app: api}}
    """

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        if policy.kind == KNP:
            return
        for path, rule in rules_of(policy):
            if rule.get("description") is None:
                yield context.finding(self.id, policy, path, rule, "policy rule has no description")
