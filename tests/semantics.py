"""Which endpoints a Cilium peer selector admits: an independent model, the semantic oracle of the rewrite tests.

Written from `shared/docs/cilium-facts.md` §1 (beside the project at `../shared`; read it, the tests never
open it) and nothing else of this project: it imports nothing from `codemod`, so a misreading of Cilium in
the engine (or in `codemod.selection`) is not repeated here. Where the facts sheet is silent the choice is
marked `SILENT:` with what was chosen and why; the rule followed there is to read Cilium's own source
(around v1.18/v1.19: `pkg/k8s/apis/cilium.io/utils/utils.go`, `pkg/k8s/network_policy.go`, `pkg/labels`) and, where
that leaves a doubt, to take the reading under which the oracle tells more endpoints apart.

Vocabulary
- An *endpoint* is a security identity: a set of labels `source:key=value` (sources k8s, reserved, node,
  cidr, container, ...). Pods and nodes carry `k8s:io.cilium.k8s.policy.cluster=<their cluster>` (facts
  §1.3); reserved identities (world, host, kube-apiserver, ...) carry no cluster label (facts §3).
- A *requirement* is one term of a label selector: a key, the source it reads (`any` reads every source),
  an operator (In, NotIn, Exists, DoesNotExist) and values. A *selector* is a tuple of requirements that must
  all hold; `()` admits every endpoint.
- A *peer* is one entry of `fromEndpoints`/`toEndpoints`/`fromNodes`/`toNodes` of a CiliumNetworkPolicy or
  CiliumClusterwideNetworkPolicy rule (`spec` and each `specs[i]`), or one `from`/`to` entry of a Kubernetes
  NetworkPolicy that has a podSelector and/or a namespaceSelector (facts §1.1, §1.2).
- `local_cluster=None` evaluates a peer as Cilium 1.18 does (`policy-default-local-cluster` off: nothing is
  added, the peer matches every cluster); `local_cluster="east"` as Cilium 1.19 enforcing in cluster east
  (the flag on: an implicit peer gets `k8s:io.cilium.k8s.policy.cluster=east`).

The effective selector of a peer is built the way Cilium builds it (`effective_selector`) and evaluated on a
`Universe` of endpoints as a set (an int bit mask, so a few thousand generated cases stay fast);
`Requirement.matches` is the plain per-endpoint definition the masks must agree with.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

CLUSTER_KEY = "io.cilium.k8s.policy.cluster"
NAMESPACE_KEY = "io.kubernetes.pod.namespace"
NAMESPACE_LABELS = "io.cilium.k8s.namespace.labels."  # a pod carries its namespace's labels under this prefix
ANY = "any"

CNP, CCNP, KNP = "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy"
# (section, peer field, is a node peer) per Cilium rule (facts §1.1). SILENT: fromRequires/toRequires are not
# modelled: Cilium 1.19 rejects a policy that uses them (facts §1.1), so there is no 1.19 meaning to compare.
CILIUM_FIELDS = (("ingress", "fromEndpoints", False), ("ingress", "fromNodes", True),
                 ("ingressDeny", "fromEndpoints", False), ("ingressDeny", "fromNodes", True),
                 ("egress", "toEndpoints", False), ("egress", "toNodes", True),
                 ("egressDeny", "toEndpoints", False), ("egressDeny", "toNodes", True))
KNP_FIELDS = (("ingress", "from"), ("egress", "to"))
DEFAULT_NAMESPACE = "default"


class InvalidSelector(ValueError):
    """The API server or Cilium would refuse this selector; the model does not guess what it means."""


# ---------------------------------------------------------------------------------------------------------
# Labels, endpoints, requirements.


@dataclass(frozen=True)
class Label:
    source: str
    key: str
    value: str = ""

    def __str__(self) -> str:
        return f"{self.source}:{self.key}={self.value}"


@dataclass(frozen=True)
class Endpoint:
    name: str
    labels: frozenset[Label]

    @property
    def cluster(self) -> str | None:
        """The cluster the endpoint belongs to: its `k8s:` cluster label, None for reserved identities."""
        found = [lbl.value for lbl in self.labels if lbl.source == "k8s" and lbl.key == CLUSTER_KEY]
        return found[0] if found else None

    def values(self, source: str, key: str) -> list[str]:
        """The values of its labels named `key` from `source` (`any`: from every source)."""
        return [lbl.value for lbl in self.labels if lbl.key == key and source in (ANY, lbl.source)]


def endpoint(name: str, *labels: str) -> Endpoint:
    """`endpoint("east/shop/web", "k8s:app=web", "reserved:host")`: labels written `source:key=value`."""
    parsed = []
    for text in labels:
        source, _, rest = text.partition(":")
        key, _, value = rest.partition("=")
        parsed.append(Label(source, key, value))
    return Endpoint(name, frozenset(parsed))


@dataclass(frozen=True)
class Requirement:
    source: str  # `any` reads every source
    key: str
    operator: str
    values: frozenset[str] = frozenset()

    def matches(self, ep: Endpoint) -> bool:
        """Kubernetes label-selector semantics on Cilium's labels: In needs the key with one of the values,
        NotIn holds when the key is missing or has none of them, Exists / DoesNotExist test the key only."""
        found = ep.values(_reads(self.source), self.key)
        if self.operator == "In":
            return any(v in self.values for v in found)
        if self.operator == "NotIn":
            return not any(v in self.values for v in found)
        if self.operator == "Exists":
            return bool(found)
        if self.operator == "DoesNotExist":
            return not found
        raise InvalidSelector(f"unknown operator {self.operator!r}")

    def __str__(self) -> str:
        values = f" {sorted(self.values)}" if self.operator in ("In", "NotIn") else ""
        return f"{self.source}:{self.key} {self.operator}{values}"


Selector = tuple[Requirement, ...]


def split_source(key: str) -> tuple[str, str]:
    """A Cilium selector key `source:name` → (source, name); a key without a source reads every source.

    SILENT (facts §1.1 only says `unspec:` and other prefixes do not make a selector explicit): Cilium matches
    a selector key through `labels.parseSelectLabel`, which reads an `unspec` source as `any`, so
    `unspec:app` matches like `app`. It still does not name the cluster (`names` below compares the written
    source, as Cilium's HasKey does)."""
    source, sep, name = key.partition(":")
    if not sep:
        return ANY, key
    return source, name


def _reads(source: str) -> str:
    return ANY if source == "unspec" else source


def _string(value: Any, where: str) -> str:
    # YAML that loads as a number, a boolean or null (`0755`, `no`, `~`) is not a label value: the API server
    # refuses the object. The rewrite must quote cluster names such as `no` and `0755`.
    if not isinstance(value, str):
        raise InvalidSelector(f"{where}: {value!r} is not a string")
    return value


def label_selector(data: Any, *, source: str | None = None, key_prefix: str = "") -> Selector:
    """The requirements of a Kubernetes LabelSelector (`matchLabels` and `matchExpressions`) as plain data.

    `source=None`: keys carry their own source (Cilium policies); otherwise every key is read from `source`
    as written, prefix and all (a Kubernetes NetworkPolicy: no prefixes there, facts §1.2; SILENT: a key
    such as `k8s:app`, which Kubernetes refuses, is kept as a literal key no endpoint carries).
    `key_prefix` is put before each key (a namespaceSelector's keys become namespace labels)."""
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise InvalidSelector(f"a selector must be a mapping, not {data!r}")
    unknown = set(data) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise InvalidSelector(f"unknown selector fields {sorted(unknown)}")

    def requirement(key: Any, operator: str, values: Iterable[str] = ()) -> Requirement:
        key = _string(key, "label key")
        src, name = split_source(key) if source is None else (source, key)
        return Requirement(src, key_prefix + name, operator, frozenset(values))

    out: list[Requirement] = []
    labels = data.get("matchLabels")
    if labels is not None:
        if not isinstance(labels, dict):
            raise InvalidSelector(f"matchLabels must be a mapping, not {labels!r}")
        out += [requirement(k, "In", [_string(v, f"matchLabels {k}")]) for k, v in labels.items()]
    expressions = data.get("matchExpressions")
    if expressions is not None:
        if not isinstance(expressions, list):
            raise InvalidSelector(f"matchExpressions must be a list, not {expressions!r}")
        for item in expressions:
            if not isinstance(item, dict) or set(item) - {"key", "operator", "values"}:
                raise InvalidSelector(f"not a selector requirement: {item!r}")
            operator = item.get("operator")
            values = item.get("values")
            if operator in ("In", "NotIn"):  # Kubernetes validation: a non-empty list of strings
                if not isinstance(values, list) or not values:
                    raise InvalidSelector(f"{operator} needs values: {item!r}")
                out.append(requirement(item.get("key"), operator, [_string(v, "value") for v in values]))
            elif operator in ("Exists", "DoesNotExist"):  # ... and no values
                if values:
                    raise InvalidSelector(f"{operator} takes no values: {item!r}")
                out.append(requirement(item.get("key"), operator))
            else:
                raise InvalidSelector(f"unknown operator in {item!r}")
    return tuple(out)


def _written_keys(data: Any) -> list[str]:
    """The keys a selector names as written: matchLabels keys and matchExpressions keys, any operator."""
    if not isinstance(data, dict):
        return []
    keys = [str(k) for k in (data.get("matchLabels") or {})]
    keys += [str(e.get("key")) for e in (data.get("matchExpressions") or []) if isinstance(e, dict)]
    return keys


def names(data: Any, key: str) -> bool:
    """Whether a Cilium selector names `key`, bare or with the `k8s:` or `any:` source (facts §1.1: another
    source such as `unspec:` does not count)."""
    return any(k in (key, f"k8s:{key}", f"any:{key}") for k in _written_keys(data))


def has_reserved_key(data: Any) -> bool:
    return any(k.startswith("reserved:") for k in _written_keys(data))


# ---------------------------------------------------------------------------------------------------------
# Peers and what Cilium makes of them.


@dataclass(frozen=True)
class Peer:
    doc: int  # index of the document in its stream
    path: tuple[str | int, ...]  # data keys from the document root to the peer, e.g. ("spec", "ingress", 0, ...)
    kind: str  # CNP, CCNP or KNP
    namespace: str | None  # the policy's namespace; None for a clusterwide policy
    node: bool  # fromNodes / toNodes
    data: Any  # the peer mapping as loaded (shared with the document: never changed here)


def _list(value: Any) -> list[Any]:
    """A peer or rule list as written; absent, null or anything else holds nothing (facts §1.1)."""
    return value if isinstance(value, list) else []


def peers(docs: Sequence[Any]) -> list[Peer]:
    """Every peer selector of the policies in a loaded YAML stream, in document order."""
    found: list[Peer] = []
    for index, doc in enumerate(docs):
        if not isinstance(doc, dict) or doc.get("kind") not in (CNP, CCNP, KNP):
            continue
        kind = doc["kind"]
        meta: dict[str, Any] = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
        # SILENT: a namespaced policy without metadata.namespace is deployed where it is applied; like
        # Cilium's ExtractNamespaceOrDefault for NetworkPolicy, take "default".
        namespace = None if kind == CCNP else str(meta.get("namespace") or DEFAULT_NAMESPACE)
        if kind == KNP:
            spec = doc.get("spec")
            if not isinstance(spec, dict):
                continue
            for section, field in KNP_FIELDS:
                for i, rule in enumerate(_list(spec.get(section))):
                    if not isinstance(rule, dict):
                        continue
                    for j, peer in enumerate(_list(rule.get(field))):
                        # An ipBlock-only peer selects no endpoint by label (facts §1.2): not a peer here.
                        if isinstance(peer, dict) and (peer.get("podSelector") is not None
                                                       or peer.get("namespaceSelector") is not None):
                            found.append(Peer(index, ("spec", section, i, field, j), KNP, namespace, False, peer))
            continue
        rules: list[tuple[tuple[str | int, ...], Any]] = [(("spec",), doc.get("spec"))]
        rules += [(("specs", i), r) for i, r in enumerate(_list(doc.get("specs")))]
        for rule_path, rule in rules:
            if not isinstance(rule, dict):
                continue
            for section, field, node in CILIUM_FIELDS:
                for i, entry in enumerate(_list(rule.get(section))):
                    if not isinstance(entry, dict):
                        continue
                    for j, peer in enumerate(_list(entry.get(field))):
                        found.append(Peer(index, (*rule_path, section, i, field, j), kind, namespace, node, peer))
    return found


def relies_on_default(peer: Peer) -> bool:
    """Whether Cilium 1.19 adds the local cluster to this peer (facts §1.1, §1.2): it names no cluster.

    Cilium policies: no cluster key (bare, `k8s:`, `any:`) in matchLabels or in any matchExpressions key,
    and no `reserved:` key (facts §1.1 leaves those alone, and makes no exception for node peers; Cilium's
    utils.go as we read it adds the cluster to a node peer even with a `reserved:` key — the facts sheet
    wins here). NetworkPolicy: the podSelector (a missing one counts as `{}`) has no matchExpressions key
    `io.cilium.k8s.policy.cluster` and no such matchLabels key with a non-empty value (exact key only)."""
    if peer.kind == KNP:
        pod = peer.data.get("podSelector")
        if not isinstance(pod, dict):
            return True
        labels: dict[str, Any] = pod["matchLabels"] if isinstance(pod.get("matchLabels"), dict) else {}
        expressions: list[Any] = pod["matchExpressions"] if isinstance(pod.get("matchExpressions"), list) else []
        named = labels.get(CLUSTER_KEY) not in (None, "") or any(
            isinstance(e, dict) and e.get("key") == CLUSTER_KEY for e in expressions)
        return not named
    return not names(peer.data, CLUSTER_KEY) and not has_reserved_key(peer.data)


# SILENT: Cilium's utils.go adds this to every node peer, so a node peer selects remote nodes only.
NODE_TERMS: Selector = (Requirement("reserved", "remote-node", "Exists"),)


def namespace_terms(peer: Peer) -> Selector:
    """What Cilium adds for the namespace to an endpoint peer of a Cilium policy without a `reserved:` key.

    SILENT in the facts sheet; from Cilium's utils.go `getEndpointSelector`: nothing when the peer names the
    namespace key (`io.kubernetes.pod.namespace` bare, `k8s:` or `any:`). Otherwise a namespaced policy adds
    `k8s:io.kubernetes.pod.namespace=<its namespace>`, unless the peer selects by namespace labels
    (`io.cilium.k8s.namespace.labels.*`), and a clusterwide one adds `k8s:io.kubernetes.pod.namespace Exists`
    (pods of every namespace, and only pods). SILENT too: a subject selecting `reserved:init` turns this
    off in Cilium; the generator writes no such subject, so it is not modelled."""
    if names(peer.data, NAMESPACE_KEY):
        return ()
    if peer.namespace is None:
        return (Requirement("k8s", NAMESPACE_KEY, "Exists"),)
    prefixes = (NAMESPACE_LABELS, f"k8s:{NAMESPACE_LABELS}", f"any:{NAMESPACE_LABELS}")
    if any(k.startswith(prefixes) for k in _written_keys(peer.data)):
        return ()
    return (Requirement("k8s", NAMESPACE_KEY, "In", frozenset({peer.namespace})),)


def effective_selector(peer: Peer, local_cluster: str | None) -> Selector:
    """The selector Cilium enforces for a peer: the peer as written plus what Cilium adds.

    Cilium policies: a peer with a `reserved:` key is used as written (facts §1.1 for the cluster; Cilium adds
    no namespace either). An endpoint peer gets `namespace_terms`, a node peer `NODE_TERMS`. Then 1.19 adds
    `k8s:io.cilium.k8s.policy.cluster=<local>` to a peer that relies on the default (facts §1.1).

    NetworkPolicy (facts §1.2 for the cluster; the rest, SILENT there, from Cilium's network_policy.go): on
    1.19 the podSelector of a peer that relies on the default gets `io.cilium.k8s.policy.cluster=<local>`
    (created if missing, written over an empty value). With a namespaceSelector its keys become namespace
    labels (an empty one: `io.kubernetes.pod.namespace Exists`) beside the podSelector's; without one the
    podSelector is limited to the policy's namespace (written over a namespace key of the podSelector). All
    keys read `k8s:` labels."""
    if peer.kind == KNP:
        return _knp_selector(peer, local_cluster)
    if peer.data is None:
        raise InvalidSelector("a null peer")
    written = label_selector(peer.data)
    if peer.node:
        added = NODE_TERMS
    elif has_reserved_key(peer.data):
        return written
    else:
        added = namespace_terms(peer)
    if local_cluster is not None and relies_on_default(peer):
        added += (Requirement("k8s", CLUSTER_KEY, "In", frozenset({local_cluster})),)
    return written + added


def _knp_selector(peer: Peer, local_cluster: str | None) -> Selector:
    pod = peer.data.get("podSelector")
    namespaces = peer.data.get("namespaceSelector")
    if local_cluster is not None and relies_on_default(peer):
        pod = copy.deepcopy(pod) if isinstance(pod, dict) else {}
        pod["matchLabels"] = {**(pod.get("matchLabels") or {}), CLUSTER_KEY: local_cluster}
    if namespaces is not None:
        namespace_part = label_selector(namespaces, source="k8s", key_prefix=NAMESPACE_LABELS)
        if not namespace_part:
            namespace_part = (Requirement("k8s", NAMESPACE_KEY, "Exists"),)
        return namespace_part + label_selector(pod, source="k8s")
    assert peer.namespace is not None
    pod = copy.deepcopy(pod) if isinstance(pod, dict) else {}
    pod["matchLabels"] = {**(pod.get("matchLabels") or {}), NAMESPACE_KEY: peer.namespace}
    return label_selector(pod, source="k8s")


# ---------------------------------------------------------------------------------------------------------
# A universe of endpoints, and admitted sets as bit masks over it.


class Universe:
    """A fixed list of endpoints; a set of them is an int whose bit i stands for endpoint i."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self.endpoints = tuple(endpoints)
        names_seen = [ep.name for ep in self.endpoints]
        assert len(set(names_seen)) == len(names_seen), "endpoint names must be unique"
        self.everything = (1 << len(self.endpoints)) - 1
        self.clusters = tuple(sorted({ep.cluster for ep in self.endpoints if ep.cluster is not None}))
        # (source, key) → value → endpoints with that label; source ANY collects every source
        self._index: dict[tuple[str, str], dict[str, int]] = {}
        for i, ep in enumerate(self.endpoints):
            for lbl in ep.labels:
                for source in (lbl.source, ANY):
                    by_value = self._index.setdefault((source, lbl.key), {})
                    by_value[lbl.value] = by_value.get(lbl.value, 0) | 1 << i
        self._keyed = {k: _union(v.values()) for k, v in self._index.items()}
        self._cache: dict[Selector, int] = {}

    def requirement(self, req: Requirement) -> int:
        source = _reads(req.source)
        if req.operator in ("In", "NotIn"):
            by_value = self._index.get((source, req.key), {})
            hit = _union(by_value.get(v, 0) for v in req.values)
            return hit if req.operator == "In" else self.everything & ~hit
        keyed = self._keyed.get((source, req.key), 0)
        if req.operator == "Exists":
            return keyed
        if req.operator == "DoesNotExist":
            return self.everything & ~keyed
        raise InvalidSelector(f"unknown operator {req.operator!r}")

    def select(self, selector: Selector) -> int:
        """The endpoints a selector admits: every requirement holds."""
        mask = self._cache.get(selector)
        if mask is None:
            mask = self.everything
            for req in selector:
                mask &= self.requirement(req)
            if len(self._cache) < 100_000:
                self._cache[selector] = mask
        return mask

    def admitted(self, peer: Peer, local_cluster: str | None) -> int:
        """The endpoints a peer admits on Cilium 1.18 (`local_cluster=None`) or on 1.19 in `local_cluster`."""
        return self.select(effective_selector(peer, local_cluster))

    def in_clusters(self, clusters: Iterable[str]) -> int:
        """The endpoints whose cluster label names one of `clusters`."""
        wanted = set(clusters)
        return _union(1 << i for i, ep in enumerate(self.endpoints) if ep.cluster in wanted)

    def names(self, mask: int) -> list[str]:
        return [ep.name for i, ep in enumerate(self.endpoints) if mask >> i & 1]

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self.endpoints)

    def __len__(self) -> int:
        return len(self.endpoints)


def _union(masks: Iterable[int]) -> int:
    out = 0
    for mask in masks:
        out |= mask
    return out


# Reserved identities, with no cluster label (facts §3); kube-apiserver also carries reserved:world, as in
# Cilium, and a CIDR identity its cidr label beside reserved:world.
RESERVED = (("world", ("reserved:world",)), ("host", ("reserved:host",)),
            ("kube-apiserver", ("reserved:kube-apiserver", "reserved:world")), ("health", ("reserved:health",)),
            ("unmanaged", ("reserved:unmanaged",)), ("ingress", ("reserved:ingress",)),
            ("cidr-10.0.0.0/8", ("cidr:10.0.0.0/8", "reserved:world")))


def covering_labels(keys: Sequence[str], choices: Sequence[str], rng: random.Random) -> list[dict[str, str]]:
    """Label sets on which distinct single requirements over `keys` and `choices` always differ.

    Two orthogonal Latin squares (with a prime number of choices, more than the keys): in the first, set i
    gives key k the choice i + k, in the second the choice i + 2k, so every key takes every choice and two keys
    never take theirs on the same sets; then a set without each key (random choices for the others) and the
    empty set."""
    out = [{k: choices[(i + step * n) % len(choices)] for n, k in enumerate(keys)}
           for step in (1, 2) for i in range(len(choices))]
    out += [{k: rng.choice(choices) for k in keys if k != key} for key in keys]
    return [*out, {}]


def build_universe(*, clusters: Sequence[str], namespaces: Sequence[str], pod_keys: Sequence[str],
                   namespace_keys: Sequence[str], values: Sequence[str], seed: int = 1919,
                   extra_pods: int = 8) -> Universe:
    """Endpoints in every cluster: pods in every namespace, remote nodes, and the reserved identities.

    Coverage by construction, so that distinct selectors over these keys and values are told apart (checked
    in test_semantics.py); `values` and one value `other` that no selector names are the label values.
    - In every cluster and each of `namespaces`: a pod for each `covering_labels` set of `pod_keys`, then
      `extra_pods` pods with random labels (seeded: the universe is the same on every run), a third of them
      with their first label from another source (`container:`, `cni:`), so that `k8s:app` and `app` differ.
    - Namespace labels: `kubernetes.io/metadata.name` and a `covering_labels` set of `namespace_keys`; more
      namespaces (`ns6`, ...) are added until every set has one, with a pod without labels and two random
      pods each. The second namespace also carries the cluster key as a namespace label.
    - Three remote nodes per cluster, with `reserved:remote-node`, the cluster label and random `node:` labels.
    - The reserved identities of `RESERVED`, without a cluster label."""
    rng = random.Random(seed)
    choices = [*values, "other"]
    label_keys = [k for k in namespace_keys if k != "kubernetes.io/metadata.name"]
    ns_sets = covering_labels(label_keys, choices, rng)
    all_namespaces = [*namespaces, *(f"ns{i}" for i in range(len(namespaces), len(ns_sets)))]
    out: list[Endpoint] = []
    for cluster in clusters:
        for n, ns in enumerate(all_namespaces):
            ns_labels = {"kubernetes.io/metadata.name": ns, **(ns_sets[n] if n < len(ns_sets) else {})}
            if n == 1:
                ns_labels[CLUSTER_KEY] = clusters[0]
            base = [f"k8s:{NAMESPACE_KEY}={ns}", f"k8s:{CLUSTER_KEY}={cluster}"]
            base += [f"k8s:{NAMESPACE_LABELS}{k}={v}" for k, v in ns_labels.items()]
            named = ns in namespaces
            pods = covering_labels(pod_keys, choices, rng) if named else [{}]
            covering = len(pods)
            for _ in range(extra_pods if named else 2):
                pods.append({k: rng.choice(choices) for k in pod_keys if rng.random() < 0.6})
            for p, labels in enumerate(pods):
                written = [f"k8s:{k}={v}" for k, v in labels.items()]
                if p >= covering and p % 3 == 0 and written:  # a random pod's first label from another source
                    written[0] = rng.choice(["container:", "cni:"]) + written[0].removeprefix("k8s:")
                out.append(endpoint(f"{cluster}/{ns}/pod{p}", *base, *written))
        for n in range(3):
            node_labels = [f"node:{k}={rng.choice(choices)}" for k in pod_keys if rng.random() < 0.5]
            out.append(endpoint(f"{cluster}/node{n}", "reserved:remote-node", f"k8s:{CLUSTER_KEY}={cluster}",
                                *node_labels))
    out += [endpoint(name, *labels) for name, labels in RESERVED]
    return Universe(out)
