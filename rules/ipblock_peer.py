"""NetworkPolicy ingress ipBlock-only peers: they cannot carry a cluster selector, and 1.18/1.19-era agents
also admit same-namespace local pods through them. Reported for review, never rewritten, and informational:
nothing in the file can change it, so it does not hold the exit status at 1."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import KNP, Policy, sections
from codemod.documents import Mapping, Sequence, deref
from codemod.rule import Context, Finding


class IpBlockPeer:
    id = "ipblock-peer"
    summary = "NetworkPolicy ingress ipBlock peer: no cluster selector possible; agent quirk admits local pods"
    fixable = False
    needs_decision = False
    severity = "info"
    versions = ("1.19",)
    explanation = """
A NetworkPolicy ingress peer that is only an `ipBlock` cannot carry a cluster selector, so nothing in the
file can make it explicit. Cilium 1.18/1.19-era agents also admit same-namespace local pods through such a
peer. Informational: it never holds the exit status at 1.
"""
    before = """
ingress:
  - from:
      - ipBlock:
          cidr: 10.40.0.0/24
"""
    after = """
# unchanged: review by hand
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        if policy.kind != KNP:
            return
        for path, section, entry in sections(policy):
            peers = deref(entry.get("from")) if section == "ingress" else None
            if not isinstance(peers, Sequence):
                continue
            for i, item in enumerate(peers.items):
                peer = deref(item)
                if not isinstance(peer, Mapping) or peer.get("ipBlock") is None:
                    continue
                if peer.get("podSelector") is not None or peer.get("namespaceSelector") is not None:
                    continue
                yield context.finding(
                    self.id, policy, (*path, "from", i), item,
                    "ipBlock peer cannot name a cluster and is never rewritten; Cilium 1.18/1.19 agents also "
                    "admit same-namespace local pods through an ingress ipBlock-only peer: review by hand",
                    direction="ingress", deny=False, severity="info")
