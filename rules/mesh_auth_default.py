"""Mutual authentication is off by default in Cilium 1.19: values that enable SPIRE must enable it too."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import Policy, text_of
from codemod.edits import Insert
from codemod.helm import HELM_VALUES, lookup
from codemod.rule import Context, Finding


class MeshAuthDefault:
    id = "mesh-auth-default"
    summary = "authentication.enabled defaults to false in 1.19: SPIRE-enabled values must set it"
    fixable = True
    needs_decision = False
    severity = "error"
    versions = ("1.19", "1.20")
    kinds = (HELM_VALUES,)
    explanation = """
`authentication.enabled` (mesh authentication) defaults to false from Cilium 1.19 on; it was true before.
Values that turn on `authentication.mutual.spire.enabled` without setting `authentication.enabled` fail to
render on 1.19, and while mesh authentication is off every policy rule with `authentication.mode:
required` drops its traffic (drop reason AUTH_REQUIRED). The rewrite adds `authentication.enabled: true`
beside the SPIRE settings. Values that set it to false while SPIRE is on are reported.
"""
    before = """
authentication:
  mutual:
    spire:
      enabled: true
"""
    after = """
authentication:
  mutual:
    spire:
      enabled: true
  enabled: true
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        _, spire = lookup(policy.node, ("authentication", "mutual", "spire", "enabled"))
        if text_of(spire) != "true":
            return
        holder, enabled = lookup(policy.node, ("authentication", "enabled"))
        assert holder is not None and spire is not None
        path = (*policy.path, "authentication", "enabled")
        if enabled is None:
            key = holder.key_node("mutual")
            assert key is not None
            yield context.finding(self.id, policy, path, key,
                                  "authentication.mutual.spire.enabled is true but authentication.enabled is unset: "
                                  "it defaults to false on Cilium 1.19 and the values fail to render",
                                  fix=[Insert(policy.document.index, path, True)], fixable=True)
        elif text_of(enabled) == "false":
            key = holder.key_node("enabled")
            assert key is not None
            yield context.finding(self.id, policy, path, key,
                                  "SPIRE is enabled but mesh authentication is off: policies with "
                                  "authentication.mode: required drop their traffic (AUTH_REQUIRED)")
