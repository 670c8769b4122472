"""Cilium's policy semantics, and nothing else: which manifests are policies, which fields are peers,
when a peer selector relies on the implicit cluster default, and the correct explicit forms.

Every rule here traces to `shared/docs/cilium-facts.md` §1; when Cilium changes, this file changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from codemod.documents import Document, Mapping, Node, Path, Scalar, Sequence, deref

CLUSTER_KEY = "io.cilium.k8s.policy.cluster"
# Source prefixes the agent treats as naming the cluster label; `unspec:`, `cni:` … do not count.
CILIUM_CLUSTER_KEYS = frozenset({CLUSTER_KEY, f"k8s:{CLUSTER_KEY}", f"any:{CLUSTER_KEY}"})

CNP = "CiliumNetworkPolicy"
CCNP = "CiliumClusterwideNetworkPolicy"
KNP = "NetworkPolicy"
KINDS = (CNP, CCNP, KNP)
# Cluster-scoped kinds: their metadata.namespace, if written, means nothing.
CLUSTER_SCOPED = frozenset({CCNP, "CiliumBGPPeeringPolicy", "CiliumLoadBalancerIPPool", "CiliumBGPClusterConfig"})
_GROUPS = {CNP: "cilium.io/", CCNP: "cilium.io/", KNP: "networking.k8s.io/"}

# Per rule section: (direction, deny, peer-selector fields). Subjects (endpointSelector, nodeSelector) are
# never peers: a policy only applies to local endpoints.
CILIUM_SECTIONS = {
    "ingress": ("ingress", False, ("fromEndpoints", "fromNodes", "fromRequires")),
    "ingressDeny": ("ingress", True, ("fromEndpoints", "fromNodes", "fromRequires")),
    "egress": ("egress", False, ("toEndpoints", "toNodes", "toRequires")),
    "egressDeny": ("egress", True, ("toEndpoints", "toNodes", "toRequires")),
}
REQUIRES_FIELDS = ("fromRequires", "toRequires")
KNP_SECTIONS = {"ingress": ("ingress", "from"), "egress": ("egress", "to")}

ALL_CLUSTERS_EXPRESSION = {"key": CLUSTER_KEY, "operator": "Exists"}


def text_of(node: Node | None) -> str | None:
    node = deref(node)
    return node.value if isinstance(node, Scalar) and not node.is_null else None


@dataclass
class Policy:
    """One manifest inside a document (the document itself, or an item of a `List`): a policy, or another
    kind a rule asked for."""

    document: Document
    kind: str
    namespace: str | None
    name: str
    path: Path  # from the document root to the manifest: () or ("items", 3)
    node: Mapping


@dataclass
class Peer:
    """One peer selector of a rule: the selector mapping (Cilium) or the peer entry (NetworkPolicy)."""

    policy: Policy
    path: Path  # from the document root
    node: Node  # as written (may be an alias)
    field: str  # fromEndpoints, toNodes, from, to, …
    direction: str  # ingress | egress
    deny: bool

    @property
    def selector_path(self) -> Path:
        """Where a cluster selector goes: the selector itself, or a NetworkPolicy peer's podSelector."""
        return (*self.path, "podSelector") if self.policy.kind == KNP else self.path

    @property
    def selector(self) -> Mapping | None:
        node = deref(self.node)
        if self.policy.kind == KNP:
            node = deref(node.get("podSelector")) if isinstance(node, Mapping) else None
        return node if isinstance(node, Mapping) else None


def policies(doc: Document) -> Iterator[Policy]:
    """The policies a document holds, `kind: List` items included."""
    yield from manifests(doc, KINDS)


def manifests(doc: Document, kinds: Iterable[str]) -> Iterator[Policy]:
    """The manifests of these kinds a document holds (`kind: List` items included); a kind that belongs to
    a known API group must carry that group, a Cilium kind the `cilium.io` one."""
    yield from _manifests_in(doc, deref(doc.root), (), frozenset(kinds))


def _manifests_in(doc: Document, node: Node | None, path: Path, kinds: frozenset[str]) -> Iterator[Policy]:
    if not isinstance(node, Mapping):
        return
    kind = text_of(node.get("kind")) or ""
    api = text_of(node.get("apiVersion"))
    if kind == "List" or (kind.endswith("List") and kind[:-4] in kinds):
        items = deref(node.get("items"))
        if isinstance(items, Sequence):
            for i, item in enumerate(items.items):
                yield from _manifests_in(doc, deref(item), (*path, "items", i), kinds)
        return
    group = _GROUPS.get(kind, "cilium.io/" if kind.startswith("Cilium") else None)
    if kind not in kinds or (api is not None and group is not None and not api.startswith(group)):
        return
    meta = deref(node.get("metadata"))
    name = text_of(meta.get("name")) if isinstance(meta, Mapping) else None
    namespace = text_of(meta.get("namespace")) if isinstance(meta, Mapping) else None
    yield Policy(doc, kind, None if kind in CLUSTER_SCOPED else namespace, name or "", path, node)


