"""CiliumBGPPeeringPolicy (BGPv1, `cilium.io/v2alpha1`): removed in Cilium 1.19."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import Policy
from codemod.rule import Context, Finding

KIND = "CiliumBGPPeeringPolicy"


class BgpV1Removed:
    id = "bgp-v1-removed"
    summary = "CiliumBGPPeeringPolicy (BGPv1) is removed in Cilium 1.19; move to the cilium.io/v2 BGP resources"
    fixable = False
    needs_decision = False
    severity = "error"
    versions = ("1.19", "1.20")
    kinds = (KIND,)
    explanation = """
Cilium 1.19 removes the BGPv1 control plane and its CiliumBGPPeeringPolicy resource: the CRD is gone, so
the manifest no longer applies and the agent stops peering. Move each virtual router to the BGPv2
resources (`cilium.io/v2`): CiliumBGPClusterConfig (which nodes peer, with which ASN and peers),
CiliumBGPPeerConfig (timers, graceful restart, address families) and CiliumBGPAdvertisement (what is
announced). Reported only: the mapping is not one to one.
"""
    before = """
apiVersion: cilium.io/v2alpha1
kind: CiliumBGPPeeringPolicy
metadata: {name: rack0}
spec:
  nodeSelector: {matchLabels: {rack: rack0}}
  virtualRouters:
    - localASN: 64512
      neighbors:
        - peerAddress: 10.0.0.1/32
          peerASN: 64512
"""
    after = """
apiVersion: cilium.io/v2
kind: CiliumBGPClusterConfig
metadata: {name: rack0}
spec:
  nodeSelector: {matchLabels: {rack: rack0}}
  bgpInstances:
    - name: rack0
      localASN: 64512
      peers:
        - name: tor
          peerAddress: 10.0.0.1
          peerASN: 64512
          peerConfigRef: {name: rack0-peer}   # a CiliumBGPPeerConfig, plus CiliumBGPAdvertisement objects
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        node = policy.node.key_node("kind") or policy.node
        yield context.finding(self.id, policy, (*policy.path, "kind"), node,
                              "CiliumBGPPeeringPolicy (BGPv1) is removed in Cilium 1.19: the resource no longer "
                              "applies; move it to CiliumBGPClusterConfig, CiliumBGPPeerConfig and "
                              "CiliumBGPAdvertisement (cilium.io/v2)")
