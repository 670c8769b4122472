"""The semantic oracle's model (`tests/semantics.py`) on its own: hand-written cases with the admitted sets.

Per selector kind and operator, a peer on a small hand-made universe and the exact set of endpoints it admits
on Cilium 1.18 (`None`) and on 1.19 enforcing in a cluster. Each expected set is exact (neither "everything"
nor only "nothing"), and `test_the_table_catches_a_broken_model` checks that each of several plausible
mistakes in the model makes at least one row fail, so a bug in the oracle shows up here rather than as a
"rewrite bug" in the property test. The generated universe of the property test is checked here too: its
masks agree with the per-endpoint definition, and it tells apart every pair of distinct single requirements.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from tests import semantics
from tests.semantics import CCNP, CNP, KNP, Endpoint, InvalidSelector, Peer, Requirement, Universe, endpoint
from tests.test_properties import KNP_KEYS, PLAIN_KEYS, UNIVERSE, UNIVERSE_CLUSTERS, UNIVERSE_NAMESPACES, VALUES

CK = semantics.CLUSTER_KEY
NS = semantics.NAMESPACE_KEY
NSL = semantics.NAMESPACE_LABELS
NAMESPACE_LABELS = {"shop": {"team": "a"}, "prod": {"team": "b"}, "dev": {}}
NAMED_NAMESPACES = set(UNIVERSE_NAMESPACES)


def pod(name: str, *labels: str) -> Endpoint:
    """`pod("east/shop/web", "k8s:app=web")`: a pod with its namespace, cluster and namespace labels."""
    cluster, ns, _ = name.split("/")
    ns_labels = {"kubernetes.io/metadata.name": ns, **NAMESPACE_LABELS[ns]}
    return endpoint(name, f"k8s:{NS}={ns}", f"k8s:{CK}={cluster}",
                    *(f"k8s:{NSL}{k}={v}" for k, v in ns_labels.items()), *labels)


def small_universe() -> Universe:
    return Universe([
        pod("east/shop/web", "k8s:app=web", "k8s:tier=front"),
        pod("east/shop/db", "k8s:app=db"),
        pod("east/shop/none"),
        pod("east/shop/cweb", "container:app=web"),  # its app label comes from another source
        pod("east/prod/web", "k8s:app=web"),
        pod("east/dev/web", "k8s:app=web"),
        pod("west/shop/web", "k8s:app=web"),
        pod("west/prod/db", "k8s:app=db"),
        endpoint("east/node", "reserved:remote-node", f"k8s:{CK}=east", "node:role=worker"),
        endpoint("west/node", "reserved:remote-node", f"k8s:{CK}=west", "node:role=edge"),
        endpoint("world", "reserved:world"),
        endpoint("host", "reserved:host"),
        endpoint("kube-apiserver", "reserved:kube-apiserver", "reserved:world"),
    ])


SHOP = {"east/shop/web", "east/shop/db", "east/shop/none", "east/shop/cweb", "west/shop/web"}
EAST_SHOP = {n for n in SHOP if n.startswith("east/")}
PODS = SHOP | {"east/prod/web", "east/dev/web", "west/prod/db"}
NODES = {"east/node", "west/node"}
RESERVED = {"world", "host", "kube-apiserver"}


def cilium(peer: Any, *, kind: str = CNP, field: str = "fromEndpoints", namespace: str = "shop") -> Peer:
    """The one peer of a policy `spec: {endpointSelector: {}, <section>: [{<field>: [peer]}]}`."""
    section = "ingress" if field.startswith("from") else "egress"
    meta = {"name": "p", "namespace": namespace} if kind == CNP else {"name": "p"}
    doc = {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta,
           "spec": {"endpointSelector": {}, section: [{field: [peer]}]}}
    (found,) = semantics.peers([doc])
    return found


def knp(peer: Any, *, namespace: str = "shop") -> Peer:
    doc = {"apiVersion": "networking.k8s.io/v1", "kind": KNP, "metadata": {"name": "p", "namespace": namespace},
           "spec": {"podSelector": {}, "ingress": [{"from": [peer]}]}}
    (found,) = semantics.peers([doc])
    return found


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        out["values"] = list(values)
    return out


# (row id, peer, enforcing cluster or None for 1.18, exact admitted set)
TABLE: list[tuple[str, Peer, str | None, set[str]]] = [
    # --- label operators and key sources (CiliumNetworkPolicy fromEndpoints in `shop`, Cilium 1.18)
    ("matchLabels bare key reads every source", cilium({"matchLabels": {"app": "web"}}), None,
     {"east/shop/web", "east/shop/cweb", "west/shop/web"}),
    ("matchLabels k8s: key", cilium({"matchLabels": {"k8s:app": "web"}}), None, {"east/shop/web", "west/shop/web"}),
    ("matchLabels any: key", cilium({"matchLabels": {"any:app": "web"}}), None,
     {"east/shop/web", "east/shop/cweb", "west/shop/web"}),
    ("matchLabels other source", cilium({"matchLabels": {"container:app": "web"}}), None, {"east/shop/cweb"}),
    ("matchLabels unspec: reads like any:", cilium({"matchLabels": {"unspec:app": "web"}}), None,
     {"east/shop/web", "east/shop/cweb", "west/shop/web"}),
    ("two labels", cilium({"matchLabels": {"k8s:app": "web", "tier": "front"}}), None, {"east/shop/web"}),
    ("In", cilium({"matchExpressions": [expr("app", "In", "web", "db")]}), None,
     {"east/shop/web", "east/shop/db", "east/shop/cweb", "west/shop/web"}),
    ("NotIn holds without the key", cilium({"matchExpressions": [expr("k8s:app", "NotIn", "web")]}), None,
     {"east/shop/db", "east/shop/none", "east/shop/cweb"}),
    ("Exists", cilium({"matchExpressions": [expr("app", "Exists")]}), None,
     {"east/shop/web", "east/shop/db", "east/shop/cweb", "west/shop/web"}),
    ("DoesNotExist", cilium({"matchExpressions": [expr("k8s:app", "DoesNotExist")]}), None,
     {"east/shop/none", "east/shop/cweb"}),
    ("matchLabels and matchExpressions both hold",
     cilium({"matchLabels": {"app": "web"}, "matchExpressions": [expr("tier", "DoesNotExist")]}), None,
     {"east/shop/cweb", "west/shop/web"}),
    # --- namespace defaulting (CiliumNetworkPolicy)
    ("{} is the policy's namespace, every cluster", cilium({}), None, SHOP),
    ("{} in another namespace", cilium({}, namespace="prod"), None, {"east/prod/web", "west/prod/db"}),
    ("a namespace label replaces the default", cilium({"matchLabels": {f"k8s:{NS}": "prod"}}), None,
     {"east/prod/web", "west/prod/db"}),
    ("the bare namespace key too", cilium({"matchLabels": {NS: "prod"}}), None, {"east/prod/web", "west/prod/db"}),
    ("unspec: does not name the namespace", cilium({"matchLabels": {f"unspec:{NS}": "prod"}}), None, set()),
    ("excluding namespaces also admits what has none",
     cilium({"matchExpressions": [expr(NS, "NotIn", "shop")]}), None,
     {"east/prod/web", "east/dev/web", "west/prod/db"} | NODES | RESERVED),
    ("namespace labels replace the default", cilium({"matchLabels": {f"{NSL}team": "b"}}), None,
     {"east/prod/web", "west/prod/db"}),
    # --- the cluster default (Cilium 1.19)
    ("{} on 1.19 is the local cluster only", cilium({}), "east", EAST_SHOP),
    ("{} on 1.19 enforcing in west", cilium({}), "west", {"west/shop/web"}),
    ("excluding namespaces on 1.19: local cluster, no reserved identity",
     cilium({"matchExpressions": [expr(NS, "NotIn", "shop")]}), "east", {"east/prod/web", "east/dev/web", "east/node"}),
    ("explicit cluster label, 1.18", cilium({"matchLabels": {"app": "web", CK: "west"}}), None, {"west/shop/web"}),
    ("explicit cluster label, 1.19", cilium({"matchLabels": {"app": "web", CK: "west"}}), "east", {"west/shop/web"}),
    ("explicit k8s: cluster expression, 1.19", cilium({"matchExpressions": [expr(f"k8s:{CK}", "In", "west")]}),
     "east", {"west/shop/web"}),
    ("explicit any: cluster NotIn, 1.19", cilium({"matchExpressions": [expr(f"any:{CK}", "NotIn", "west")]}),
     "east", EAST_SHOP),
    ("the all-clusters form on 1.19 is {} on 1.18", cilium({"matchExpressions": [expr(CK, "Exists")]}),
     "east", SHOP),
    ("unspec: cluster key matches (1.18)", cilium({"matchLabels": {f"unspec:{CK}": "west"}}), None,
     {"west/shop/web"}),
    ("unspec: cluster key is not explicit (1.19)", cilium({"matchLabels": {f"unspec:{CK}": "east"}}), "west",
     set()),
    # --- reserved keys: as written, no namespace, no cluster
    ("reserved:host", cilium({"matchLabels": {"reserved:host": ""}}), None, {"host"}),
    ("reserved:world on 1.19", cilium({"matchLabels": {"reserved:world": ""}}), "east", {"world", "kube-apiserver"}),
    ("reserved: key beside others on 1.19",
     cilium({"matchExpressions": [expr("reserved:kube-apiserver", "DoesNotExist")]}), "east",
     PODS | NODES | {"world", "host"}),
    ("legacy reserved.world is an ordinary key", cilium({"matchExpressions": [expr("reserved.world", "DoesNotExist")]}),
     "east", EAST_SHOP),
    # --- clusterwide policies
    ("CCNP {}: every pod, every namespace and cluster", cilium({}, kind=CCNP), None, PODS),
    ("CCNP {} on 1.19", cilium({}, kind=CCNP), "west", {"west/shop/web", "west/prod/db"}),
    ("CCNP namespace label", cilium({"matchLabels": {NS: "prod"}}, kind=CCNP), None,
     {"east/prod/web", "west/prod/db"}),
    ("CCNP excluding a namespace", cilium({"matchExpressions": [expr(f"k8s:{NS}", "NotIn", "shop", "dev")]},
                                          kind=CCNP), None, {"east/prod/web", "west/prod/db"} | NODES | RESERVED),
    # --- node peers
    ("fromNodes {}: remote nodes of every cluster", cilium({}, field="fromNodes"), None, NODES),
    ("toNodes {} on 1.19", cilium({}, field="toNodes"), "east", {"east/node"}),
    ("node label, bare key", cilium({"matchLabels": {"role": "edge"}}, field="fromNodes"), None, {"west/node"}),
    ("node label with k8s: reads no node label", cilium({"matchLabels": {"k8s:role": "edge"}}, field="fromNodes"),
     None, set()),
    ("node peer with a reserved: key is left alone on 1.19",
     cilium({"matchLabels": {"reserved:remote-node": ""}}, field="toNodes"), "east", NODES),
    ("node peer, explicit cluster", cilium({"matchLabels": {CK: "west"}}, field="fromNodes"), "east", {"west/node"}),
    # --- Kubernetes NetworkPolicy
    ("podSelector: k8s labels in the policy's namespace", knp({"podSelector": {"matchLabels": {"app": "web"}}}),
     None, {"east/shop/web", "west/shop/web"}),
    ("podSelector on 1.19", knp({"podSelector": {"matchLabels": {"app": "web"}}}), "east", {"east/shop/web"}),
    ("podSelector {}", knp({"podSelector": {}}), None, SHOP),
    ("podSelector In", knp({"podSelector": {"matchExpressions": [expr("app", "In", "db")]}}), None,
     {"east/shop/db"}),
    ("podSelector NotIn", knp({"podSelector": {"matchExpressions": [expr("app", "NotIn", "db")]}}), "east",
     {"east/shop/web", "east/shop/none", "east/shop/cweb"}),
    ("podSelector DoesNotExist", knp({"podSelector": {"matchExpressions": [expr("app", "DoesNotExist")]}}), None,
     {"east/shop/none", "east/shop/cweb"}),
    ("a podSelector namespace label is overwritten", knp({"podSelector": {"matchLabels": {NS: "prod"}}}), None, SHOP),
    ("namespaceSelector: namespace labels", knp({"namespaceSelector": {"matchLabels": {"team": "b"}}}), None,
     {"east/prod/web", "west/prod/db"}),
    ("namespaceSelector on 1.19", knp({"namespaceSelector": {"matchLabels": {"team": "b"}}}), "west",
     {"west/prod/db"}),
    ("namespaceSelector Exists", knp({"namespaceSelector": {"matchExpressions": [expr("team", "Exists")]}}), None,
     SHOP | {"east/prod/web", "west/prod/db"}),
    ("empty namespaceSelector: every pod", knp({"namespaceSelector": {}}), None, PODS),
    ("namespaceSelector DoesNotExist also admits non-pods",
     knp({"namespaceSelector": {"matchExpressions": [expr("team", "DoesNotExist")]}}), None,
     {"east/dev/web"} | NODES | RESERVED),
    ("namespaceSelector and podSelector",
     knp({"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "web"}}}), None,
     {"east/shop/web", "east/prod/web", "east/dev/web", "west/shop/web"}),
    ("empty cluster value on 1.18: nothing", knp({"podSelector": {"matchLabels": {CK: ""}}}), None, set()),
    ("empty cluster value on 1.19: overwritten", knp({"podSelector": {"matchLabels": {CK: ""}}}), "east", EAST_SHOP),
    ("cluster value", knp({"podSelector": {"matchLabels": {CK: "west"}}}), "east", {"west/shop/web"}),
    ("cluster expression", knp({"podSelector": {"matchExpressions": [expr(CK, "NotIn", "east")]}}), "east",
     {"west/shop/web"}),
    ("prefixed cluster key is a literal key, not the cluster",
     knp({"podSelector": {"matchExpressions": [expr(f"k8s:{CK}", "DoesNotExist")]}}), "east", EAST_SHOP),
    ("a cluster in the namespaceSelector is a namespace label",
     knp({"namespaceSelector": {"matchLabels": {CK: "west"}}}), None, set()),
]


def _admitted(universe: Universe, peer: Peer, local: str | None) -> set[str]:
    return set(universe.names(universe.admitted(peer, local)))


@pytest.mark.parametrize(("peer", "local", "expected"), [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_admitted(peer: Peer, local: str | None, expected: set[str]) -> None:
    universe = small_universe()
    assert _admitted(universe, peer, local) == expected
    # the same on the per-endpoint definition
    selector = semantics.effective_selector(peer, local)
    assert {ep.name for ep in universe if all(r.matches(ep) for r in selector)} == expected


def test_the_table_is_not_trivial() -> None:
    everything = {ep.name for ep in small_universe()}
    results = [frozenset(row[3]) for row in TABLE]
    assert all(r != everything for r in results)  # no row expects every endpoint
    assert sum(1 for r in results if not r) <= 5  # and few expect none


RELIES = [
    ("{}", cilium({}), True),
    ("bare cluster key", cilium({"matchLabels": {CK: "east"}}), False),
    ("k8s: cluster key", cilium({"matchLabels": {f"k8s:{CK}": "east"}}), False),
    ("any: cluster key", cilium({"matchExpressions": [expr(f"any:{CK}", "DoesNotExist")]}), False),
    ("unspec: cluster key", cilium({"matchLabels": {f"unspec:{CK}": "east"}}), True),
    ("reserved: key", cilium({"matchLabels": {"reserved:host": ""}}), False),
    ("legacy reserved.world", cilium({"matchLabels": {"reserved.world": ""}}), True),
    ("node peer", cilium({"matchLabels": {"role": "edge"}}, field="toNodes"), True),
    ("CCNP", cilium({}, kind=CCNP), True),
    ("KNP no podSelector", knp({"namespaceSelector": {}}), True),
    ("KNP empty cluster value", knp({"podSelector": {"matchLabels": {CK: ""}}}), True),
    ("KNP cluster value", knp({"podSelector": {"matchLabels": {CK: "east"}}}), False),
    ("KNP cluster expression", knp({"podSelector": {"matchExpressions": [expr(CK, "Exists")]}}), False),
    ("KNP prefixed cluster key", knp({"podSelector": {"matchLabels": {f"k8s:{CK}": "east"}}}), True),
    ("KNP cluster in the namespaceSelector", knp({"namespaceSelector": {"matchLabels": {CK: "east"}}}), True),
]


@pytest.mark.parametrize(("peer", "expected"), [row[1:] for row in RELIES], ids=[row[0] for row in RELIES])
def test_relies_on_default(peer: Peer, expected: bool) -> None:
    assert semantics.relies_on_default(peer) is expected


@pytest.mark.parametrize("data", [
    {"matchLabels": {"app": False}},  # `no` unquoted
    {"matchLabels": {CK: 493}},  # `0755` unquoted
    {"matchLabels": {"app": None}},
    {"matchExpressions": [expr("app", "Equals", "web")]},
    {"matchExpressions": [{"key": "app", "operator": "In"}]},
    {"matchExpressions": [{"key": "app", "operator": "In", "values": []}]},
    {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["web"]}]},
    {"matchExpressions": [{"key": "app", "operator": "In", "values": [False]}]},
    {"matchExpressions": {"key": "app", "operator": "Exists"}},
    {"matchLabel": {"app": "web"}},
    ["app"],
])
def test_invalid_selectors_are_refused(data: Any) -> None:
    with pytest.raises(InvalidSelector):
        small_universe().admitted(cilium(data), "east")


def test_peers_are_found_where_the_facts_sheet_puts_them() -> None:
    rule = {"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}], "fromNodes": [{}], "fromCIDR": ["1.2.3.4/32"]}],
            "ingressDeny": [{"fromEndpoints": None}], "egress": [{"toEndpoints": [], "toNodes": [{}, {}]}],
            "egressDeny": [{"toEndpoints": [{}], "toServices": [{"k8sService": {"serviceName": "x"}}]}]}
    docs = [
        {"kind": CNP, "metadata": {"name": "a", "namespace": "shop"}, "spec": rule, "specs": [rule]},
        {"kind": "ConfigMap", "spec": rule},
        {"kind": KNP, "metadata": {"name": "b"}, "spec": {"podSelector": {}, "ingress": [
            {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}, {"podSelector": {}}, {"namespaceSelector": None}]}],
            "egress": [{"to": [{"namespaceSelector": {}, "podSelector": None}]}, {"to": None}]}},
        {"kind": CCNP, "metadata": {"name": "c"}, "specs": [None, rule]},
    ]
    found = [(p.doc, p.path, p.namespace, p.node) for p in semantics.peers(docs)]
    in_rule = [(("ingress", 0, "fromEndpoints", 0), False), (("ingress", 0, "fromNodes", 0), True),
               (("egress", 0, "toNodes", 0), True), (("egress", 0, "toNodes", 1), True),
               (("egressDeny", 0, "toEndpoints", 0), False)]
    assert found == (
        [(0, ("spec", *p), "shop", node) for p, node in in_rule]
        + [(0, ("specs", 0, *p), "shop", node) for p, node in in_rule]
        + [(2, ("spec", "ingress", 0, "from", 1), "default", False),
           (2, ("spec", "egress", 0, "to", 0), "default", False)]
        + [(3, ("specs", 1, *p), None, node) for p, node in in_rule])


# ---------------------------------------------------------------------------------------------------------
# Mutants: each is a plausible mistake in the model; the table must catch every one of them.


def _mutant_requirement(kind: str) -> Callable[[Universe, Requirement], int]:
    original = Universe.requirement

    def requirement(self: Universe, req: Requirement) -> int:
        if kind == "NotIn needs the key" and req.operator == "NotIn":
            return original(self, req) & original(self, Requirement(req.source, req.key, "Exists"))
        if kind == "sources ignored":
            return original(self, Requirement("any", req.key, req.operator, req.values))
        return original(self, req)

    return requirement


def _namespaced_only(peer: Peer) -> semantics.Selector:
    return () if peer.namespace is None else ORIGINAL_NAMESPACE_TERMS(peer)


ORIGINAL_NAMESPACE_TERMS = semantics.namespace_terms
ORIGINAL_LABEL_SELECTOR = semantics.label_selector


def _empty_cluster_value_ignored(data: Any, **kwargs: Any) -> semantics.Selector:
    """The engine's reading of a NetworkPolicy `io.cilium.k8s.policy.cluster: ""`: no requirement at all."""
    selector = ORIGINAL_LABEL_SELECTOR(data, **kwargs)
    return tuple(r for r in selector if not (r.key == CK and r.values == frozenset({""})))


