"""`codemod.selection`: Cilium / Kubernetes selector semantics evaluated on the labels Hubble reports.

Every case asserts both labels that must be selected and labels that must not, so a matcher that selects
everything or nothing fails. Semantics: `shared/docs/cilium-facts.md` §1 and Cilium v1.19's
`pkg/k8s/apis/cilium.io/utils/utils.go`, `pkg/k8s/network_policy.go`, `pkg/policy/api/entity.go`.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from codemod import cilium, selection
from codemod.documents import format_path, parse_stream
from codemod.selection import Ports, cilium_ports, knp_ports

CLUSTER = "io.cilium.k8s.policy.cluster"
NS_LABELS = "io.cilium.k8s.namespace.labels."
LOCAL = "east"

Labels = tuple[str, ...]


# ---------------------------------------------------------------- flow labels as Hubble reports them


def pod(app: str, ns: str = "shop", cluster: str = LOCAL, ns_labels: dict[str, str] | None = None,
        source: str = "k8s") -> Labels:
    """A pod's identity labels: app, namespace, cluster and the namespace's labels."""
    out = [f"{source}:app={app}", f"k8s:io.kubernetes.pod.namespace={ns}", f"k8s:{CLUSTER}={cluster}",
           f"k8s:{NS_LABELS}kubernetes.io/metadata.name={ns}"]
    out += [f"k8s:{NS_LABELS}{k}={v}" for k, v in (ns_labels or {}).items()]
    return tuple(out)


def node(kind: str = "host", cluster: str = LOCAL, role: str = "worker") -> Labels:
    return (f"reserved:{kind}", f"k8s:node-role={role}", f"k8s:{CLUSTER}={cluster}")


HOST: Labels = ("reserved:host",)
REMOTE_NODE: Labels = ("reserved:remote-node",)
WORLD: Labels = ("reserved:world",)
HEALTH: Labels = ("reserved:health",)
APISERVER: Labels = ("reserved:kube-apiserver", "reserved:world")
API = pod("api")  # the enforcing endpoint of most policies below


# ---------------------------------------------------------------- policies


def cnp(spec: dict[str, Any] | None = None, *, kind: str = "CiliumNetworkPolicy", ns: str | None = "shop",
        specs: list[dict[str, Any]] | None = None, name: str = "p") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns is not None and kind == "CiliumNetworkPolicy":
        meta["namespace"] = ns
    out: dict[str, Any] = {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta}
    if spec is not None:
        out["spec"] = spec
    if specs is not None:
        out["specs"] = specs
    return out


def ccnp(spec: dict[str, Any]) -> dict[str, Any]:
    return cnp(spec, kind="CiliumClusterwideNetworkPolicy")


def knp(spec: dict[str, Any], ns: str | None = "shop") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "k"}
    if ns is not None:
        meta["namespace"] = ns
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec}


SUBJECT = {"matchLabels": {"app": "api"}}


def ingress_policy(kind: str, peer: dict[str, Any]) -> dict[str, Any]:
    """One ingress rule with one peer selector (a Cilium selector, or a NetworkPolicy peer entry)."""
    if kind == "cnp":
        return cnp({"endpointSelector": SUBJECT, "ingress": [{"fromEndpoints": [peer]}]})
    if kind == "ccnp":
        return ccnp({"endpointSelector": SUBJECT, "ingress": [{"fromEndpoints": [peer]}]})
    if kind == "knp":
        return knp({"podSelector": SUBJECT, "ingress": [{"from": [peer]}]})
    raise AssertionError(kind)


def build(*manifests: dict[str, Any]) -> list[selection.PolicyModel]:
    return models_of(yaml.safe_dump_all(manifests, sort_keys=False))


def models_of(text: str) -> list[selection.PolicyModel]:
    return [selection.model(p, "f.yaml") for doc in parse_stream(text) for p in cilium.policies(doc)]


def found(models: list[selection.PolicyModel], peer: Labels, *, direction: str = "ingress", enforcing: Labels = API,
          protocol: str = "TCP", port: int = 80, default_local: bool = False,
          peer_local: bool = False) -> list[selection.Match]:
    return list(selection.matching(models, direction, enforcing, peer, protocol, port, LOCAL, default_local,
                                   peer_local))


def check(models: list[selection.PolicyModel], yes: list[Labels], no: list[Labels], **kw: Any) -> None:
    for labels in yes:
        assert found(models, labels, **kw), f"should select {labels}"
    for labels in no:
        assert not found(models, labels, **kw), f"should not select {labels}"


# ---------------------------------------------------------------- label selectors: operators and prefixes

SELECTOR_CASES = [
    pytest.param({"matchLabels": {"app": "web"}}, [("k8s:app=web",), ("container:app=web",)],
                 [("k8s:app=db",), ("k8s:tier=web",), ()], id="bare-key-any-source"),
    pytest.param({"matchLabels": {"k8s:app": "web"}}, [("k8s:app=web",)],
                 [("container:app=web",), ("app=web",), ("k8s:app=db",)], id="k8s-prefix-only-k8s"),
    pytest.param({"matchLabels": {"any:app": "web"}}, [("container:app=web",), ("k8s:app=web",)],
                 [("container:app=db",)], id="any-prefix"),
    pytest.param({"matchLabels": {"app": "web"}}, [("app=web",)], [("app=db",)], id="unprefixed-label"),
    pytest.param({"matchLabels": {"k8s:app": "web"}}, [("k8s:app=web",)], [("app=web",)], id="unspec-label-not-k8s"),
    pytest.param({"matchLabels": {"reserved:host": ""}}, [HOST, ("reserved:host", "k8s:x=y")],
                 [("k8s:host=",), REMOTE_NODE, WORLD], id="reserved-host"),
    pytest.param({"matchLabels": {"port": 8080}}, [("k8s:port=8080",)], [("k8s:port=8081",)], id="int-value"),
    pytest.param({"matchLabels": {"enabled": True}}, [("k8s:enabled=true",)],
                 [("k8s:enabled=false",), ("k8s:enabled=True",)], id="bool-value"),
    pytest.param({"matchLabels": {"app": "web", "tier": "fe"}}, [("k8s:app=web", "k8s:tier=fe")],
                 [("k8s:app=web",), ("k8s:tier=fe",), ("k8s:app=web", "k8s:tier=be")], id="labels-anded"),
    pytest.param({"matchLabels": {"app.kubernetes.io/name": "a=b"}}, [("k8s:app.kubernetes.io/name=a=b",)],
                 [("k8s:app.kubernetes.io/name=a",)], id="slash-key-equals-in-value"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]},
                 [("k8s:app=web",), ("k8s:app=api",)], [("k8s:app=db",), ()], id="in"),
    pytest.param({"matchExpressions": [{"key": "port", "operator": "In", "values": [8080, True]}]},
                 [("k8s:port=8080",), ("k8s:port=true",)], [("k8s:port=8081",)], id="in-typed-values"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}]},
                 [("k8s:app=web",), (), ("k8s:tier=db",)], [("k8s:app=db",), ("container:app=db",)],
                 id="notin-absent-key-matches"),
    pytest.param({"matchExpressions": [{"key": "k8s:app", "operator": "NotIn", "values": ["db"]}]},
                 [("container:app=db",)], [("k8s:app=db",)], id="notin-k8s-prefix"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, [("k8s:app=web",), ("k8s:app=",)],
                 [(), ("k8s:application=web",)], id="exists"),
    pytest.param({"matchExpressions": [{"key": "k8s:app", "operator": "Exists"}]}, [("k8s:app=web",)],
                 [("container:app=web",)], id="exists-k8s-prefix"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, [(), ("k8s:tier=fe",)],
                 [("k8s:app=web",), ("k8s:app=",)], id="doesnotexist"),
    pytest.param({"matchExpressions": [{"key": "any:app", "operator": "DoesNotExist"}]}, [("k8s:tier=x",)],
                 [("unspec:app=x",)], id="doesnotexist-any-prefix"),
    pytest.param({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "Exists"}]},
                 [("k8s:app=web", "k8s:tier=fe")], [("k8s:app=web",), ("k8s:tier=fe",)], id="labels-and-expressions"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "Exists"},
                                       {"key": "app", "operator": "NotIn", "values": ["db"]}]},
                 [("k8s:app=web",)], [("k8s:app=db",), ()], id="expressions-anded"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["web"]}]}, [],
                 [("k8s:app=web",), ()], id="unknown-operator-nothing"),
    pytest.param({"matchExpressions": [{"key": "app", "operator": "in", "values": ["web"]}]}, [],
                 [("k8s:app=web",)], id="lowercase-operator-nothing"),
    pytest.param({"matchLabels": {"app": "web"}, "matchExpressions": [{"operator": "Exists"}]}, [],
                 [("k8s:app=web",), ()], id="expression-without-key-nothing"),
    pytest.param({}, [(), WORLD, HOST, pod("x", cluster="west")], [], id="empty-everything"),
    pytest.param(["app"], [], [("k8s:app=web",), ()], id="not-a-mapping-nothing"),
]


@pytest.mark.parametrize(("data", "yes", "no"), SELECTOR_CASES)
def test_label_selector(data: object, yes: list[Labels], no: list[Labels]) -> None:
    sel = selection.selector(data)
    for labels in yes:
        assert sel.matches(labels), labels
    for labels in no:
        assert not sel.matches(labels), labels


def test_selector_values_from_yaml_are_compared_as_strings() -> None:
    """Values YAML types as int/bool, read through the document parser (not Python literals)."""
    [m] = models_of("""\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints:
        - matchLabels: {port: 8080, canary: true, version: "2"}
