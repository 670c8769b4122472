"""The built-in rules, one module each; `codemod.rule.Rule` is the interface they implement."""

from __future__ import annotations

from rules.implicit_cluster_selector import ImplicitClusterSelector
from rules.invalid_cluster_wildcard import InvalidClusterWildcard
from rules.ipblock_peer import IpBlockPeer
from rules.requires_removed import RequiresRemoved
from rules.to_services_local import ToServicesLocal

BUILTIN = (ImplicitClusterSelector, InvalidClusterWildcard, RequiresRemoved, ToServicesLocal, IpBlockPeer)

__all__ = [
    "BUILTIN", "ImplicitClusterSelector", "InvalidClusterWildcard", "IpBlockPeer", "RequiresRemoved", "ToServicesLocal",
]
