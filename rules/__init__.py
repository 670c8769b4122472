"""The built-in rules, one module each; `codemod.rule.Rule` is the interface they implement."""

from __future__ import annotations

from rules.bgp_v1_removed import BgpV1Removed
from rules.helm_removed_keys import HelmRemovedKeys
from rules.helm_renamed_keys import HelmRenamedKeys
from rules.implicit_cluster_selector import ImplicitClusterSelector
from rules.invalid_cluster_wildcard import InvalidClusterWildcard
from rules.ipblock_peer import IpBlockPeer
from rules.kafka_l7_deprecated import KafkaL7Deprecated
from rules.lb_ippool_v2alpha1 import LbIpPoolV2alpha1
from rules.mesh_auth_default import MeshAuthDefault
from rules.policy_default_local_cluster import PolicyDefaultLocalCluster
from rules.requires_removed import RequiresRemoved
from rules.strict_mode_egress_keys import StrictModeEgressKeys
from rules.to_services_local import ToServicesLocal

# Policy rules first (the cluster default, then other policy breaks), then other kinds, then Helm values.
BUILTIN = (
    ImplicitClusterSelector, InvalidClusterWildcard, RequiresRemoved, ToServicesLocal, IpBlockPeer,
    KafkaL7Deprecated, BgpV1Removed, LbIpPoolV2alpha1,
    StrictModeEgressKeys, HelmRenamedKeys, HelmRemovedKeys, MeshAuthDefault, PolicyDefaultLocalCluster,
)

__all__ = [
    "BUILTIN", "BgpV1Removed", "HelmRemovedKeys", "HelmRenamedKeys", "ImplicitClusterSelector",
    "InvalidClusterWildcard", "IpBlockPeer", "KafkaL7Deprecated", "LbIpPoolV2alpha1", "MeshAuthDefault",
    "PolicyDefaultLocalCluster", "RequiresRemoved", "StrictModeEgressKeys", "ToServicesLocal",
]