""")
    yes = (*pod("web"), "k8s:port=8080", "k8s:canary=true", "k8s:version=2")
    check([m], [yes], [(*pod("web"), "k8s:port=8080", "k8s:canary=false", "k8s:version=2"),
                       (*pod("web"), "k8s:port=80", "k8s:canary=true", "k8s:version=2")])


# ---------------------------------------------------------------- namespace defaulting: CNP vs CCNP vs KNP

IN_SHOP, IN_OTHER = pod("web"), pod("web", ns="other")
TEAM_PAY = {"team": "pay"}

NAMESPACE_CASES = [
    # CiliumNetworkPolicy: peers that name no namespace stay in the policy's namespace
    pytest.param("cnp", {}, [IN_SHOP, pod("db")], [IN_OTHER, HOST, WORLD], id="cnp-empty"),
    pytest.param("cnp", {"matchLabels": {"app": "web"}}, [IN_SHOP], [IN_OTHER, pod("db")], id="cnp-labels"),
    pytest.param("cnp", {"matchLabels": {"io.kubernetes.pod.namespace": "other"}}, [IN_OTHER], [IN_SHOP],
                 id="cnp-ns-bare"),
    pytest.param("cnp", {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "other"}}, [IN_OTHER], [IN_SHOP],
                 id="cnp-ns-k8s"),
    pytest.param("cnp", {"matchLabels": {"any:io.kubernetes.pod.namespace": "other"}}, [IN_OTHER], [IN_SHOP],
                 id="cnp-ns-any"),
    pytest.param("cnp", {"matchExpressions": [{"key": "io.kubernetes.pod.namespace", "operator": "In",
                                               "values": ["other", "third"]}]},
                 [IN_OTHER, pod("web", ns="third")], [IN_SHOP], id="cnp-ns-expression"),
    pytest.param("cnp", {"matchExpressions": [{"key": "k8s:io.kubernetes.pod.namespace", "operator": "Exists"}]},
                 [IN_SHOP, IN_OTHER], [HOST, WORLD], id="cnp-ns-exists-all-namespaces"),
    pytest.param("cnp", {"matchLabels": {NS_LABELS + "team": "pay"}},
                 [pod("web", ns="other", ns_labels=TEAM_PAY), pod("web", ns_labels=TEAM_PAY)], [IN_SHOP, IN_OTHER],
                 id="cnp-ns-labels-bare"),
    pytest.param("cnp", {"matchLabels": {"k8s:" + NS_LABELS + "team": "pay"}},
                 [pod("web", ns="other", ns_labels=TEAM_PAY)], [IN_OTHER], id="cnp-ns-labels-k8s"),
    pytest.param("cnp", {"matchExpressions": [{"key": "any:" + NS_LABELS + "team", "operator": "Exists"}]},
                 [pod("web", ns="other", ns_labels=TEAM_PAY)], [IN_OTHER, IN_SHOP], id="cnp-ns-labels-any"),
    pytest.param("cnp", {"matchLabels": {"reserved:host": ""}}, [HOST], [IN_SHOP, WORLD], id="cnp-reserved"),
    pytest.param("cnp", {"matchLabels": {"reserved.world": ""}}, [(*IN_SHOP, "k8s:reserved.world=")],
                 [(*IN_OTHER, "k8s:reserved.world="), WORLD], id="cnp-legacy-dotted-key-is-ordinary"),
    # CiliumClusterwideNetworkPolicy: no namespace, but only pods (namespace label Exists)
    pytest.param("ccnp", {}, [IN_SHOP, IN_OTHER], [HOST, WORLD, REMOTE_NODE], id="ccnp-empty-pods-only"),
    pytest.param("ccnp", {"matchLabels": {"app": "web"}}, [IN_SHOP, IN_OTHER], [pod("db", ns="other")],
                 id="ccnp-labels"),
    pytest.param("ccnp", {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}]},
                 [IN_OTHER], [pod("db"), WORLD, HOST], id="ccnp-notin-not-reserved"),
    pytest.param("ccnp", {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "other"}}, [IN_OTHER], [IN_SHOP],
                 id="ccnp-ns"),
    pytest.param("ccnp", {"matchLabels": {NS_LABELS + "team": "pay"}}, [pod("web", ns="other", ns_labels=TEAM_PAY)],
                 [IN_OTHER], id="ccnp-ns-labels"),
    pytest.param("ccnp", {"matchLabels": {"reserved:host": ""}}, [HOST], [IN_SHOP], id="ccnp-reserved"),
    # NetworkPolicy: podSelector only → policy namespace; namespaceSelector → namespace labels
    pytest.param("knp", {"podSelector": {"matchLabels": {"app": "web"}}}, [IN_SHOP], [IN_OTHER, pod("db")],
                 id="knp-pod"),
    pytest.param("knp", {"podSelector": {}}, [IN_SHOP, pod("db")], [IN_OTHER, HOST, WORLD], id="knp-pod-empty"),
    pytest.param("knp", {"podSelector": {"matchLabels": {"app": "web"}}}, [IN_SHOP],
                 [pod("web", source="container")], id="knp-keys-are-k8s"),
    pytest.param("knp", {"namespaceSelector": {"matchLabels": {"team": "pay"}}},
                 [pod("db", ns="other", ns_labels=TEAM_PAY), pod("db", ns_labels=TEAM_PAY)], [IN_SHOP, IN_OTHER],
                 id="knp-ns-selector"),
    pytest.param("knp", {"namespaceSelector": {"matchExpressions": [{"key": "team", "operator": "In",
                                                                     "values": ["pay", "ops"]}]}},
                 [pod("db", ns="other", ns_labels={"team": "ops"})], [pod("db", ns="other", ns_labels={"team": "x"})],
                 id="knp-ns-selector-expression"),
    pytest.param("knp", {"namespaceSelector": {}}, [IN_OTHER, IN_SHOP], [HOST, WORLD], id="knp-ns-empty-every-ns"),
    pytest.param("knp", {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "other"}},
                         "podSelector": {"matchLabels": {"app": "web"}}},
                 [IN_OTHER], [pod("db", ns="other"), IN_SHOP], id="knp-ns-and-pod-anded"),
    pytest.param("knp", {"namespaceSelector": {"matchLabels": {"team": "pay"}}}, [],
                 [(*IN_OTHER, "k8s:team=pay")], id="knp-ns-keys-are-namespace-labels"),
]


@pytest.mark.parametrize(("kind", "peer", "yes", "no"), NAMESPACE_CASES)
def test_namespace_defaulting(kind: str, peer: dict[str, Any], yes: list[Labels], no: list[Labels]) -> None:
    check(build(ingress_policy(kind, peer)), yes, no)


def test_cnp_without_namespace_defaults_to_default_namespace() -> None:
    models = build(cnp({"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}]}, ns=None))
    check(models, [pod("web", ns="default")], [IN_SHOP], enforcing=pod("api", ns="default"))
    assert not found(models, pod("web", ns="default"), enforcing=API)


def test_knp_ipblock_only_peer_is_not_a_peer() -> None:
    [m] = build(knp({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}))
    assert [(r.peers, r.entities) for r in m.rules] == [([], frozenset())]
    check([m], [], [IN_SHOP, WORLD, IN_OTHER])


@pytest.mark.parametrize("rule", [
    pytest.param({}, id="missing-from"),
    pytest.param({"from": []}, id="empty-from"),
    pytest.param({"from": None}, id="null-from"),
])
def test_knp_rule_without_peers_allows_every_peer(rule: dict[str, Any]) -> None:
    [m] = build(knp({"podSelector": SUBJECT, "ingress": [{**rule, "ports": [{"port": 80}]}]}))
    for labels in (IN_OTHER, WORLD, HOST, pod("web", cluster="west")):
        hits = found([m], labels, default_local=True)
        assert [h.peer for h in hits] == [None], labels
    # still bound to its subject and ports
    check([m], [], [IN_SHOP], enforcing=pod("db"))
    check([m], [], [IN_SHOP], port=81)


def test_knp_pod_selector_namespace_label_is_replaced_by_policy_namespace() -> None:
    """Cilium's parsePodSelector sets MatchLabels[io.kubernetes.pod.namespace] = <policy namespace>,
    overwriting a podSelector's own value: the peer selects web pods of the policy's namespace."""
    models = build(ingress_policy("knp", {"podSelector": {"matchLabels": {"app": "web",
                                                                          "io.kubernetes.pod.namespace": "other"}}}))
    check(models, [IN_SHOP], [IN_OTHER])


# ---------------------------------------------------------------- subjects


SUBJECT_CASES = [
    pytest.param(cnp({"endpointSelector": SUBJECT, "ingress": [{"fromEntities": ["all"]}]}),
                 [API], [pod("api", ns="other"), pod("db")], id="cnp-own-namespace"),
    pytest.param(cnp({"endpointSelector": {}, "ingress": [{"fromEntities": ["all"]}]}),
                 [API, pod("db")], [pod("db", ns="other"), HOST], id="cnp-empty-own-namespace"),
    pytest.param(ccnp({"endpointSelector": SUBJECT, "ingress": [{"fromEntities": ["all"]}]}),
                 [API, pod("api", ns="other")], [pod("db")], id="ccnp-every-namespace"),
    pytest.param(knp({"podSelector": SUBJECT, "ingress": [{}]}), [API], [pod("api", ns="other"), pod("db")],
                 id="knp-own-namespace"),
    pytest.param(knp({"podSelector": {}, "ingress": [{}]}), [API, pod("db")], [pod("db", ns="other")],
                 id="knp-empty-own-namespace"),
    pytest.param(knp({"ingress": [{}]}), [pod("db")], [pod("db", ns="other")], id="knp-missing-pod-selector"),
    pytest.param(cnp({"nodeSelector": {}, "ingress": [{"fromEntities": ["all"]}]}), [],
                 [HOST, node(), API], id="cnp-node-selector-never"),
    pytest.param(ccnp({"nodeSelector": {"matchLabels": {"node-role": "worker"}},
                       "ingress": [{"fromEntities": ["all"]}]}), [], [node(), API], id="ccnp-node-selector-never"),
]


@pytest.mark.parametrize(("manifest", "yes", "no"), SUBJECT_CASES)
def test_subject(manifest: dict[str, Any], yes: list[Labels], no: list[Labels]) -> None:
    models = build(manifest)
    for enforcing in yes:
        assert found(models, WORLD, enforcing=enforcing), enforcing
    for enforcing in no:
        assert not found(models, WORLD, enforcing=enforcing), enforcing


def test_node_selector_subject_is_none() -> None:
    [m] = build(ccnp({"nodeSelector": {}, "ingress": [{"fromEntities": ["world"]}]}))
    assert [r.subject for r in m.rules] == [None]


def test_cnp_subject_namespace_match_is_replaced_by_policy_namespace() -> None:
    """Cilium's ParseToCiliumRule: "EndpointSelector always applies in namespace of the policy resource,
    removing illegal namespace match" (AddMatch overwrites k8s:io.kubernetes.pod.namespace)."""
    models = build(cnp({"endpointSelector": {"matchLabels": {"app": "api", "k8s:io.kubernetes.pod.namespace": "other"}},
                        "ingress": [{"fromEntities": ["all"]}]}))
    for enforcing, expected in ((API, True), (pod("api", ns="other"), False)):
        assert bool(found(models, WORLD, enforcing=enforcing)) is expected, enforcing


