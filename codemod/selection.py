"""Which endpoints a policy's selectors select, evaluated on the labels Hubble reports for a flow's ends.

Kubernetes label-selector semantics as Cilium applies them (`cilium-facts.md` §1): a selector key without a
source prefix matches a label of any source; CiliumNetworkPolicy peers that do not name the namespace are
limited to the policy's namespace, clusterwide ones are not; a NetworkPolicy peer's namespaceSelector becomes
namespace labels. `default_local=True` evaluates as Cilium 1.19 does, adding the enforcing cluster to every
peer that names none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from codemod.cilium import (
    CCNP,
    CILIUM_SECTIONS,
    KNP,
    KNP_SECTIONS,
    REQUIRES_FIELDS,
    Peer,
    Policy,
    peers,
    relies_on_default,
    rules_of,
)
from codemod.documents import Path as DocPath
from codemod.documents import format_path, to_data

NAMESPACE_KEY = "io.kubernetes.pod.namespace"
NAMESPACE_LABELS = "io.cilium.k8s.namespace.labels."
CLUSTER_KEY = "io.cilium.k8s.policy.cluster"
_ANY = "any"


@dataclass(frozen=True)
class Requirement:
    source: str  # "any" matches every source
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, list[tuple[str, str]]]) -> bool:
        found = [value for source, value in labels.get(self.key, ()) if self.source in (_ANY, source)]
        if self.operator == "In":
            return any(v in self.values for v in found)
        if self.operator == "NotIn":
            return not any(v in self.values for v in found)
        if self.operator == "Exists":
            return bool(found)
        if self.operator == "DoesNotExist":
            return not found
        return False  # an unknown operator selects nothing (the API server would reject it)


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False  # a malformed selector (Cilium refuses the policy)

    def matches(self, labels: tuple[str, ...]) -> bool:
        if self.nothing:
            return False
        index = label_index(labels)
        return all(r.matches(index) for r in self.requirements)

    def names(self, key: str) -> bool:
        """Whether a requirement is on `key` as Cilium reads it (`k8s:` or any source)."""
        return any(r.key == key and r.source in ("k8s", _ANY) for r in self.requirements)

    def without(self, key: str) -> Selector:
        return Selector(tuple(r for r in self.requirements if r.key != key), self.nothing)

    def plus(self, *extra: Requirement) -> Selector:
        return Selector((*self.requirements, *extra), self.nothing)


@lru_cache(maxsize=8192)
def label_index(labels: tuple[str, ...]) -> dict[str, list[tuple[str, str]]]:
    """`k8s:app=web` → {"app": [("k8s", "web")]}; a label without a value has value ""."""
    index: dict[str, list[tuple[str, str]]] = {}
    for label in labels:
        source, colon, rest = label.partition(":")
        if not colon:
            source, rest = "unspec", label
        key, _, value = rest.partition("=")
        index.setdefault(key, []).append((source, value))
    return index


def _split_key(key: str) -> tuple[str, str]:
    source, colon, rest = key.partition(":")
    return (source, rest) if colon else (_ANY, key)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def selector(data: object, key_prefix: str = "") -> Selector:
    """A Kubernetes LabelSelector (`matchLabels` / `matchExpressions`) from plain data. `key_prefix` turns
    namespace-selector keys into the namespace labels Cilium gives each pod."""
    if data is None:
        return Selector()
    if not isinstance(data, dict):
        return Selector(nothing=True)
    out: list[Requirement] = []
    labels = data.get("matchLabels")
    if isinstance(labels, dict):
        for key, value in labels.items():
            source, name = _split_key(str(key))
            out.append(Requirement(source, key_prefix + name, "In", frozenset({_text(value)})))
    expressions = data.get("matchExpressions")
    if isinstance(expressions, list):
        for item in expressions:
            if not isinstance(item, dict) or "key" not in item:
                return Selector(nothing=True)
            source, name = _split_key(str(item["key"]))
            values = item.get("values") or []
            out.append(Requirement(source, key_prefix + name, str(item.get("operator", "")),
                                   frozenset(_text(v) for v in values) if isinstance(values, list) else frozenset()))
    return Selector(tuple(out))


# ---------------------------------------------------------------- ports


@dataclass(frozen=True)
class PortRange:
    protocol: str  # TCP, UDP, SCTP, ANY
    first: int  # 0: every port
    last: int

    def matches(self, protocol: str, port: int) -> bool:
        if self.protocol not in ("ANY", "", protocol) or protocol not in ("TCP", "UDP", "SCTP"):
            return False
        return self.first == 0 or self.first <= port <= self.last


@dataclass(frozen=True)
class Ports:
    """The L4 part of a rule; `None` ranges (no toPorts, icmps or ports) means every port."""

    ranges: tuple[PortRange, ...] | None = None
    icmp: bool = False

    def matches(self, protocol: str, port: int) -> bool:
        if self.ranges is None and not self.icmp:
            return True
        if protocol in ("ICMPv4", "ICMPv6"):
            return self.icmp
        return any(r.matches(protocol, port) for r in self.ranges or ())


def _port_range(protocol: object, port: object, end: object, default: str) -> PortRange:
    proto = str(protocol or default).upper()
    text = _text(port)
    if not text or not text.isdigit():  # absent, or a named port this tool cannot resolve: assume it fits
        return PortRange(proto, 0, 0)
    first = int(text)
    last = int(_text(end)) if _text(end).isdigit() and int(_text(end)) >= first else first
    return PortRange(proto, first, last)


def cilium_ports(entry: dict[str, Any]) -> Ports:
    to_ports, icmps = entry.get("toPorts"), entry.get("icmps")
    if not to_ports and not icmps:
        return Ports()
    ranges: list[PortRange] = []
    for item in _items(to_ports):
        ports = item.get("ports") if isinstance(item, dict) else None
        if not ports:
            ranges.append(PortRange("ANY", 0, 0))  # toPorts with only L7 rules or nothing: every port
            continue
        for p in _items(ports):
            if isinstance(p, dict):
                ranges.append(_port_range(p.get("protocol"), p.get("port"), p.get("endPort"), "ANY"))
    return Ports(tuple(ranges), icmp=bool(icmps))


def knp_ports(entry: dict[str, Any]) -> Ports:
    ports = entry.get("ports")
    if not ports:
        return Ports()
    return Ports(tuple(_port_range(p.get("protocol"), p.get("port"), p.get("endPort"), "TCP")
                       for p in _items(ports) if isinstance(p, dict)))


def _items(value: object) -> list[Any]:
    """A list field as written; anything else (which the API server would refuse) holds nothing."""
    return value if isinstance(value, list) else []


# ---------------------------------------------------------------- policies


@dataclass
class PeerModel:
    """One peer selector, ready to be matched, and where it is written."""

    path: str  # as `scan` prints it
    field: str
    selector: Selector
    implicit: bool  # relies on the cluster default
    peer: Peer
    nodes: bool = False  # fromNodes / toNodes: selects nodes, never pods

    def matches(self, labels: tuple[str, ...], enforcing_cluster: str | None, default_local: bool) -> bool:
        """As Cilium 1.18 evaluates it, or (`default_local`) as 1.19 does: an implicit peer gets the local
        cluster added (written over a NetworkPolicy's empty cluster value)."""
        if self.nodes and not _is_node(labels):
            return False
        if not (default_local and self.implicit):
            return self.selector.matches(labels)
        if not self.selector.without(CLUSTER_KEY).matches(labels):
            return False
        return (enforcing_cluster or "") in [v for _, v in label_index(labels).get(CLUSTER_KEY, ())]


@dataclass
class RuleModel:
    direction: str
    deny: bool
    subject: Selector | None  # None: a host policy (nodeSelector), which flows cannot be matched to
    ports: Ports
    peers: list[PeerModel]
    entities: frozenset[str] = frozenset()


@dataclass
class PolicyModel:
    policy: Policy
    file: str
    rules: list[RuleModel] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return self.policy.namespace or "", self.policy.name


def model(policy: Policy, file: str, namespace: str | None = None) -> PolicyModel:
    """The policy's rules as matchers; the peers keep their place in the document for reporting.
    `namespace`: where a namespaced policy without `metadata.namespace` is taken to be deployed."""
    found = {format_path(p.path): p for p in peers(policy)}
    out = PolicyModel(policy, file)
    namespace = policy.namespace or namespace or "default"
    for rule_path, rule_node in rules_of(policy):
        rule = to_data(rule_node)
        if not isinstance(rule, dict):
            continue
        subject = _subject(policy, rule, namespace)
        sections = KNP_SECTIONS if policy.kind == KNP else CILIUM_SECTIONS
        for section in sections:
            entries = rule.get(section)
            if not isinstance(entries, list):
                continue
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    continue
                base = (*rule_path, section, i)
                if policy.kind == KNP:
                    out.rules.append(_knp_rule(section, entry, subject, namespace, base, found))
                else:
                    out.rules.append(_cilium_rule(policy, section, entry, subject, namespace, base, found))
    return out


def _subject(policy: Policy, rule: dict[str, Any], namespace: str) -> Selector | None:
    if policy.kind == KNP:
        data = rule.get("podSelector")
    elif "endpointSelector" in rule:
        data = rule.get("endpointSelector")
    else:
        return None
    subject = selector(data if data is not None else {})
    if policy.kind != CCNP:  # a namespaced policy applies to its own namespace only, whatever it says
        subject = subject.without(NAMESPACE_KEY).plus(Requirement("k8s", NAMESPACE_KEY, "In", frozenset({namespace})))
    return subject


def _cilium_rule(policy: Policy, section: str, entry: dict[str, Any], subject: Selector | None, namespace: str,
                 base: DocPath, found: dict[str, Peer]) -> RuleModel:
    direction, deny, fields = CILIUM_SECTIONS[section]
    models: list[PeerModel] = []
    for field_name in fields:
        if field_name in REQUIRES_FIELDS:
            continue  # they only narrow what other peers allow (and are gone in 1.19)
        items = entry.get(field_name)
        for i, item in enumerate(items if isinstance(items, list) else []):
            path = format_path((*base, field_name, i))
            peer = found.get(path)
            if peer is None:
                continue
            sel = selector(item)
            nodes = field_name in ("fromNodes", "toNodes")
            if not nodes:
                sel = _default_namespace(sel, None if policy.kind == CCNP else namespace)
            models.append(PeerModel(path, field_name, sel, relies_on_default(peer), peer, nodes))
    entities = entry.get("fromEntities" if direction == "ingress" else "toEntities")
    named = frozenset(str(e) for e in entities) if isinstance(entities, list) else frozenset()
    peer_fields = _INGRESS_PEERS if direction == "ingress" else _EGRESS_PEERS
    if not any(key in entry for key in peer_fields) and (entry.get("toPorts") or entry.get("icmps")):
        named = frozenset({"all"})  # an L4-only rule selects every peer; an empty one (`- {}`) none
    return RuleModel(direction, deny, subject, cilium_ports(entry), models, named)


_INGRESS_PEERS = ("fromEndpoints", "fromNodes", "fromRequires", "fromEntities", "fromCIDR", "fromCIDRSet",
                  "fromGroups")
_EGRESS_PEERS = ("toEndpoints", "toNodes", "toRequires", "toEntities", "toCIDR", "toCIDRSet", "toFQDNs",
                 "toServices", "toGroups")


def _k8s_only(sel: Selector) -> Selector:
    """NetworkPolicy keys carry no source prefix; Cilium reads them all as `k8s:` labels."""
    return Selector(tuple(Requirement("k8s", r.key, r.operator, r.values) for r in sel.requirements), sel.nothing)


def _default_namespace(sel: Selector, namespace: str | None) -> Selector:
    """Cilium limits an endpoint peer that names no namespace: to the policy's namespace (namespaced
    policies), or to pods at all (clusterwide). Reserved peers and namespace-label peers are left as written."""
    if any(r.source == "reserved" for r in sel.requirements) or sel.names(NAMESPACE_KEY):
        return sel
    if namespace is None:
        return sel.plus(Requirement("k8s", NAMESPACE_KEY, "Exists"))
    if any(r.key.startswith(NAMESPACE_LABELS) and r.source in ("k8s", _ANY) for r in sel.requirements):
        return sel
    return sel.plus(Requirement("k8s", NAMESPACE_KEY, "In", frozenset({namespace})))


def _knp_rule(section: str, entry: dict[str, Any], subject: Selector | None, namespace: str, base: DocPath,
              found: dict[str, Peer]) -> RuleModel:
    direction, field_name = KNP_SECTIONS[section]
    models: list[PeerModel] = []
    items = entry.get(field_name)
    for i, item in enumerate(items if isinstance(items, list) else []):
        path = format_path((*base, field_name, i))
        peer = found.get(path)
        if peer is None or not isinstance(item, dict):
            continue
        sel = _k8s_only(selector(item.get("podSelector") or {}))
        if item.get("namespaceSelector") is not None:
            namespaces = _k8s_only(selector(item["namespaceSelector"], NAMESPACE_LABELS))
            sel = sel.plus(*(namespaces.requirements or (Requirement("k8s", NAMESPACE_KEY, "Exists"),)))
        else:  # Cilium sets the pod's namespace to the policy's, over anything the podSelector says
            sel = sel.without(NAMESPACE_KEY).plus(Requirement("k8s", NAMESPACE_KEY, "In", frozenset({namespace})))
        models.append(PeerModel(path, field_name, sel, relies_on_default(peer), peer))
    if items is None or items == []:  # no `from`/`to`: every peer, in every cluster
        return RuleModel(direction, False, subject, knp_ports(entry), models, frozenset({"all"}))
    return RuleModel(direction, False, subject, knp_ports(entry), models)


# ---------------------------------------------------------------- matching a flow


def _is_node(labels: tuple[str, ...]) -> bool:
    """Cilium adds `reserved:remote-node Exists` to every node peer."""
    return "reserved:remote-node" in labels


@dataclass(frozen=True)
class Match:
    policy: PolicyModel
    rule: RuleModel
    peer: PeerModel | None  # None: an entity (or a peer-less NetworkPolicy rule) allowed it


def matching(models: Iterable[PolicyModel], direction: str, enforcing: tuple[str, ...], peer: tuple[str, ...],
             protocol: str, port: int, enforcing_cluster: str | None, default_local: bool,
             peer_local: bool = False) -> Iterator[Match]:
    """Every allow-or-deny rule peer of `models` that selects this flow at the enforcing endpoint.

    `peer_local`: the peer is in the enforcing cluster (decides the `cluster` entity).
    """
    for policy in models:
        for rule in policy.rules:
            if rule.direction != direction or rule.subject is None or not rule.subject.matches(enforcing):
                continue
            if not rule.ports.matches(protocol, port):
                continue
            for p in rule.peers:
                if p.matches(peer, enforcing_cluster, default_local):
                    yield Match(policy, rule, p)
            if rule.entities and _entity_matches(rule.entities, peer, peer_local):
                yield Match(policy, rule, None)


# The reserved identities each entity selects (Cilium's pkg/policy/api/entity.go).
_WORLD = frozenset({"world", "world-ipv4", "world-ipv6"})
_CLUSTER = frozenset({"host", "remote-node", "init", "ingress", "health", "unmanaged", "kube-apiserver"})
_ENTITIES = {"world": _WORLD, "world-ipv4": frozenset({"world", "world-ipv4"}),
             "world-ipv6": frozenset({"world", "world-ipv6"}), "cluster": _CLUSTER,
             **{name: frozenset({name}) for name in _CLUSTER}}


def _entity_matches(entities: frozenset[str], labels: tuple[str, ...], peer_local: bool) -> bool:
    if "all" in entities:
        return True
    if "cluster" in entities and peer_local:
        return True  # the pods of the local cluster (a remote cluster's pods are never `cluster`)
    index = label_index(labels)
    reserved = {key for key, values in index.items() if any(source == "reserved" for source, _ in values)}
    return any(reserved & _ENTITIES.get(e, frozenset()) for e in entities)


# ---------------------------------------------------------------- identities outside any cluster

# Identities that carry no cluster label (cilium-facts.md §3): the reserved ones, and a CIDR identity.
CLUSTERLESS: tuple[tuple[str, ...], ...] = (
    ("reserved:world",), ("reserved:host",), ("reserved:kube-apiserver",), ("reserved:health",),
    ("reserved:init",), ("reserved:unmanaged",), ("reserved:ingress",), ("cidr:10.0.0.0/8", "reserved:world"),
)


def admits_clusterless(peer: Peer) -> bool:
    """Whether the endpoint peer, as Cilium 1.18 builds it, also selects identities that carry no cluster
    label (world, host, a CIDR): a selector made only of NotIn/DoesNotExist that names the namespace itself,
    so that Cilium adds no namespace. Neither 1.19's local default nor the all-clusters form (`Exists`)
    selects those identities any more."""
    data = to_data(peer.node)
    if not isinstance(data, dict) or peer.field not in ("fromEndpoints", "toEndpoints", "from", "to"):
        return False
    if peer.policy.kind == KNP:
        if data.get("namespaceSelector") is None:
            return False  # Cilium sets the policy's namespace: pods only
        sel = _k8s_only(selector(data.get("podSelector") or {}))
        namespaces = _k8s_only(selector(data["namespaceSelector"], NAMESPACE_LABELS))
        sel = sel.plus(*(namespaces.requirements or (Requirement("k8s", NAMESPACE_KEY, "Exists"),)))
    else:
        namespace = None if peer.policy.kind == CCNP else peer.policy.namespace or "default"
        sel = _default_namespace(selector(data), namespace)
    return any(sel.matches(labels) for labels in CLUSTERLESS)