MUTANTS: list[tuple[str, str, Any]] = [
    ("1.19 adds nothing", "relies_on_default", lambda peer: False),
    ("1.19 restricts every peer", "relies_on_default", lambda peer: True),
    ("a cluster key with any source is explicit", "names", lambda data, key: any(
        k.endswith(key) for k in semantics._written_keys(data))),
    ("no namespace defaulting", "namespace_terms", lambda peer: ()),
    ("clusterwide peers not limited to pods", "namespace_terms", _namespaced_only),
    ("node peers not limited to nodes", "NODE_TERMS", ()),
    ("reserved keys not special", "has_reserved_key", lambda data: False),
    ("unspec: read literally", "_reads", lambda source: source),
    ("namespace labels unprefixed", "NAMESPACE_LABELS", ""),
    ("an empty cluster value is no requirement", "label_selector", _empty_cluster_value_ignored),
    ("NotIn needs the key", "Universe.requirement", _mutant_requirement("NotIn needs the key")),
    ("sources ignored", "Universe.requirement", _mutant_requirement("sources ignored")),
]


@pytest.mark.parametrize(("target", "replacement"), [m[1:] for m in MUTANTS], ids=[m[0] for m in MUTANTS])
def test_the_table_catches_a_broken_model(monkeypatch: pytest.MonkeyPatch, target: str, replacement: Any) -> None:
    if target == "Universe.requirement":
        monkeypatch.setattr(Universe, "requirement", replacement)
    else:
        monkeypatch.setattr(semantics, target, replacement)
    universe = small_universe()
    wrong = []
    for name, peer, local, expected in TABLE:
        try:
            if _admitted(universe, peer, local) != expected:
                wrong.append(name)
        except InvalidSelector:
            wrong.append(name)
    assert wrong, "no row of the table notices this mistake"