# ---------------------------------------------------------------- ports

TCP80, TCP443, UDP53, TCP53, SCTP53, ICMP4, ICMP6 = ("TCP", 80), ("TCP", 443), ("UDP", 53), ("TCP", 53), \
    ("SCTP", 53), ("ICMPv4", 0), ("ICMPv6", 0)


def to_ports(*ports: dict[str, Any]) -> dict[str, Any]:
    return {"toPorts": [{"ports": list(ports)}]}


PORT_CASES = [
    pytest.param(cilium_ports, {}, [TCP80, UDP53, SCTP53, ICMP4, ICMP6], [], id="cnp-no-l4-everything"),
    pytest.param(cilium_ports, {"toPorts": []}, [TCP80, UDP53, ICMP4], [], id="cnp-empty-toports-everything"),
    pytest.param(cilium_ports, to_ports({"port": "80", "protocol": "TCP"}), [TCP80],
                 [("TCP", 81), ("UDP", 80), ("SCTP", 80), ICMP4], id="cnp-tcp"),
    pytest.param(cilium_ports, to_ports({"port": 80, "protocol": "TCP"}), [TCP80], [("TCP", 8080)], id="cnp-int-port"),
    pytest.param(cilium_ports, to_ports({"port": "53", "protocol": "UDP"}), [UDP53], [TCP53, ("UDP", 54)],
                 id="cnp-udp"),
    pytest.param(cilium_ports, to_ports({"port": "53", "protocol": "SCTP"}), [SCTP53], [TCP53, UDP53], id="cnp-sctp"),
    pytest.param(cilium_ports, to_ports({"port": "53", "protocol": "ANY"}), [TCP53, UDP53, SCTP53],
                 [("TCP", 54), ICMP4], id="cnp-any"),
    pytest.param(cilium_ports, to_ports({"port": "53"}), [TCP53, UDP53, SCTP53], [("UDP", 5353), ICMP6],
                 id="cnp-no-protocol"),
    pytest.param(cilium_ports, to_ports({"port": "8000", "endPort": 8010, "protocol": "TCP"}),
                 [("TCP", 8000), ("TCP", 8005), ("TCP", 8010)], [("TCP", 7999), ("TCP", 8011), ("UDP", 8005)],
                 id="cnp-end-port"),
    pytest.param(cilium_ports, to_ports({"port": "0", "protocol": "TCP"}), [("TCP", 1), TCP443, ("TCP", 65535)],
                 [UDP53, ICMP4], id="cnp-port-zero-all-ports"),
    pytest.param(cilium_ports, to_ports({"port": "http", "protocol": "TCP"}), [("TCP", 8080), TCP80],
                 [("UDP", 8080)], id="cnp-named-port"),
    pytest.param(cilium_ports, {"toPorts": [{"rules": {"http": [{"method": "GET"}]}}]}, [TCP80, TCP443, UDP53],
                 [], id="cnp-l7-only-all-ports"),
    pytest.param(cilium_ports, {"toPorts": [{"ports": [{"port": "80", "protocol": "TCP"},
                                                       {"port": "53", "protocol": "UDP"}]},
                                            {"ports": [{"port": "443", "protocol": "TCP"}]}]},
                 [TCP80, UDP53, TCP443], [TCP53, ("UDP", 80), ("TCP", 444)], id="cnp-several-ports"),
    pytest.param(cilium_ports, {"icmps": [{"fields": [{"type": 8}]}]}, [ICMP4, ICMP6], [TCP80, UDP53],
                 id="cnp-icmp-only"),
    pytest.param(cilium_ports, {**to_ports({"port": "443", "protocol": "TCP"}), "icmps": [{"fields": [{"type": 8}]}]},
                 [ICMP4, TCP443], [TCP80, UDP53], id="cnp-icmp-and-tcp"),
    pytest.param(knp_ports, {}, [TCP80, UDP53, ICMP4], [], id="knp-no-ports-everything"),
    pytest.param(knp_ports, {"ports": [{"port": 53}]}, [TCP53], [UDP53, ("TCP", 54), ICMP4], id="knp-default-tcp"),
    pytest.param(knp_ports, {"ports": [{"port": 53, "protocol": "UDP"}]}, [UDP53], [TCP53], id="knp-udp"),
    pytest.param(knp_ports, {"ports": [{"port": 53, "protocol": "SCTP"}]}, [SCTP53], [TCP53, UDP53], id="knp-sctp"),
    pytest.param(knp_ports, {"ports": [{"port": 30000, "endPort": 30010}]}, [("TCP", 30000), ("TCP", 30010)],
                 [("TCP", 29999), ("TCP", 30011), ("UDP", 30005)], id="knp-end-port"),
    pytest.param(knp_ports, {"ports": [{"protocol": "UDP"}]}, [UDP53, ("UDP", 9999)], [TCP53, ICMP4],
                 id="knp-no-port-all-of-protocol"),
    pytest.param(knp_ports, {"ports": [{}]}, [TCP80, TCP443], [UDP53, ICMP4], id="knp-empty-port-all-tcp"),
    pytest.param(knp_ports, {"ports": [{"port": "dns", "protocol": "UDP"}]}, [UDP53, ("UDP", 5353)], [TCP53],
                 id="knp-named-port"),
    pytest.param(knp_ports, {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}, [TCP80, UDP53],
                 [TCP53, ("UDP", 80)], id="knp-several-ports"),
]


