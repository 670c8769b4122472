"""The built-in rules, one module each; `codemod.rule.Rule` is the interface they implement."""

from __future__ import annotations

from rules.bgp_v1_removed import BgpV1Removed
from rules.implicit_cluster_selector import ImplicitClusterSelector
from rules.invalid_cluster_wildcard import InvalidClusterWildcard
from rules.ipblock_peer import IpBlockPeer
from rules.kafka_l7_deprecated import KafkaL7Deprecated
from rules.lb_ippool_v2alpha1 import LbIpPoolV2alpha1
from rules.requires_removed import RequiresRemoved
from rules.to_services_local import ToServicesLocal

BUILTIN = (ImplicitClusterSelector, InvalidClusterWildcard, RequiresRemoved, ToServicesLocal, IpBlockPeer,
           BgpV1Removed, KafkaL7Deprecated, LbIpPoolV2alpha1)

__all__ = [
    "BUILTIN", "BgpV1Removed", "ImplicitClusterSelector", "InvalidClusterWildcard", "IpBlockPeer", "KafkaL7Deprecated",
    "LbIpPoolV2alpha1", "RequiresRemoved", "ToServicesLocal",
]
