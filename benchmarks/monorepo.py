"""A synthetic GitOps monorepo, the same bytes for the same arguments, for timing `scan` and `rewrite`.

    python benchmarks/monorepo.py /tmp/mono --files 2000            # ≈ 5 MB, ≈ 10,000 documents
    python benchmarks/monorepo.py /tmp/mono --files 500 --seed 7

The tree looks like a platform team's repo: `clusters/<cluster>/<namespace>/<app>/*.yaml` and
`apps/base/<team>/<app>/*.yaml`, with a few kustomization.yaml files. Files hold ≈ 5 documents on average
(Deployments, Services, ConfigMaps, ServiceAccounts, HorizontalPodAutoscalers and, one document in five,
a CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or NetworkPolicy); some hold no policy, some only
policies. About a third of the peer selectors already name the cluster (`io.cilium.k8s.policy.cluster` in
matchLabels or matchExpressions); the rest rely on the implicit default. The YAML mixes what real repos
mix: own-line and trailing comments, flow style, quoted keys, indented and non-indented list dashes, 2- and
4-space files, literal block scalars.

Only `random.Random(seed)` decides anything (its `random()` and `randrange()`, stable across Python
versions), files are written as UTF-8 bytes with "\\n" line endings, and nothing depends on the clock or
the machine: the same (files, seed) always gives byte-identical trees.
"""

from __future__ import annotations

import argparse
import functools
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias, TypeVar

CLUSTER_KEY = "io.cilium.k8s.policy.cluster"

# ---------------------------------------------------------------------------------------------------------
# A tiny YAML tree and its emitter: mappings keep their order, and the style of every node is chosen here.


@dataclass(frozen=True)
class Q:
    """A quoted scalar (key or value): `"text"` or `'text'`."""

    text: str
    quote: str = '"'


@dataclass(frozen=True)
class Comment:
    """An own-line comment among the entries of a mapping or the items of a sequence."""

    text: str


@dataclass
class Map:
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Seq:
    items: list[Node | Comment] = field(default_factory=list)


@dataclass(frozen=True)
class Flow:
    """Write this mapping or sequence in flow style: `{a: b}`, `[x, y]`."""

    node: Node


@dataclass(frozen=True)
class Block:
    """A literal block scalar (`|` or `|-`); `text` is unindented, its lines end with "\\n"."""

    text: str
    indicator: str = "|"


@dataclass(frozen=True)
class Note:
    """A trailing comment on the line that holds this value (or its key)."""

    node: Node
    text: str


Key: TypeAlias = str | Q
Scalar: TypeAlias = str | int | bool | Q | None
Node: TypeAlias = Scalar | Map | Seq | Flow | Block | Note
Entry: TypeAlias = tuple[Key, Node] | Comment


@dataclass(frozen=True)
class Style:
    step: int  # indentation of a nested mapping: 2 or 4
    indent_dashes: bool  # `key:\n  - item` (True) or `key:\n- item` (False)


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")
_PLAIN_BLOCK = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*(?::[A-Za-z0-9_./-]+)*")
_PLAIN_OTHER = re.compile(r"\d+(?:\.\d+){3}/\d+|\d+(?:m|Mi|Gi|Ki|s|ms)")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def quoted(text: str, quote: str = '"') -> str:
    if quote == "'":
        return "'" + text.replace("'", "''") + "'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@functools.lru_cache(maxsize=4096)
def plain_ok(text: str, flow: bool) -> bool:
    if text.lower() in _RESERVED:
        return False
    return bool((_PLAIN if flow else _PLAIN_BLOCK).fullmatch(text) or _PLAIN_OTHER.fullmatch(text))


def scalar(value: Scalar, flow: bool) -> str:
    if isinstance(value, Q):
        return quoted(value.text, value.quote)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value if plain_ok(value, flow) else quoted(value)


def key_text(key: Key, flow: bool) -> str:
    if isinstance(key, Q):
        return quoted(key.text, key.quote)
    return key if plain_ok(key, flow) else quoted(key)


def flow_text(node: Node) -> str:
    """A node in flow style; comments cannot live there and are dropped."""
    if isinstance(node, Note | Flow):
        return flow_text(node.node)
    if isinstance(node, Map):
        pairs = [f"{key_text(e[0], True)}: {flow_text(e[1])}" for e in node.entries if not isinstance(e, Comment)]
        return "{" + ", ".join(pairs) + "}"
    if isinstance(node, Seq):
        return "[" + ", ".join(flow_text(i) for i in node.items if not isinstance(i, Comment)) + "]"
    if isinstance(node, Block):
        return quoted(node.text)
    return scalar(node, True)


def inline(node: Node) -> str:
    """A value on its key's (or dash's) line: scalars as block context allows, collections in flow style."""
    if isinstance(node, Map | Seq | Flow | Block | Note):
        return flow_text(node)
    return scalar(node, False)