# ---------------------------------------------------------------------------------------------------------
# The universe of the property test.


def _single_requirements() -> list[Requirement]:
    """Every single requirement over the generator's pod keys and values, with every operator."""
    keys = sorted({k.split(":", 1)[-1] for k in PLAIN_KEYS + KNP_KEYS} - {CK, NS})
    subsets = [frozenset(c) for n in (1, 2) for c in itertools.combinations(VALUES, n)]
    out = []
    for key in keys:
        out += [Requirement("k8s", key, op, s) for op in ("In", "NotIn") for s in subsets]
        out += [Requirement("k8s", key, op) for op in ("Exists", "DoesNotExist")]
    return out


def test_the_generated_universe_tells_distinct_requirements_apart() -> None:
    """In every cluster and named namespace, every pair of distinct single requirements on the generator's
    label keys and values admits different pods: the universe is large enough for the oracle to see a label
    lost, added or changed, in any cluster."""
    requirements = _single_requirements()
    slices: dict[tuple[str, str], int] = {}
    for i, ep in enumerate(UNIVERSE):
        ns = ep.values("k8s", NS)
        if ns and ep.cluster and ns[0] in NAMED_NAMESPACES:
            slices[(ep.cluster, ns[0])] = slices.get((ep.cluster, ns[0]), 0) | 1 << i
    assert set(slices) == {(c, ns) for c in UNIVERSE_CLUSTERS for ns in UNIVERSE_NAMESPACES}
    for where, pods in slices.items():
        masks = [UNIVERSE.requirement(r) & pods for r in requirements]
        assert len(set(masks)) == len(requirements), where