@pytest.mark.parametrize(("parse", "entry", "yes", "no"), PORT_CASES)
def test_ports(parse: Any, entry: dict[str, Any], yes: list[tuple[str, int]], no: list[tuple[str, int]]) -> None:
    ports: Ports = parse(entry)
    for protocol, port in yes:
        assert ports.matches(protocol, port), (protocol, port)
    for protocol, port in no:
        assert not ports.matches(protocol, port), (protocol, port)


def test_ports_filter_rules_in_matching() -> None:
    models = build(cnp({"endpointSelector": SUBJECT, "ingress": [
        {"fromEndpoints": [{}], **to_ports({"port": "8080", "protocol": "TCP"})},
        {"fromEntities": ["world"], "icmps": [{"fields": [{"type": 8}]}]},
    ]}), knp({"podSelector": SUBJECT, "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": 53,
                                                                                               "protocol": "UDP"}]}]}))
    assert [m.policy.policy.kind for m in found(models, IN_SHOP, port=8080)] == ["CiliumNetworkPolicy"]
    assert [m.policy.policy.kind for m in found(models, IN_SHOP, protocol="UDP", port=53)] == ["NetworkPolicy"]
    assert found(models, IN_SHOP, port=80) == []
    assert len(found(models, WORLD, protocol="ICMPv4", port=0)) == 1
    assert found(models, WORLD, port=8080) == []