def emit_map(node: Map, indent: int, style: Style, out: list[str]) -> None:
    pad = " " * indent
    for entry in node.entries:
        if isinstance(entry, Comment):
            out.append(f"{pad}# {entry.text}")
        else:
            emit_value(f"{pad}{key_text(entry[0], False)}:", entry[1], indent, style, out)


def emit_value(head: str, value: Node, indent: int, style: Style, out: list[str]) -> None:
    """`head` is `<indent>key:`; the value goes after it, or below it indented from `indent`."""
    note = ""
    if isinstance(value, Note):
        note, value = f"  # {value.text}", value.node
    if isinstance(value, Map) and value.entries:
        out.append(head + note)
        emit_map(value, indent + style.step, style, out)
    elif isinstance(value, Seq) and value.items:
        out.append(head + note)
        emit_seq(value, indent + (style.step if style.indent_dashes else 0), style, out)
    elif isinstance(value, Block):
        out.append(f"{head} {value.indicator}{note}")
        inner = " " * (indent + style.step)
        out.extend(inner + line if line else "" for line in value.text.split("\n")[:-1])
    else:
        out.append(f"{head} {inline(value)}{note}")


def emit_seq(node: Seq, indent: int, style: Style, out: list[str]) -> None:
    pad = " " * indent
    for item in node.items:
        if isinstance(item, Comment):
            out.append(f"{pad}# {item.text}")
            continue
        if isinstance(item, Map) and item.entries:
            entries = list(item.entries)
            while entries and isinstance(entries[0], Comment):
                first = entries.pop(0)
                assert isinstance(first, Comment)
                out.append(f"{pad}# {first.text}")
            lines: list[str] = []
            emit_map(Map(entries), indent + 2, style, lines)
            lines[0] = f"{pad}- {lines[0][indent + 2:]}"
            out.extend(lines)
            continue
        note = ""
        if isinstance(item, Note):
            note, item = f"  # {item.text}", item.node
        out.append(f"{pad}- {inline(item)}{note}")


# ---------------------------------------------------------------------------------------------------------
# The world: clusters, teams, namespaces and apps, all drawn from the seed.

CLUSTER_POOL = ("east", "west", "central", "north", "south", "edge")
TEAM_POOL = ("payments", "checkout", "search", "identity", "catalog", "shipping", "ledger", "media",
             "messaging", "analytics", "storefront", "observability", "security", "growth")
APP_POOL = ("api", "web", "worker", "gateway", "db", "cache", "scheduler", "ui", "exporter", "ingest",
            "reconciler", "notifier", "indexer", "proxy", "auth", "billing", "cron", "stream")
NAMESPACE_SUFFIXES = ("-jobs", "-edge", "-data", "-internal", "-batch")
ENTITIES = ("cluster", "host", "remote-node", "kube-apiserver", "health")
TIERS = ("frontend", "backend", "data", "batch")
PORTS = (80, 443, 5432, 6379, 8080, 8443, 9090, 9092, 50051)
OWNERS = ("alice", "bob", "chloé", "dmitri", "eun-ji", "zoë", "oluwaseun", "søren")

APP_KEYS: tuple[Key, ...] = ("app.kubernetes.io/name", "app.kubernetes.io/name", "app", "app", "k8s:app",
                             Q("app.kubernetes.io/name", "'"), Q("k8s:app.kubernetes.io/name"))
NAMESPACE_KEYS: tuple[Key, ...] = (Q("k8s:io.kubernetes.pod.namespace"), Q("k8s:io.kubernetes.pod.namespace"),
                                   "k8s:io.kubernetes.pod.namespace", Q("k8s:io.kubernetes.pod.namespace", "'"),
                                   "io.kubernetes.pod.namespace")

T = TypeVar("T")


@dataclass(frozen=True)
class App:
    name: str
    team: str
    namespace: str
    tier: str
    port: int


@dataclass(frozen=True)
class World:
    clusters: tuple[str, ...]
    teams: tuple[str, ...]
    apps: tuple[App, ...]


def make_world(rng: random.Random) -> World:
    clusters = tuple(CLUSTER_POOL[: 2 + rng.randrange(5)])
    teams = [TEAM_POOL[i] for i in sorted(rng.sample(range(len(TEAM_POOL)), 9 + rng.randrange(4)))]
    apps: list[App] = []
    for team in teams:
        suffixes = rng.sample(NAMESPACE_SUFFIXES, 1 + rng.randrange(2))
        namespaces = [team, *(team + s for s in suffixes)]
        for name in rng.sample(APP_POOL, 3 + rng.randrange(4)):
            apps.append(App(f"{team}-{name}", team, rng.choice(namespaces), rng.choice(TIERS), rng.choice(PORTS)))
    return World(clusters, tuple(teams), tuple(apps))


