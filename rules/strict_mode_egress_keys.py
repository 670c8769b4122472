"""Strict-mode encryption keys renamed in Cilium 1.19: `encryption.strictMode.{enabled,cidr,
allowRemoteNodeIdentities}` move under `encryption.strictMode.egress` (1.20 ignores the old ones)."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import Policy, text_of
from codemod.documents import Mapping, Node, deref
from codemod.edits import Nest
from codemod.helm import HELM_VALUES, is_full_copy, lookup
from codemod.rule import Context, Finding

OLD_KEYS = ("enabled", "cidr", "allowRemoteNodeIdentities")
DEFAULTS = {"enabled": "false", "cidr": "", "allowRemoteNodeIdentities": "false"}


class StrictModeEgressKeys:
    id = "strict-mode-egress-keys"
    summary = "encryption.strictMode.{enabled,cidr,allowRemoteNodeIdentities} moved under strictMode.egress"
    fixable = True
    needs_decision = False
    severity = "warning"
    versions = ("1.19", "1.20")
    kinds = (HELM_VALUES,)
    explanation = """
Cilium 1.19 deprecates `encryption.strictMode.enabled`, `.cidr` and `.allowRemoteNodeIdentities` in favour
of the same keys under `encryption.strictMode.egress`, and 1.20 silently ignores the old ones: strict mode
quietly switches off. The keys are moved, never copied (old and new `enabled` together render duplicate
ConfigMap keys), with their comments; `strictMode.ingress` (WireGuard and tunnelling only) is never
touched. A value that sets both an old key and its new one is reported for a hand edit. In a full copy of
the chart's defaults, old keys still at their default values are left alone.
"""
    before = """
encryption:
  enabled: true
  type: wireguard
  strictMode:
    enabled: true            # pod traffic must be encrypted
    cidr: 10.0.0.0/8
    allowRemoteNodeIdentities: false
"""
    after = """
encryption:
  enabled: true
  type: wireguard
  strictMode:
    egress:
      enabled: true            # pod traffic must be encrypted
      cidr: 10.0.0.0/8
      allowRemoteNodeIdentities: false
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        _, node = lookup(policy.node, ("encryption", "strictMode"))
        strict = deref(node)
        if not isinstance(strict, Mapping):
            return
        present = [k for k in OLD_KEYS if strict.own(k) is not None]
        if not present:
            return
        if is_full_copy(policy.node) and all(_text(strict.own(k)) == DEFAULTS[k] for k in present):
            return
        egress = deref(strict.get("egress"))
        clash = [k for k in present if isinstance(egress, Mapping) and egress.get(k) is not None]
        path = (*policy.path, "encryption", "strictMode")
        key = strict.key_node(present[0])
        assert key is not None
        old = present[0] if len(present) == 1 else "{" + ",".join(present) + "}"
        if clash:
            yield context.finding(self.id, policy, (*path, present[0]), key,
                                  f"strictMode sets {', '.join(clash)} both at the old place and under egress: "
                                  "keep one (both render duplicate ConfigMap keys on 1.19; 1.20 ignores the old)")
            return
        block = not strict.flow and (egress is None or (isinstance(egress, Mapping) and not egress.flow))
        message = (f"encryption.strictMode.{old} belong{'s' if len(present) == 1 else ''} under strictMode.egress "
                   "since Cilium 1.19; 1.20 ignores the old place and strict mode switches off")
        fix = [Nest(policy.document.index, path, tuple(present), "egress")] if block else []
        yield context.finding(self.id, policy, (*path, present[0]), key,
                              message if block else message + " (flow style: move them by hand)",
                              fix=fix, fixable=block)


def _text(node: Node | None) -> str | None:
    return text_of(node)