# ---------------------------------------------------------------- entities

ENTITY_CASES = [
    pytest.param(["all"], [(pod("web", cluster="west"), False), (WORLD, False), (HOST, False), (IN_OTHER, True)],
                 [], id="all"),
    pytest.param(["world"], [(WORLD, False), (("reserved:world", "cidr:1.1.1.1/32"), False)],
                 [(HOST, False), (IN_SHOP, True), (REMOTE_NODE, False)], id="world"),
    pytest.param(["host"], [(HOST, False), (node(), False)], [(REMOTE_NODE, False), (WORLD, False), (IN_SHOP, True)],
                 id="host"),
    pytest.param(["remote-node"], [(REMOTE_NODE, False), (node("remote-node"), False)], [(HOST, False), (WORLD, False)],
                 id="remote-node"),
    pytest.param(["kube-apiserver"], [(APISERVER, False)], [(WORLD, False), (HOST, False)], id="kube-apiserver"),
    pytest.param(["health"], [(HEALTH, False)], [(HOST, False)], id="health"),
    pytest.param(["cluster"], [(IN_SHOP, True), (IN_OTHER, True)],
                 [(pod("web", cluster="west"), False), (WORLD, False)], id="cluster"),
    pytest.param(["world", "host"], [(WORLD, False), (HOST, False)], [(REMOTE_NODE, False), (IN_SHOP, True)],
                 id="several"),
]


@pytest.mark.parametrize(("entities", "yes", "no"), ENTITY_CASES)
@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_entities(direction: str, entities: list[str], yes: list[tuple[Labels, bool]],
                  no: list[tuple[Labels, bool]]) -> None:
    field = "fromEntities" if direction == "ingress" else "toEntities"
    models = build(cnp({"endpointSelector": SUBJECT, direction: [{field: entities}]}))
    for labels, local in yes:
        for default_local in (False, True):
            hits = found(models, labels, direction=direction, peer_local=local, default_local=default_local)
            assert [h.peer for h in hits] == [None], labels
    for labels, local in no:
        assert not found(models, labels, direction=direction, peer_local=local), labels


@pytest.mark.parametrize("labels", [("reserved:world-ipv4",), ("reserved:world-ipv6",),
                                    ("reserved:world-ipv4", "cidr:1.1.1.1/32")])
def test_world_entity_selects_dual_stack_world(labels: Labels) -> None:
    """Cilium's EntitySelectorMapping: world → reserved:world, reserved:world-ipv4, reserved:world-ipv6;
    dual-stack clusters report the split identities on flows."""
    models = build(cnp({"endpointSelector": SUBJECT, "ingress": [{"fromEntities": ["world"]}]}))
    check(models, [labels], [HOST, IN_SHOP])


@pytest.mark.parametrize("labels", [HOST, REMOTE_NODE, HEALTH, APISERVER])
def test_cluster_entity_selects_reserved_cluster_identities(labels: Labels) -> None:
    """Cilium's InitEntities: cluster = host, remote-node, init, ingress, health, unmanaged, kube-apiserver and
    the local cluster's pods. Reserved identities carry no cluster name, so callers pass peer_local=False."""
    models = build(cnp({"endpointSelector": SUBJECT, "ingress": [{"fromEntities": ["cluster"]}]}))
    assert found(models, labels, peer_local=False), labels
    assert not found(models, WORLD, peer_local=False)


# ---------------------------------------------------------------- fromNodes / toNodes


