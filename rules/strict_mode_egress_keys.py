"""Strict-mode encryption keys renamed in Cilium 1.19: `encryption.strictMode.{enabled,cidr,
allowRemoteNodeIdentities}` move under `encryption.strictMode.egress` (1.20 ignores the old ones)."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import Policy, text_of
from codemod.documents import Mapping, deref
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
        merged = [k for k in OLD_KEYS if strict.get(k) is not None and strict.own(k) is None]
        if not present and not merged:
            return
        path = (*policy.path, "encryption", "strictMode")
        if merged:
            where = strict.key_node(present[0]) if present else None
            yield context.finding(self.id, policy, (*path, merged[0]), where or node or strict,
                                  f"encryption.strictMode.{merged[0]} comes from a YAML merge key (<<) and belongs "
                                  "under strictMode.egress since Cilium 1.19: move it by hand")
            return
        if is_full_copy(policy.node) and all(text_of(strict.own(k)) == DEFAULTS[k] for k in present):
            return
        egress = deref(strict.get("egress"))
        clash = [k for k in present if isinstance(egress, Mapping) and egress.get(k) is not None]
        key = strict.key_node(present[0])
        assert key is not None
        old = present[0] if len(present) == 1 else "{" + ",".join(present) + "}"
        if clash:
            yield context.finding(self.id, policy, (*path, present[0]), key,
                                  f"strictMode sets {', '.join(clash)} both at the old place and under egress: "
                                  "keep one (both render duplicate ConfigMap keys on 1.19; 1.20 ignores the old)")
            return
        message = (f"encryption.strictMode.{old} belong{'s' if len(present) == 1 else ''} under strictMode.egress "
                   "since Cilium 1.19; 1.20 ignores the old place and strict mode switches off")
        if strict.flow:
            why = " (flow style: move them by hand)"
        elif egress is not None and not (isinstance(egress, Mapping) and egress.pairs and not egress.flow):
            why = " (egress is written empty or in flow style: move them under it by hand)"
        else:
            why = ""
        fix = [] if why else [Nest(policy.document.index, path, tuple(present), "egress")]
        yield context.finding(self.id, policy, (*path, present[0]), key, message + why, fix=fix, fixable=not why)