def test_the_generated_universe_tells_distinct_namespace_requirements_apart() -> None:
    """The same for namespaceSelector requirements (namespace labels), in every cluster."""
    keys = sorted({k.split(":", 1)[-1] for k in KNP_KEYS} - {CK, "kubernetes.io/metadata.name"})
    subsets = [frozenset(c) for n in (1, 2) for c in itertools.combinations(VALUES, n)]
    requirements = [Requirement("k8s", NSL + key, op, s) for key in keys for op in ("In", "NotIn") for s in subsets]
    requirements += [Requirement("k8s", NSL + key, op) for key in keys for op in ("Exists", "DoesNotExist")]
    for cluster in UNIVERSE_CLUSTERS:
        pods = UNIVERSE.in_clusters([cluster]) & UNIVERSE.requirement(Requirement("k8s", NS, "Exists"))
        masks = [UNIVERSE.requirement(r) & pods for r in requirements]
        assert len(set(masks)) == len(requirements), cluster


def test_the_generated_universe_masks_agree_with_the_definition() -> None:
    reqs = [
        *_single_requirements()[::7],
        Requirement("any", "app", "In", frozenset({"web"})), Requirement("k8s", CK, "Exists"),
        Requirement("reserved", "world", "Exists"), Requirement("unspec", "app", "NotIn", frozenset({"db"})),
        Requirement("k8s", f"{NSL}team", "DoesNotExist"), Requirement("node", "app", "Exists")]
    for req in reqs:
        by_definition = {ep.name for ep in UNIVERSE if req.matches(ep)}
        assert set(UNIVERSE.names(UNIVERSE.requirement(req))) == by_definition, str(req)
        assert 0 < len(by_definition) < len(UNIVERSE), str(req)  # every one of them tells something apart


def test_the_generated_universe_has_every_kind_of_endpoint() -> None:
    clusters = {ep.cluster for ep in UNIVERSE}
    assert clusters == {*UNIVERSE_CLUSTERS, None}
    reserved = [ep for ep in UNIVERSE if any(lbl.source == "reserved" for lbl in ep.labels)]
    assert {ep.cluster for ep in reserved if "remote-node" not in str(ep.labels)} == {None}  # facts §3
    for cluster in UNIVERSE_CLUSTERS:
        nodes = [ep for ep in reserved if ep.cluster == cluster]
        assert nodes and all(ep.values("reserved", "remote-node") == [""] for ep in nodes)
    assert any(lbl.source not in ("k8s", "reserved", "node", "cidr") for ep in UNIVERSE for lbl in ep.labels)