# Cilium adds `reserved:remote-node Exists` to every node peer: the local host is never one.
NODE_CASES = [
    pytest.param({}, [REMOTE_NODE, node("remote-node"), node("remote-node", role="control")],
                 [HOST, node(), IN_SHOP, WORLD, HEALTH], id="empty-remote-nodes-only"),
    pytest.param({"matchLabels": {"node-role": "worker"}}, [node("remote-node")],
                 [node(), node("remote-node", role="control"), (*IN_SHOP, "k8s:node-role=worker")],
                 id="labels-not-pods"),
    pytest.param({"matchExpressions": [{"key": "node-role", "operator": "NotIn", "values": ["control"]}]},
                 [node("remote-node"), REMOTE_NODE], [node("remote-node", role="control"), HOST, IN_OTHER, WORLD],
                 id="notin"),
]


@pytest.mark.parametrize(("sel", "yes", "no"), NODE_CASES)
@pytest.mark.parametrize("kind", ["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"])
@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_nodes(direction: str, kind: str, sel: dict[str, Any], yes: list[Labels], no: list[Labels]) -> None:
    field = "fromNodes" if direction == "ingress" else "toNodes"
    models = build(cnp({"endpointSelector": SUBJECT, direction: [{field: [sel]}]}, kind=kind))
    [peer] = [p for r in models[0].rules for p in r.peers]
    assert (peer.nodes, peer.field) == (True, field)
    check(models, yes, no, direction=direction)


def test_nodes_default_local() -> None:
    implicit = build(cnp({"endpointSelector": SUBJECT, "ingress": [{"fromNodes": [{}]}]}))
    check(implicit, [node("remote-node")], [node("remote-node", cluster="west")], default_local=True)
    check(implicit, [node("remote-node", cluster="west")], [IN_SHOP], default_local=False)
    explicit = build(cnp({"endpointSelector": SUBJECT, "ingress": [
        {"fromNodes": [{"matchExpressions": [{"key": CLUSTER, "operator": "Exists"}]}]}]}))
    check(explicit, [node("remote-node", cluster="west"), node("remote-node")], [pod("web", cluster="west"), node()],
          default_local=True)


# ---------------------------------------------------------------- direction and deny


DIRECTION_POLICY = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: web}}]
  ingressDeny:
    - fromEndpoints: [{matchLabels: {app: web}}]
    - fromEntities: [world]
  egress:
    - toEndpoints: [{matchLabels: {app: db}}]
  egressDeny:
    - toEndpoints: [{matchLabels: {app: db}}]
