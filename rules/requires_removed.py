"""fromRequires/toRequires: removed in Cilium 1.19 (CRD maxItems: 0), so the policy is rejected."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import KNP, REQUIRES_FIELDS, Policy, sections
from codemod.documents import Sequence, deref
from codemod.rule import Context, Finding


class RequiresRemoved:
    id = "requires-removed"
    summary = "fromRequires/toRequires are removed in Cilium 1.19; the policy is rejected"
    fixable = False
    needs_decision = False
    severity = "error"
    versions = ("1.19", "1.20")
    explanation = """
`fromRequires` and `toRequires` are removed in Cilium 1.19 (the CRD allows no items), so the API server
rejects a policy that still uses them. Move each requirement into the peer selectors it was meant to
narrow. Reported only: how to merge a requirement into each peer is a judgement call.
"""
    before = """
ingress:
  - fromEndpoints:
      - matchLabels: {app: api}
    fromRequires:
      - matchLabels: {env: prod}
"""
    after = """
ingress:
  - fromEndpoints:
      - matchLabels: {app: api, env: prod}
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        if policy.kind == KNP:
            return
        for path, _section, entry in sections(policy):
            for field in REQUIRES_FIELDS:
                key, value = entry.key_node(field), deref(entry.get(field))
                if key is None or not (isinstance(value, Sequence) and value.items):
                    continue
                yield context.finding(
                    self.id, policy, (*path, field), key,
                    f"{field} is removed in Cilium 1.19 and the API server rejects the policy; "
                    "move the requirement into each peer selector")