def rules_of(policy: Policy) -> Iterator[tuple[Path, Mapping]]:
    """`spec` and every `specs[i]` of a Cilium policy; `spec` of a NetworkPolicy."""
    spec = deref(policy.node.get("spec"))
    if isinstance(spec, Mapping):
        yield (*policy.path, "spec"), spec
    specs = deref(policy.node.get("specs")) if policy.kind != KNP else None
    if isinstance(specs, Sequence):
        for i, item in enumerate(specs.items):
            rule = deref(item)
            if isinstance(rule, Mapping):
                yield (*policy.path, "specs", i), rule


def sections(policy: Policy) -> Iterator[tuple[Path, str, Mapping]]:
    """Every rule entry of every section: (path, section name, entry)."""
    names = KNP_SECTIONS if policy.kind == KNP else CILIUM_SECTIONS
    for rule_path, rule in rules_of(policy):
        for section in names:
            entries = deref(rule.get(section))
            if not isinstance(entries, Sequence):
                continue
            for i, entry in enumerate(entries.items):
                mapping = deref(entry)
                if isinstance(mapping, Mapping):
                    yield (*rule_path, section, i), section, mapping


def peers(policy: Policy) -> Iterator[Peer]:
    """Every peer selector the cluster default applies to, allow and deny alike."""
    for entry_path, section, entry in sections(policy):
        if policy.kind == KNP:
            direction, field = KNP_SECTIONS[section]
            fields: tuple[str, ...] = (field,)
            deny = False
        else:
            direction, deny, fields = CILIUM_SECTIONS[section]
        for field in fields:
            selectors = deref(entry.get(field))
            if not isinstance(selectors, Sequence):
                continue
            for i, item in enumerate(selectors.items):
                target = deref(item)
                if not isinstance(target, Mapping):
                    continue
                if policy.kind == KNP and target.get("podSelector") is None \
                        and target.get("namespaceSelector") is None:
                    continue  # ipBlock peers carry no selector and are never rewritten
                yield Peer(policy, (*entry_path, field, i), item, field, direction, deny)


def selector_keys(selector: Mapping | None) -> list[tuple[str, Node | None]]:
    """Label keys a selector names, with the matchLabels value node (None for an expression)."""
    if selector is None:
        return []
    keys: list[tuple[str, Node | None]] = []
    labels = deref(selector.get("matchLabels"))
    if isinstance(labels, Mapping):
        keys += [(k.value, v) for k, v in labels.entries() if isinstance(k, Scalar)]
    expressions = deref(selector.get("matchExpressions"))
    if isinstance(expressions, Sequence):
        for item in expressions.items:
            expression = deref(item)
            key = text_of(expression.get("key")) if isinstance(expression, Mapping) else None
            if key is not None:
                keys.append((key, None))
    return keys


def is_reserved(peer: Peer) -> bool:
    """A Cilium peer naming a `reserved:` label is left alone by the agent."""
    return peer.policy.kind != KNP and any(k.startswith("reserved:") for k, _ in selector_keys(peer.selector))


def names_cluster(peer: Peer) -> bool:
    """Whether the peer already names the cluster, exactly as the agent decides it."""
    keys = selector_keys(peer.selector)
    if peer.policy.kind == KNP:
        # Kubernetes: the exact key only; in matchLabels it needs a non-empty value.
        return any(k == CLUSTER_KEY and (v is None or bool(text_of(v))) for k, v in keys)
    return any(k in CILIUM_CLUSTER_KEYS for k, _ in keys)


def relies_on_default(peer: Peer) -> bool:
    """True when Cilium 1.19 silently narrows this peer to the local cluster."""
    return not is_reserved(peer) and not names_cluster(peer)


def cluster_form(clusters: list[str]) -> tuple[str, object]:
    """The explicit form for named clusters: ("label", name) for one, ("expression", {...In...}) for more."""
    if len(clusters) == 1:
        return "label", clusters[0]
    return "expression", {"key": CLUSTER_KEY, "operator": "In", "values": list(clusters)}