"""


@pytest.mark.parametrize(("direction", "peer", "expected"), [
    pytest.param("ingress", pod("web"), [(False, "spec.ingress[0].fromEndpoints[0]"),
                                         (True, "spec.ingressDeny[0].fromEndpoints[0]")], id="ingress-web"),
    pytest.param("ingress", WORLD, [(True, None)], id="ingress-deny-entity"),
    pytest.param("ingress", pod("db"), [], id="ingress-db"),
    pytest.param("egress", pod("db"), [(False, "spec.egress[0].toEndpoints[0]"),
                                       (True, "spec.egressDeny[0].toEndpoints[0]")], id="egress-db"),
    pytest.param("egress", pod("web"), [], id="egress-web"),
    pytest.param("egress", WORLD, [], id="egress-world"),
])
def test_direction_and_deny(direction: str, peer: Labels, expected: list[tuple[bool, str | None]]) -> None:
    hits = found(models_of(DIRECTION_POLICY), peer, direction=direction)
    assert [(h.rule.deny, h.peer.path if h.peer else None) for h in hits] == expected
    assert all(h.rule.direction == direction for h in hits)


def test_knp_direction() -> None:
    models = build(knp({"podSelector": SUBJECT, "policyTypes": ["Ingress", "Egress"],
                        "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}],
                        "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}]}))
    check(models, [pod("web")], [pod("db")], direction="ingress")
    check(models, [pod("db")], [pod("web")], direction="egress")
    assert [h.peer.path for h in found(models, pod("db"), direction="egress") if h.peer] == ["spec.egress[0].to[0]"]
    assert all(not r.deny for r in models[0].rules)


# ---------------------------------------------------------------- default_local (Cilium 1.19) and explicit forms

WEST, NORTH = "west", "north"
EXISTS = {"key": CLUSTER, "operator": "Exists"}

DEFAULT_LOCAL_CASES = [
    pytest.param("cnp", {"matchLabels": {"app": "web"}}, True, [pod("web")], [pod("web", cluster=WEST), pod("db")],
                 id="cnp-implicit-1.19"),
    pytest.param("cnp", {"matchLabels": {"app": "web"}}, False, [pod("web"), pod("web", cluster=WEST)],
                 [pod("db", cluster=WEST)], id="cnp-implicit-1.18"),
    pytest.param("cnp", {}, True, [pod("db")], [pod("db", cluster=WEST)], id="cnp-empty-1.19"),
    pytest.param("cnp", {"matchLabels": {"app": "web"}, "matchExpressions": [EXISTS]}, True,
                 [pod("web"), pod("web", cluster=WEST)], [pod("db", cluster=WEST)], id="cnp-exists"),
    pytest.param("cnp", {"matchExpressions": [EXISTS]}, True, [pod("db", cluster=WEST), pod("db")],
                 [pod("db", ns="other", cluster=WEST), WORLD], id="cnp-exists-only-keeps-namespace"),
    pytest.param("cnp", {"matchExpressions": [{"key": CLUSTER, "operator": "In", "values": [LOCAL, WEST]}]}, True,
                 [pod("web"), pod("web", cluster=WEST)], [pod("web", cluster=NORTH)], id="cnp-in"),
    pytest.param("cnp", {"matchLabels": {CLUSTER: WEST}}, True, [pod("web", cluster=WEST)],
                 [pod("web"), pod("web", cluster=NORTH)], id="cnp-single-label"),
    pytest.param("cnp", {"matchLabels": {"k8s:" + CLUSTER: WEST}}, True, [pod("web", cluster=WEST)], [pod("web")],
                 id="cnp-k8s-prefix"),
    pytest.param("cnp", {"matchExpressions": [{"key": "any:" + CLUSTER, "operator": "Exists"}]}, True,
                 [pod("web", cluster=WEST)], [pod("web", ns="other", cluster=WEST)], id="cnp-any-prefix-exists"),
    pytest.param("cnp", {"matchExpressions": [{"key": CLUSTER, "operator": "NotIn", "values": [WEST]}]}, True,
                 [pod("web"), pod("web", cluster=NORTH)], [pod("web", cluster=WEST)], id="cnp-notin"),
    pytest.param("cnp", {"matchLabels": {"reserved:host": ""}}, True, [HOST], [IN_SHOP], id="cnp-reserved-untouched"),
    pytest.param("ccnp", {"matchLabels": {"app": "web"}}, True, [IN_OTHER], [pod("web", ns="other", cluster=WEST)],
                 id="ccnp-implicit-1.19"),
    pytest.param("ccnp", {"matchLabels": {"app": "web"}}, False, [pod("web", ns="other", cluster=WEST)],
                 [pod("db", cluster=WEST)], id="ccnp-implicit-1.18"),
    pytest.param("ccnp", {"matchLabels": {"app": "web"}, "matchExpressions": [EXISTS]}, True,
                 [pod("web", ns="other", cluster=WEST)], [pod("db", cluster=WEST), WORLD], id="ccnp-exists"),
    pytest.param("knp", {"podSelector": {"matchLabels": {"app": "web"}}}, True, [pod("web")],
                 [pod("web", cluster=WEST)], id="knp-implicit-1.19"),
    pytest.param("knp", {"podSelector": {"matchLabels": {"app": "web"}}}, False, [pod("web", cluster=WEST)],
                 [pod("web", ns="other", cluster=WEST)], id="knp-implicit-1.18"),
    pytest.param("knp", {"podSelector": {"matchExpressions": [EXISTS]}}, True, [pod("db", cluster=WEST)],
                 [pod("db", ns="other", cluster=WEST)], id="knp-exists"),
    pytest.param("knp", {"podSelector": {"matchLabels": {CLUSTER: WEST}}}, True, [pod("db", cluster=WEST)],
                 [pod("db")], id="knp-single-label"),
    pytest.param("knp", {"namespaceSelector": {}}, True, [IN_OTHER], [pod("web", ns="other", cluster=WEST)],
                 id="knp-namespace-selector-implicit"),
    pytest.param("knp", {"namespaceSelector": {}, "podSelector": {"matchExpressions": [
        {"key": CLUSTER, "operator": "In", "values": [WEST, NORTH]}]}}, True,
                 [pod("web", ns="other", cluster=WEST), pod("web", ns="x", cluster=NORTH)], [IN_OTHER],
                 id="knp-namespace-selector-in"),
]


@pytest.mark.parametrize(("kind", "peer", "default_local", "yes", "no"), DEFAULT_LOCAL_CASES)
def test_default_local(kind: str, peer: dict[str, Any], default_local: bool, yes: list[Labels],
                       no: list[Labels]) -> None:
    check(build(ingress_policy(kind, peer)), yes, no, default_local=default_local)


def test_default_local_applies_to_deny_and_egress() -> None:
    models = build(cnp({"endpointSelector": SUBJECT, "egressDeny": [{"toEndpoints": [{"matchLabels": {"app": "db"}}]}],
                        "egress": [{"toEndpoints": [{"matchLabels": {"app": "db"}, "matchExpressions": [EXISTS]}]}]}))
    hits = found(models, pod("db", cluster=WEST), direction="egress", default_local=True)
    assert [h.rule.deny for h in hits] == [False]  # the implicit deny stops denying remote clusters on 1.19
    hits = found(models, pod("db", cluster=WEST), direction="egress", default_local=False)
    assert sorted(h.rule.deny for h in hits) == [False, True]


def test_default_local_without_enforcing_cluster_matches_no_implicit_peer() -> None:
    models = build(ingress_policy("cnp", {}))
    assert list(selection.matching(models, "ingress", API, pod("web"), "TCP", 80, None, True)) == []
    assert len(list(selection.matching(models, "ingress", API, pod("web"), "TCP", 80, None, False))) == 1


IMPLICIT_CASES = [
    pytest.param("cnp", {}, True, id="cnp-empty"),
    pytest.param("cnp", {"matchLabels": {"app": "web"}}, True, id="cnp-labels"),
    pytest.param("cnp", {"matchLabels": {CLUSTER: WEST}}, False, id="cnp-label"),
    pytest.param("cnp", {"matchLabels": {"k8s:" + CLUSTER: WEST}}, False, id="cnp-k8s-label"),
    pytest.param("cnp", {"matchExpressions": [{"key": "any:" + CLUSTER, "operator": "Exists"}]}, False, id="cnp-any"),
    pytest.param("cnp", {"matchExpressions": [{"key": CLUSTER, "operator": "DoesNotExist"}]}, False,
                 id="cnp-doesnotexist"),
    pytest.param("cnp", {"matchLabels": {"unspec:" + CLUSTER: WEST}}, True, id="cnp-unspec-prefix"),
    pytest.param("cnp", {"matchLabels": {"reserved:host": ""}}, False, id="cnp-reserved"),
    pytest.param("ccnp", {}, True, id="ccnp-empty"),
    pytest.param("knp", {"podSelector": {"matchLabels": {CLUSTER: WEST}}}, False, id="knp-label"),
    pytest.param("knp", {"podSelector": {"matchLabels": {CLUSTER: ""}}}, True, id="knp-empty-value"),
    pytest.param("knp", {"podSelector": {"matchExpressions": [EXISTS]}}, False, id="knp-exists"),
    pytest.param("knp", {"namespaceSelector": {"matchLabels": {CLUSTER: WEST}}}, True, id="knp-cluster-in-namespace"),
]


@pytest.mark.parametrize(("kind", "peer", "implicit"), IMPLICIT_CASES)
def test_implicit_flag(kind: str, peer: dict[str, Any], implicit: bool) -> None:
    [m] = build(ingress_policy(kind, peer))
    assert [p.implicit for r in m.rules for p in r.peers] == [implicit]


def test_knp_empty_cluster_value_is_replaced_by_local_cluster() -> None:
    """An empty `io.cilium.k8s.policy.cluster` value is implicit: Cilium 1.19's parseNetworkPolicyPeer sets
    MatchLabels[io.cilium.k8s.policy.cluster] = <local cluster>, so the peer selects local web pods."""
    models = build(ingress_policy("knp", {"podSelector": {"matchLabels": {"app": "web", CLUSTER: ""}}}))
    check(models, [pod("web")], [pod("web", cluster=WEST), pod("db")], default_local=True)


# ---------------------------------------------------------------- paths: spec, specs, List items

PATHS = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: multi, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
    - fromEndpoints:
        - matchLabels: {app: web}
        - matchLabels: {app: batch}
    - fromNodes: [{}]
      fromEntities: [world]
specs:
  - endpointSelector: {matchLabels: {app: a}}
    ingress:
      - fromEndpoints: [{matchLabels: {app: web}}]
  - endpointSelector: {matchLabels: {app: b}}
    egress:
      - toEndpoints: [{matchLabels: {app: db}}]
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: c}
  - apiVersion: cilium.io/v2
    kind: CiliumClusterwideNetworkPolicy
    metadata: {name: cw}
    spec:
      endpointSelector: {}
      egressDeny:
        - toEndpoints: [{matchLabels: {app: evil}}]
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: k, namespace: shop}
    spec:
      podSelector: {}
      ingress:
        - from:
            - podSelector: {matchLabels: {app: web}}
        - from:
            - ipBlock: {cidr: 10.0.0.0/8}
            - namespaceSelector: {}
"""


