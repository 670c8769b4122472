"""Mutual authentication is off by default in Cilium 1.19: values that enable SPIRE must enable it too."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from codemod.cilium import Policy, sections, text_of
from codemod.documents import Mapping, deref
from codemod.edits import Insert
from codemod.helm import HELM_VALUES, lookup, meant_boolean
from codemod.rule import Context, Finding

if TYPE_CHECKING:
    from codemod.engine import Run


class MeshAuthDefault:
    id = "mesh-auth-default"
    summary = "authentication.enabled defaults to false in 1.19: SPIRE-enabled values must set it"
    fixable = True
    needs_decision = False
    severity = "error"
    versions = ("1.19", "1.20")
    kinds = (HELM_VALUES, "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy")
    explanation = """
`authentication.enabled` (mesh authentication) defaults to false from Cilium 1.19 on; it was true before.
Values that turn on `authentication.mutual.spire.enabled` without setting `authentication.enabled` fail to
render on 1.19, and while mesh authentication is off every policy rule with `authentication.mode:
required` drops its traffic (drop reason AUTH_REQUIRED). The rewrite adds `authentication.enabled: true`
beside the SPIRE settings. Values that set it to false while SPIRE is on are reported, and so are policy
rules with `authentication.mode: required` unless the Cilium values scanned with them turn it on.
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
        if policy.kind != HELM_VALUES:
            yield from self._required(policy, context)
            return
        _, spire_node = lookup(policy.node, ("authentication", "mutual", "spire", "enabled"))
        holder, enabled = lookup(policy.node, ("authentication", "enabled"))
        spire = meant_boolean(spire_node)
        if meant_boolean(enabled) is True or (spire is True and enabled is None):
            context.facts.add(MESH_AUTH_ON)  # these values turn mesh authentication on (or will, once fixed)
        if spire is not True:
            return
        assert holder is not None
        path = (*policy.path, "authentication", "enabled")
        if enabled is None:
            key = holder.key_node("mutual")
            assert key is not None
            yield context.finding(self.id, policy, path, key,
                                  "authentication.mutual.spire.enabled is true but authentication.enabled is unset: "
                                  "it defaults to false on Cilium 1.19 and the values fail to render",
                                  fix=[Insert(policy.document.index, path, True)], fixable=True)
        elif meant_boolean(enabled) is False:
            key = holder.key_node("enabled")
            assert key is not None
            yield context.finding(self.id, policy, path, key,
                                  "SPIRE is enabled but mesh authentication is off: policies with "
                                  "authentication.mode: required drop their traffic (AUTH_REQUIRED)")

    def _required(self, policy: Policy, context: Context) -> Iterator[Finding]:
        for path, _section, entry in sections(policy):
            auth = deref(entry.get("authentication"))
            if isinstance(auth, Mapping) and text_of(auth.get("mode")) == "required":
                key = entry.key_node("authentication")
                assert key is not None
                yield context.finding(self.id, policy, (*path, "authentication", "mode"), key, REQUIRED,
                                      severity="warning")

    def after_run(self, run: Run) -> None:
        """Policies that require authentication are fine when the values scanned turn mesh auth on."""
        if MESH_AUTH_ON in run.facts:
            run.drop([f for f in run.findings if f.rule == self.id and f.message == REQUIRED])


MESH_AUTH_ON = "mesh-auth-default: mesh authentication on"
REQUIRED = ("authentication.mode: required drops this traffic (AUTH_REQUIRED) while mesh authentication is off, the "
            "default since Cilium 1.19: set authentication.enabled: true in the Cilium values (none scanned does)")