@dataclass(frozen=True)
class Stats:
    files: int
    documents: int
    policies: int
    implicit_selectors: int
    explicit_selectors: int
    bytes: int

    def line(self) -> str:
        return (f"files={self.files} documents={self.documents} policies={self.policies} "
                f"implicit_selectors={self.implicit_selectors} explicit_selectors={self.explicit_selectors} "
                f"bytes={self.bytes}")


# ---------------------------------------------------------------------------------------------------------
# Documents.

EXPLICIT_SHARE = 0.36  # a little over a third: empty `{}` peers are always implicit


class Writer:
    """Draws documents from the seed and counts what it drew."""

    def __init__(self, rng: random.Random, world: World) -> None:
        self.rng = rng
        self.world = world
        self.documents = 0
        self.policies = 0
        self.implicit = 0
        self.explicit = 0

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, items: Sequence[T]) -> T:
        return items[self.rng.randrange(len(items))]

    def note(self, node: Node, p: float, texts: Sequence[str]) -> Node:
        return Note(node, self.pick(texts)) if self.chance(p) else node

    def seq(self, items: Sequence[Node | Comment], p_flow: float) -> Node:
        return Flow(Seq(list(items))) if self.chance(p_flow) else Seq(list(items))

    # -- shared pieces ----------------------------------------------------------------------------------

    def metadata(self, name: str, namespace: str | None, app: App | None, annotations: Map | None = None) -> Map:
        meta = Map([("name", name)])
        if namespace is not None:
            meta.entries.append(("namespace", namespace))
        if app is not None and self.chance(0.45):
            labels = Map([("app.kubernetes.io/name", app.name), ("app.kubernetes.io/part-of", app.team)])
            if self.chance(0.5):
                labels.entries.append(("app.kubernetes.io/managed-by", self.pick(("flux", "argocd", "kustomize"))))
            meta.entries.append(("labels", labels))
        annotations = annotations or Map()
        if self.chance(0.15):
            annotations.entries.insert(0, ("owner", Q(f"{self.pick(OWNERS)}@example.com")))
        if annotations.entries:
            meta.entries.append(("annotations", annotations))
        return meta

    def header(self, kind: str, name: str) -> list[Entry]:
        r = self.rng.random()
        if r < 0.08:
            return [Comment(f"yaml-language-server: $schema=https://example.com/schemas/{kind.lower()}.json")]
        if r < 0.16:
            return [Comment(f"{name}: reviewed by {self.pick(OWNERS)} — see the team runbook")]
        return []

    def other_app(self, app: App) -> App:
        same = [a for a in self.world.apps if a.team == app.team and a is not app]
        if same and self.chance(0.5):
            return self.pick(same)
        return self.pick(self.world.apps)

    # -- Cilium policies --------------------------------------------------------------------------------

    def cilium_selector(self, peer: App, home: str | None, explicit: bool) -> Node:
        """One fromEndpoints/toEndpoints item; counted."""
        if explicit:
            self.explicit += 1
        else:
            self.implicit += 1
            if self.chance(0.04):
                return Map()  # `- {}`: every endpoint (of the namespace)
        labels = Map([(self.pick(APP_KEYS), self.note(peer.name, 0.06, ("the client", "owner: " + peer.team)))])
        if home is None or peer.namespace != home or self.chance(0.25):
            labels.entries.append((self.pick(NAMESPACE_KEYS), peer.namespace))
        if self.chance(0.15):
            labels.entries.append(("tier", peer.tier))
        expressions: list[Map] = []
        if self.chance(0.12):
            op = self.pick(("In", "NotIn", "Exists"))
            expression = Map([("key", "track" if op != "Exists" else self.pick(("tier", "track"))), ("operator", op)])
            if op != "Exists":
                expression.entries.append(("values", self.seq(["canary", "stable"][: 1 + self.rng.randrange(2)], .6)))
            expressions.append(expression)
        if explicit:
            r = self.rng.random()
            if r < 0.5:
                cluster = self.pick(self.world.clusters)
                labels.entries.append((CLUSTER_KEY, self.note(cluster, 0.1, ("pinned", "replica lives there"))))
            elif r < 0.8:
                expressions.append(Map([("key", CLUSTER_KEY), ("operator", "Exists")]))
            else:
                names = self.rng.sample(self.world.clusters, min(2, len(self.world.clusters)))
                expressions.append(Map([("key", CLUSTER_KEY), ("operator", "In"), ("values", self.seq(names, 0.5))]))
        flow_items = self.chance(0.4)
        selector = Map()
        if self.chance(0.05):
            selector.entries.append(Comment("only this workload"))
        selector.entries.append(("matchLabels", Flow(labels) if self.chance(0.15) else labels))
        if expressions:
            items: list[Node | Comment] = [Flow(e) if flow_items else e for e in expressions]
            selector.entries.append(("matchExpressions", Seq(items)))
        return Flow(selector) if self.chance(0.12) else selector

    def selectors(self, app: App, home: str | None) -> Seq:
        count = 1 + (self.rng.random() > 0.65) + (self.rng.random() > 0.9)
        items: list[Node | Comment] = []
        for _ in range(count):
            if self.chance(0.06):
                items.append(Comment(self.pick(("allowed since the 2024 migration", "see INC-1042", "TODO: narrow"))))
            items.append(self.cilium_selector(self.other_app(app), home, self.chance(EXPLICIT_SHARE)))
        return Seq(items)

    def to_ports(self, ports: Sequence[tuple[int, str]], dns: bool = False) -> Node:
        quote = "'" if self.chance(0.1) else '"'
        items: list[Node | Comment] = [Map([("port", Q(str(p), quote)), ("protocol", proto)]) for p, proto in ports]
        inner = Map([("ports", Flow(Seq(items)) if self.chance(0.3) else Seq(items))])
        if dns:
            pattern = Map([("matchPattern", Q("*"))])
            inner.entries.append(("rules", Map([("dns", Seq([Flow(pattern) if self.chance(0.3) else pattern]))])))
        return Seq([inner])

    def cilium_rule(self, app: App, home: str | None) -> tuple[str, Map]:
        r = self.rng.random()
        port = [(app.port, "TCP")]
        if r < 0.40:
            entry = Map([("fromEndpoints", self.selectors(app, home))])
            if self.chance(0.75):
                entry.entries.append(("toPorts", self.to_ports(port)))
            return "ingress", entry
        if r < 0.43:
            self.implicit += 1
            entry = Map([("fromEndpoints", Note(Flow(Seq([Map()])), "every endpoint in this namespace"))])
            return "ingress", entry
        if r < 0.63:
            peer = self.other_app(app)
            entry = Map([("toEndpoints", self.selectors(peer, home))])
            if self.chance(0.8):
                entry.entries.append(("toPorts", self.to_ports([(peer.port, "TCP")])))
            return "egress", entry
        if r < 0.73:  # DNS through kube-dns
            dns = App("kube-dns", "platform", "kube-system", "backend", 53)
            if self.chance(EXPLICIT_SHARE):
                self.explicit += 1
                labels = Map([(Q("k8s:io.kubernetes.pod.namespace"), "kube-system"), (Q("k8s:k8s-app"), "kube-dns"),
                              (CLUSTER_KEY, self.pick(self.world.clusters))])
            else:
                self.implicit += 1
                labels = Map([(Q("k8s:io.kubernetes.pod.namespace"), "kube-system"), (Q("k8s:k8s-app"), "kube-dns")])
            selector = Map([("matchLabels", labels)])
            entry = Map([("toEndpoints", Seq([selector]))])
            entry.entries.append(("toPorts", self.to_ports([(dns.port, "UDP"), (dns.port, "TCP")], dns=True)))
            if self.chance(0.3):
                entry.entries.insert(0, Comment("DNS: resolve through this cluster's own CoreDNS"))
            return "egress", entry
        if r < 0.80:
            entities = self.rng.sample(ENTITIES, 1 + self.chance(0.4))
            return "ingress", Map([("fromEntities", self.seq(entities, 0.6))])
        if r < 0.89:
            s = self.rng.random()
            if s < 0.4:
                entry = Map([("toCIDR", self.seq(["10.0.0.0/8", "192.168.0.0/16"][: 1 + self.rng.randrange(2)], .5))])
            elif s < 0.7:
                cidr = Map([("cidr", "0.0.0.0/0"), ("except", self.seq(["10.0.0.0/8", "169.254.169.254/32"], .7))])
                entry = Map([("toCIDRSet", Seq([cidr]))])
            else:
                fqdn = Map([("matchName", f"api.{self.pick(('stripe.com', 'github.com', 'example.net'))}")])
                entry = Map([("toFQDNs", Seq([fqdn]))])
            entry.entries.append(("toPorts", self.to_ports([(443, "TCP")])))
            return "egress", entry
        if r < 0.98:
            entry = Map([Comment("block the legacy scanner everywhere"), ("fromEndpoints", self.selectors(app, home))])
            return "ingressDeny", entry
        return "egressDeny", Map([("toEndpoints", self.selectors(self.other_app(app), home))])

    def cilium_spec(self, app: App, home: str | None, rules: int, clusterwide: bool) -> Map:
        spec = Map()
        if self.chance(0.2):
            spec.entries.append(("description", Q(f"{app.name}: allow what it needs, nothing more")))
        if clusterwide and self.chance(0.4):
            subject = Map([("matchLabels", Map([(Q("k8s:io.kubernetes.pod.namespace"), app.namespace)]))])
        elif self.chance(0.1):
            subject = Map()
        else:
            subject = Map([("matchLabels", Map([(self.pick(APP_KEYS[:4]), app.name)]))])
        spec.entries.append(("endpointSelector", Flow(subject) if self.chance(0.2) else subject))
        drawn = [self.cilium_rule(app, home) for _ in range(rules)]
        for section in ("ingress", "ingressDeny", "egress", "egressDeny"):
            items: list[Node | Comment] = [entry for name, entry in drawn if name == section]
            if items:
                if self.chance(0.1):
                    items.insert(0, Comment(f"{section} rules for {app.name}"))
                spec.entries.append((section, Seq(items)))
        return spec

    def cilium_policy(self, app: App, clusterwide: bool) -> Map:
        self.policies += 1
        kind = "CiliumClusterwideNetworkPolicy" if clusterwide else "CiliumNetworkPolicy"
        name = f"{app.name}-{self.pick(('allow', 'baseline', 'ingress', 'egress', 'mesh', 'lockdown'))}"
        home = None if clusterwide else app.namespace
        rules = self.pick((1, 1, 1, 1, 2, 2, 2, 3, 4))
        doc = Map(self.header(kind, name))
        doc.entries += [("apiVersion", "cilium.io/v2"), ("kind", kind),
                        ("metadata", self.metadata(name, home, app if self.chance(0.3) else None))]
        if rules >= 2 and self.chance(0.18):
            first = 1 + self.rng.randrange(rules - 1)
            specs = [self.cilium_spec(app, home, first, clusterwide),
                     self.cilium_spec(app, home, rules - first, clusterwide)]
            doc.entries.append(("specs", Seq([*specs])))
        else:
            doc.entries.append(("spec", self.cilium_spec(app, home, rules, clusterwide)))
        return doc

    # -- Kubernetes NetworkPolicy -----------------------------------------------------------------------

    def knp_peer(self, peer: App, home: str) -> Node:
        r = self.rng.random()
        if r < 0.1:
            return Map([("ipBlock", Map([("cidr", self.pick(("10.40.0.0/24", "172.16.0.0/12")))]))])  # no selector
        explicit = self.chance(EXPLICIT_SHARE)
        if explicit:
            self.explicit += 1
        else:
            self.implicit += 1
        entry = Map()
        pod: Map | None = None
        labels: Map | None = None
        if r < 0.75:
            labels = Map([("app.kubernetes.io/name", peer.name)])
            pod = Map([("matchLabels", labels)])
        if r >= 0.45:
            ns = Map([("matchLabels", Map([("kubernetes.io/metadata.name", peer.namespace)]))])
            if peer.namespace == home and self.chance(0.3):
                ns = Map()
            entry.entries.append(("namespaceSelector", Flow(ns) if self.chance(0.3) else ns))
        if explicit:
            pod = pod or Map()
            s = self.rng.random()
            if s < 0.55:
                if labels is None:
                    labels = Map()
                    pod.entries.append(("matchLabels", labels))
                labels.entries.append((CLUSTER_KEY, self.pick(self.world.clusters)))
            else:
                expression = Map([("key", CLUSTER_KEY), ("operator", "Exists")])
                if s > 0.8:
                    expression = Map([("key", CLUSTER_KEY), ("operator", "In"),
                                      ("values", self.seq(list(self.world.clusters[:2]), 0.5))])
                pod.entries.append(("matchExpressions", Seq([Flow(expression) if self.chance(0.5) else expression])))
        if pod is not None:
            entry.entries.insert(0, ("podSelector", Flow(pod) if self.chance(0.2) else pod))
        return entry

    def knp_ports(self, ports: Sequence[tuple[int | str, str]]) -> Node:
        items: list[Node | Comment] = [Map([("protocol", proto), ("port", p)]) for p, proto in ports]
        return Flow(Seq(items)) if self.chance(0.3) else Seq(items)

    def knp_rule(self, app: App) -> tuple[str, Map]:
        r = self.rng.random()
        if r < 0.55:
            peers: list[Node | Comment] = []
            for _ in range(1 + (self.rng.random() > 0.55) + (self.rng.random() > 0.85)):
                if self.chance(0.1):
                    peers.append(Comment(self.pick(("the only writer", "nightly jobs", "DBA bastion"))))
                peers.append(self.knp_peer(self.other_app(app), app.namespace))
            entry = Map([("from", Seq(peers))])
            entry.entries.append(("ports", self.knp_ports([(app.port if self.chance(0.7) else "http", "TCP")])))
            return "ingress", entry
        if r < 0.85:
            peer = self.other_app(app)
            entry = Map([("to", Seq([self.knp_peer(peer, app.namespace)]))])
            entry.entries.append(("ports", self.knp_ports([(peer.port, "TCP")])))
            return "egress", entry
        if r < 0.95:  # DNS
            system = Map([("matchLabels", Map([("kubernetes.io/metadata.name", "kube-system")]))])
            pods = Map([("matchLabels", Map([("k8s-app", "kube-dns")]))])
            dns = Map([("namespaceSelector", system), ("podSelector", pods)])
            self.implicit += 1
            entry = Map([("to", Seq([dns])), ("ports", self.knp_ports([(53, "UDP"), (53, "TCP")]))])
            return "egress", entry
        return "egress", Map([Comment("HTTPS anywhere"), ("ports", self.knp_ports([(443, "TCP")]))])

    def network_policy(self, app: App) -> Map:
        self.policies += 1
        name = f"{app.name}-{self.pick(('netpol', 'default', 'allow-clients', 'database'))}"
        doc = Map(self.header("NetworkPolicy", name))
        subject = Map([("matchLabels", Map([("app.kubernetes.io/name", app.name)]))])
        if self.chance(0.1):
            subject = Map()
        spec = Map([("podSelector", subject)])
        drawn = [self.knp_rule(app) for _ in range(self.pick((1, 1, 2, 2, 2, 3, 4)))]
        types: list[Node | Comment] = [t for t in ("Ingress", "Egress") if any(n == t.lower() for n, _ in drawn)]
        spec.entries.append(("policyTypes", self.seq(types, 0.5)))
        for section in ("ingress", "egress"):
            items: list[Node | Comment] = [entry for n, entry in drawn if n == section]
            if items:
                spec.entries.append((section, Seq(items)))
        doc.entries += [("apiVersion", "networking.k8s.io/v1"), ("kind", "NetworkPolicy"),
                        ("metadata", self.metadata(name, app.namespace, app if self.chance(0.3) else None)),
                        ("spec", spec)]
        return doc

    def policy(self, app: App) -> Map:
        r = self.rng.random()
        if r < 0.68:
            return self.cilium_policy(app, clusterwide=False)
        if r < 0.82:
            return self.cilium_policy(app, clusterwide=True)
        return self.network_policy(app)

    # -- workloads ------------------------------------------------------------------------------------

    def deployment(self, app: App) -> Map:
        labels = Map([("app.kubernetes.io/name", app.name), ("tier", app.tier)])
        container = Map([("name", app.name.split("-", 1)[1]),
                         ("image", f"registry.example.com/{app.team}/{app.name}:1.{self.rng.randrange(40)}."
                                   f"{self.rng.randrange(10)}")])
        if self.chance(0.5):
            container.entries.append(("args", self.seq([Q(f"--port={app.port}"), Q("--log-format=json")], 0.6)))
        container.entries.append(("ports", Seq([Map([("name", "http"), ("containerPort", app.port)])])))
        level = self.note("info", 0.1, ("debug in staging",))
        env: list[Node | Comment] = [Map([("name", "LOG_LEVEL"), ("value", level)])]
        if self.chance(0.3):
            env.append(Map([("name", "DATABASE_URL"), ("valueFrom", Map([("secretKeyRef", Map(
                [("name", f"{app.name}-db"), ("key", "url")]))]))]))
        container.entries.append(("env", Seq(env)))
        requests = Map([("cpu", self.pick(("50m", "100m", "250m"))), ("memory", self.pick(("64Mi", "128Mi", "256Mi")))])
        container.entries.append(("resources", Map([("requests", Flow(requests) if self.chance(0.4) else requests),
                                                    ("limits", Map([("memory", "512Mi")]))])))
        probe = Map([("httpGet", Flow(Map([("path", "/healthz"), ("port", "http")]))), ("periodSeconds", 10)])
        if self.chance(0.6):
            container.entries.append(("readinessProbe", probe))
        if self.chance(0.2):
            container.entries.append(("livenessProbe", Map([("httpGet", Map([("path", "/livez"), ("port", "http")])),
                                                            ("initialDelaySeconds", 15)])))
        pod_spec = Map([("serviceAccountName", app.name),
                        ("securityContext", Flow(Map([("runAsNonRoot", True), ("runAsUser", 10001)]))),
                        ("containers", Seq([container]))])
        if self.chance(0.4):
            mount = Map([("name", "config"), ("mountPath", "/etc/app"), ("readOnly", True)])
            container.entries.append(("volumeMounts", Seq([mount])))
            config = Map([("name", f"{app.name}-config")])
            pod_spec.entries.append(("volumes", Seq([Map([("name", "config"), ("configMap", config)])])))
        template_meta = Map([("labels", labels)])
        if self.chance(0.3):
            template_meta.entries.append(("annotations", Map([("prometheus.io/scrape", Q("true")),
                                                              ("prometheus.io/port", Q("9090"))])))
        spec = Map([("replicas", self.note(self.pick((1, 2, 3, 5)), 0.15, ("HPA owns this in prod",))),
                    ("selector", Map([("matchLabels", Map([("app.kubernetes.io/name", app.name)]))])),
                    ("template", Map([("metadata", template_meta), ("spec", pod_spec)]))])
        return Map([*self.header("Deployment", app.name), ("apiVersion", "apps/v1"), ("kind", "Deployment"),
                    ("metadata", self.metadata(app.name, app.namespace, app)), ("spec", spec)])

    def service(self, app: App) -> Map:
        annotations = Map()
        if self.chance(0.3):
            annotations.entries += [("service.cilium.io/global", Q("true")), ("service.cilium.io/shared", Q("true"))]
        meta = self.metadata(app.name, app.namespace, app, annotations)
        port = Map([("name", "http"), ("port", app.port), ("targetPort", "http"), ("protocol", "TCP")])
        spec = Map([("type", "ClusterIP"), ("selector", Map([("app.kubernetes.io/name", app.name)])),
                    ("ports", Seq([Flow(port) if self.chance(0.3) else port]))])
        return Map([("apiVersion", "v1"), ("kind", "Service"), ("metadata", meta), ("spec", spec)])

    def config_map(self, app: App) -> Map:
        data = Map([("LOG_LEVEL", "info"), ("FEATURE_FLAGS", Q(f"{app.team},{app.tier}"))])
        if self.chance(0.5):
            peer = self.other_app(app)
            text = (f"# {app.name} configuration\n"
                    f"server:\n  port: {app.port}\n  shutdownGracePeriod: 20s\n"
                    f"upstreams:\n  - name: {peer.name}\n"
                    f"    url: http://{peer.name}.{peer.namespace}.svc.cluster.local:{peer.port}\n"
                    f"    timeout: 2s\n"
                    f"cache:\n  ttl: {self.pick(('30s', '5m', '1h'))}\n  size: {self.pick((256, 1024, 4096))}\n"
                    f"\n# owner: {self.pick(OWNERS)}\n")
            data.entries.append(("app.yaml", Block(text, self.pick(("|", "|", "|-")))))
        if self.chance(0.2):
            data.entries.append(("logging.properties", Block("level=INFO\nhandlers=console\nconsole.format=json\n")))
        return Map([("apiVersion", "v1"), ("kind", "ConfigMap"),
                    ("metadata", self.metadata(f"{app.name}-config", app.namespace, app)), ("data", data)])

    def service_account(self, app: App) -> Map:
        annotations = Map()
        if self.chance(0.3):
            annotations.entries.append(("eks.amazonaws.com/role-arn", f"arn:aws:iam::123456789012:role/{app.name}"))
        meta = self.metadata(app.name, app.namespace, None, annotations)
        return Map([("apiVersion", "v1"), ("kind", "ServiceAccount"), ("metadata", meta),
                    ("automountServiceAccountToken", False)])

    def autoscaler(self, app: App) -> Map:
        target = Map([("apiVersion", "apps/v1"), ("kind", "Deployment"), ("name", app.name)])
        metric = Map([("type", "Resource"), ("resource", Map([("name", "cpu"), ("target", Map(
            [("type", "Utilization"), ("averageUtilization", 70)]))]))])
        spec = Map([("scaleTargetRef", target), ("minReplicas", 2), ("maxReplicas", self.pick((6, 10, 20))),
                    ("metrics", Seq([metric]))])
        return Map([("apiVersion", "autoscaling/v2"), ("kind", "HorizontalPodAutoscaler"),
                    ("metadata", self.metadata(app.name, app.namespace, None)), ("spec", spec)])

    def workload(self, app: App) -> Map:
        r = self.rng.random()
        if r < 0.12:
            return self.deployment(app)
        if r < 0.45:
            return self.service(app)
        if r < 0.67:
            return self.config_map(app)
        if r < 0.87:
            return self.service_account(app)
        return self.autoscaler(app)

    # -- files ----------------------------------------------------------------------------------------

    def documents_for(self, profile: str, app: App) -> list[Map]:
        if profile == "policies":
            return [self.policy(app) for _ in range(1 + self.rng.randrange(4))]
        if profile == "workloads":
            return [self.workload(app) for _ in range(1 + self.rng.randrange(8))]
        docs = [self.deployment(app) if self.chance(0.3) else self.workload(app)]
        for _ in range(2 + self.rng.randrange(7)):
            docs.append(self.policy(app) if self.chance(0.24) else self.workload(app))
        return docs

    def render(self, docs: list[Map], style: Style, name: str) -> str:
        self.documents += len(docs)
        lines: list[str] = []
        if self.chance(0.2):
            lines.append(f"# {name}: managed by Flux — edit in git, not in the cluster")
        if self.chance(0.4):
            lines.append("---")
        for i, doc in enumerate(docs):
            if i:
                if self.chance(0.2):
                    lines.append("")
                lines.append("---")
            emit_map(doc, 0, style, lines)
        if self.chance(0.12):
            lines.append(self.pick(("# end", "# vim: set ts=2 sw=2 et:", f"# {len(docs)} documents")))
        return "\n".join(lines) + "\n"

    def kustomization(self, entries: list[str], namespace: str | None) -> Map:
        self.documents += 1
        doc = Map([("apiVersion", "kustomize.config.k8s.io/v1beta1"), ("kind", "Kustomization")])
        if namespace is not None:
            doc.entries.append(("namespace", namespace))
        resources: list[Node | Comment] = [Comment("generated by the platform bootstrap"), *entries]
        doc.entries.append(("resources", Seq(resources)))
        if self.chance(0.5):
            doc.entries.append(("commonLabels", Map([("app.kubernetes.io/managed-by", "kustomize")])))
        return doc