def test_peer_paths_match_scan() -> None:
    models = models_of(PATHS)
    assert [(m.policy.kind, m.key) for m in models] == [
        ("CiliumNetworkPolicy", ("shop", "multi")), ("CiliumClusterwideNetworkPolicy", ("", "cw")),
        ("NetworkPolicy", ("shop", "k"))]
    paths = [[p.path for r in m.rules for p in r.peers] for m in models]
    assert paths == [
        ["spec.ingress[0].fromEndpoints[0]", "spec.ingress[0].fromEndpoints[1]", "spec.ingress[1].fromNodes[0]",
         "specs[0].ingress[0].fromEndpoints[0]", "specs[1].egress[0].toEndpoints[0]"],
        ["items[1].spec.egressDeny[0].toEndpoints[0]"],
        ["items[2].spec.ingress[0].from[0]", "items[2].spec.ingress[1].from[1]"],
    ]
    # the model's paths are the ones cilium.peers reports
    for m in models:
        assert [p.path for r in m.rules for p in r.peers] == [format_path(p.path) for p in cilium.peers(m.policy)]


@pytest.mark.parametrize(("direction", "enforcing", "peer", "expected"), [
    pytest.param("ingress", API, pod("batch"), ["spec.ingress[0].fromEndpoints[1]", "items[2].spec.ingress[1].from[1]"],
                 id="second-selector"),
    pytest.param("ingress", API, pod("web"), ["spec.ingress[0].fromEndpoints[0]", "items[2].spec.ingress[0].from[0]",
                                              "items[2].spec.ingress[1].from[1]"], id="cnp-and-knp"),
    pytest.param("ingress", pod("a"), pod("web"), ["specs[0].ingress[0].fromEndpoints[0]",
                                                   "items[2].spec.ingress[0].from[0]",
                                                   "items[2].spec.ingress[1].from[1]"], id="specs-own-subject"),
    pytest.param("ingress", pod("b"), pod("web"), ["items[2].spec.ingress[0].from[0]",
                                                   "items[2].spec.ingress[1].from[1]"], id="specs-other-subject"),
    pytest.param("egress", pod("b"), pod("db"), ["specs[1].egress[0].toEndpoints[0]"], id="specs-egress"),
    pytest.param("egress", pod("b"), pod("evil", ns="x"), ["items[1].spec.egressDeny[0].toEndpoints[0]"],
                 id="list-item-ccnp"),
    pytest.param("ingress", API, node("remote-node"), ["spec.ingress[1].fromNodes[0]"], id="nodes"),
    pytest.param("ingress", API, pod("db", ns="other"), ["items[2].spec.ingress[1].from[1]"], id="ns-selector"),
])
def test_match_paths(direction: str, enforcing: Labels, peer: Labels, expected: list[str]) -> None:
    hits = found(models_of(PATHS), peer, direction=direction, enforcing=enforcing)
    assert sorted(h.peer.path for h in hits if h.peer) == sorted(expected)


def test_specs_rules_keep_their_own_subject_and_list_kind() -> None:
    text = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicyList
items:
  - apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata: {name: one, namespace: other}
    specs:
      - endpointSelector: {matchLabels: {app: a}}
        ingress: [{fromEndpoints: [{}]}]
      - endpointSelector: {matchLabels: {app: b}}
        ingress: [{fromEntities: [host]}]
"""
    [m] = models_of(text)
    assert m.key == ("other", "one")
    assert [p.path for r in m.rules for p in r.peers] == ["items[0].specs[0].ingress[0].fromEndpoints[0]"]
    check([m], [pod("x", ns="other")], [pod("x"), HOST], enforcing=pod("a", ns="other"))
    check([m], [HOST], [pod("x", ns="other")], enforcing=pod("b", ns="other"))


def test_cilium_l4_only_rule_allows_every_peer_on_its_ports() -> None:
    """`ingress: [{toPorts: ...}]` has no L3 part: every peer, in every cluster, on those ports."""
    [m] = build(cnp({"endpointSelector": SUBJECT, "ingress": [{"toPorts": [{"ports": [{"port": "80"}]}]}]}))
    for labels in (IN_OTHER, WORLD, HOST, pod("web", cluster="west")):
        assert [h.peer for h in found([m], labels, default_local=True)] == [None], labels
    check([m], [], [IN_SHOP], enforcing=pod("db"))
    check([m], [], [IN_SHOP], port=81)


def test_cilium_empty_rule_allows_nothing() -> None:
    """`ingress: [{}]` is Cilium's documented default-deny form."""
    [m] = build(cnp({"endpointSelector": SUBJECT, "ingress": [{}]}))
    check([m], [], [IN_SHOP, IN_OTHER, WORLD, HOST, pod("web", cluster="west")])


def test_cilium_rule_with_only_cidr_peers_does_not_select_pods() -> None:
    [m] = build(cnp({"endpointSelector": SUBJECT, "egress": [{"toCIDR": ["10.0.0.0/8"]}]}))
    check([m], [], [IN_SHOP, pod("web", cluster="west")], direction="egress")


def test_requires_peers_allow_nothing() -> None:
    """fromRequires only narrows what other peers allow (and is rejected by 1.19): never an allow peer."""
    [m] = build(cnp({"endpointSelector": SUBJECT, "ingress": [{"fromRequires": [{"matchLabels": {"app": "web"}}]}]}))
    check([m], [], [IN_SHOP, pod("web")])