PROFILES = (("mixed", 0.53, ("all", "app", "bundle", "manifests", "release")),
            ("workloads", 0.32, ("deployment", "service", "workload", "config", "runtime")),
            ("policies", 0.15, ("network-policy", "policies", "cnp", "netpol", "firewall")))


def plan(rng: random.Random, world: World, count: int) -> list[tuple[str, str, App]]:
    """(path, profile, app) of every file but the kustomizations, in writing order."""
    taken: set[str] = set()
    files: list[tuple[str, str, App]] = []
    for _ in range(count):
        r = rng.random()
        profile, names = PROFILES[-1][0], PROFILES[-1][2]
        for candidate, weight, candidate_names in PROFILES:
            if r < weight:
                profile, names = candidate, candidate_names
                break
            r -= weight
        app = world.apps[rng.randrange(len(world.apps))]
        if rng.random() < 0.68:
            folder = f"clusters/{world.clusters[rng.randrange(len(world.clusters))]}/{app.namespace}/{app.name}"
        else:
            folder = f"apps/base/{app.team}/{app.name}"
        stem = names[rng.randrange(len(names))]
        path, n = f"{folder}/{stem}.yaml", 1
        while path in taken:
            n += 1
            path = f"{folder}/{stem}-{n}.yaml"
        taken.add(path)
        files.append((path, profile, app))
    return files


def kustomizations(world: World, paths: list[str], count: int) -> list[tuple[str, list[str], str | None]]:
    """(path, resources, namespace) of `count` kustomization.yaml files over folders that have content."""
    children: dict[str, set[str]] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            children.setdefault("/".join(parts[:depth]), set()).add(parts[depth])
    folders = [f"clusters/{c}" for c in world.clusters] + [f"apps/base/{t}" for t in world.teams]
    folders += sorted(f for f in children if f.startswith("clusters/") and f.count("/") == 2)
    chosen = [f for f in folders if f in children][:count]
    out: list[tuple[str, list[str], str | None]] = []
    for folder in chosen:
        resources = sorted(children[folder])
        namespace = folder.split("/")[2] if folder.count("/") == 2 and folder.startswith("clusters/") else None
        out.append((f"{folder}/kustomization.yaml", resources, namespace))
    return out


def generate(root: Path, files: int, seed: int = 1) -> Stats:
    """Write `files` YAML files under `root` (which must be missing or empty); the same bytes for the same
    (files, seed)."""
    if files < 0:
        raise ValueError("files must be >= 0")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root} exists and is not an empty folder")
    rng = random.Random(seed)
    world = make_world(rng)
    writer = Writer(rng, world)
    planned = plan(rng, world, files)
    wanted = max(1, files // 100) if files >= 20 else 0
    kusts = kustomizations(world, [p for p, _, _ in planned[: files - wanted]], wanted)
    if len(kusts) < wanted:  # fewer folders than asked: more files instead (more paths only add folders)
        kusts = kustomizations(world, [p for p, _, _ in planned[: files - len(kusts)]], len(kusts))
    planned = planned[: files - len(kusts)]
    made: set[Path] = set()
    size = 0

    def write(path: str, text: str) -> None:
        nonlocal size
        target = root / path
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        data = text.encode("utf-8")
        target.write_bytes(data)  # bytes: no newline translation on any platform
        size += len(data)

    # every file is drawn in this fixed order, so the bytes never depend on the file system
    for path, profile, app in planned:
        style = Style(4 if rng.random() < 0.15 else 2, rng.random() < 0.6)
        write(path, writer.render(writer.documents_for(profile, app), style, path.rsplit("/", 1)[1]))
    for path, resources, namespace in kusts:
        lines: list[str] = []
        emit_map(writer.kustomization(resources, namespace), 0, Style(2, rng.random() < 0.5), lines)
        write(path, "\n".join(lines) + "\n")
    return Stats(len(planned) + len(kusts), writer.documents, writer.policies, writer.implicit, writer.explicit, size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="Folder to write the tree to (missing or empty).")
    parser.add_argument("--files", type=int, required=True, help="Number of YAML files to write.")
    parser.add_argument("--seed", type=int, default=1, help="Seed of the generator (default: 1).")
    options = parser.parse_args(argv)
    if options.files < 1:
        parser.error("--files must be at least 1")
    try:
        stats = generate(options.out, options.files, options.seed)
    except FileExistsError as error:
        print(f"monorepo.py: {error}", file=sys.stderr)
        return 2
    print(stats.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
