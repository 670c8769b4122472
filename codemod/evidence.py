"""Turning Hubble captures into evidence: which implicit selectors carried traffic from other clusters.

A flow is evidence for a peer selector when it was allowed (FORWARDED or REDIRECTED), is not a reply, its
peer is a pod of another cluster than the endpoint that enforces the policy, and the selector's rule selects
it (subject, ports and peer, as Cilium 1.18 evaluated it). Policy verdicts name the policies that allowed
the flow (`*_allowed_by`); only those are considered then. Other events (traces, L7) carry no reliable
direction, so both ends are tried: the ingress rules at the destination and the egress rules at the source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from codemod.cilium import CCNP
from codemod.flows import ALLOWED, REFUSED, Capture, Endpoint, Flow, PolicyRef, read
from codemod.selection import Match, PeerModel, PolicyModel, matching, model

SelectorKey = tuple[str, int, str]  # (file as shown, document index, path)
MAX_PEERS = 1000  # distinct peer workloads named per selector; more are only counted
RING_BUFFER_FULL = 4000  # flows from one node: about a full Hubble ring buffer (default capacity 4095)


@dataclass
class Evidence:
    """What the captures say about one implicit selector."""

    flows: int = 0
    remote: set[str] = field(default_factory=set)  # clusters the matched peers were in
    enforcing: set[str] = field(default_factory=set)  # clusters of the endpoints that enforced the rule
    peers: Counter[str] = field(default_factory=Counter)  # "namespace/workload@cluster" → flows
    more_peers: set[int] = field(default_factory=set)  # peers past MAX_PEERS, counted only
    first: float | None = None
    last: float | None = None

    def add(self, flow: Flow, peer: Endpoint, enforcing_cluster: str) -> None:
        self.flows += 1
        assert peer.cluster is not None
        self.remote.add(peer.cluster)
        self.enforcing.add(enforcing_cluster)
        name = f"{peer.namespace}/{peer.workload}@{peer.cluster}" if peer.namespace else \
            f"{peer.workload}@{peer.cluster}"
        if name in self.peers or len(self.peers) < MAX_PEERS:
            self.peers[name] += 1
        else:
            self.more_peers.add(hash(name))
        if flow.time is not None:
            self.first = flow.time if self.first is None else min(self.first, flow.time)
            self.last = flow.time if self.last is None else max(self.last, flow.time)


@dataclass
class Gathered:
    captures: list[Capture] = field(default_factory=list)
    evidence: dict[SelectorKey, Evidence] = field(default_factory=dict)
    cross_cluster: int = 0  # allowed, non-reply flows whose peer is a pod of another cluster
    explained: int = 0  # … that an implicit selector allowed
    outside: int = 0  # … attributed to policies that are not in the scanned paths
    replies: int = 0
    undirected: int = 0  # allowed events whose direction cannot be told (no is_reply, no SYN): not evidence
    unknown_cluster: int = 0  # allowed flows between pods where a cluster could not be told
    clusters: set[str] = field(default_factory=set)  # every cluster a flow's ends were placed in

    @property
    def flows(self) -> int:
        return sum(c.flows for c in self.captures)


def selector_key(peer: PeerModel, model: PolicyModel) -> SelectorKey:
    return model.file, model.policy.document.index, peer.path


@dataclass(frozen=True)
class Side:
    """One place a flow is enforced: the rules of `direction` at `enforcing`, with `peer` on the far end."""

    direction: str
    enforcing: Endpoint
    peer: Endpoint
    attributed: tuple[PolicyRef, ...]


def sides(flow: Flow) -> list[Side]:
    """Where this event shows policy at work. A policy verdict or a drop names its side. A trace proves the
    rules it has passed: TO_ENDPOINT the ingress rules at the destination, any other TO_ point the egress
    rules at the source (not the far end's ingress); a FROM_ point is seen before any rule. Events that
    cannot say (L7, old agents) are tried on the end(s) local to the observing node, else both."""
    ingress = Side("ingress", flow.destination, flow.source, flow.ingress_allowed_by)
    egress = Side("egress", flow.source, flow.destination, flow.egress_allowed_by)
    direction = flow.trusted_direction
    if direction == "INGRESS":
        return [ingress]
    if direction == "EGRESS":
        return [egress]
    point = flow.observation
    if point.startswith("FROM_"):
        return []
    if point == "TO_ENDPOINT":
        return [ingress]
    if point.startswith("TO_") and point != "TO_PROXY":
        return [egress] if flow.source.local else []
    found = ([ingress] if flow.destination.local else []) + ([egress] if flow.source.local else [])
    return found or [ingress, egress]


def forward(flow: Flow) -> bool | None:
    """Whether the event travels a connection's forward direction (policy applies there, not to replies):
    Hubble's `is_reply` when it says; policy verdicts and drops are decided on the way in; a TCP SYN
    without ACK opens a connection; otherwise it cannot be told (None)."""
    if flow.reply is not None:
        return not flow.reply
    if flow.policy_verdict or flow.verdict in REFUSED:
        return True
    if flow.syn is not None and flow.syn:
        return not flow.ack
    return None


class Matcher:
    """Matches flows to the policies in the scanned paths, remembering each answer: a capture repeats the
    same few thousand (identity, peer identity, port) combinations millions of times.

    A namespaced policy without `metadata.namespace` (kustomize or Argo CD sets it at deploy time) is
    evaluated in the namespace of each flow's enforcing endpoint, and attribution matches it by kind and
    name."""

    MEMO = 200_000

    def __init__(self, models: list[PolicyModel], default_local: bool = False) -> None:
        self.default_local = default_local
        self.by_namespace: dict[str, list[PolicyModel]] = {}
        self.clusterwide: list[PolicyModel] = []
        self.unplaced: list[PolicyModel] = []
        for m in models:
            if m.policy.kind == CCNP:
                self.clusterwide.append(m)
            elif m.policy.namespace is None:
                self.unplaced.append(m)
            else:
                self.by_namespace.setdefault(m.policy.namespace, []).append(m)
        self._placed: dict[tuple[int, str], PolicyModel] = {}
        self._memo: dict[tuple[object, ...], tuple[list[Match], bool]] = {}

    def _place(self, m: PolicyModel, namespace: str) -> PolicyModel:
        key = (id(m), namespace)
        placed = self._placed.get(key)
        if placed is None:
            placed = self._placed[key] = model(m.policy, m.file, namespace)
        return placed

    def candidates(self, side: Side) -> tuple[list[PolicyModel], bool]:
        """The policies that may apply at the enforcing endpoint; False when the event names only policies
        that are not among them."""
        namespace = side.enforcing.namespace
        found = [*self.by_namespace.get(namespace, ()), *self.clusterwide,
                 *(self._place(m, namespace) for m in self.unplaced if namespace)]
        if not side.attributed:
            return found, True
        named = {(r.namespace, r.name, r.kind) for r in side.attributed}  # kind is "" before Cilium 1.17

        def attributed(m: PolicyModel) -> bool:
            p = m.policy
            ns = p.namespace if p.namespace is not None or p.kind == CCNP else namespace
            return (ns or "", p.name, p.kind) in named or (ns or "", p.name, "") in named

        kept = [m for m in found if attributed(m)]
        return kept, bool(kept)

    def match(self, side: Side, flow: Flow, enforcing_cluster: str | None) -> tuple[list[Match], bool]:
        peer_local = side.peer.cluster is not None and side.peer.cluster == enforcing_cluster
        key = (side.direction, side.enforcing.labels, side.enforcing.namespace, side.peer.labels, peer_local,
               side.attributed, flow.protocol, flow.port, enforcing_cluster)
        cached = self._memo.get(key)
        if cached is None:
            models, known = self.candidates(side)
            found = list(matching(models, side.direction, side.enforcing.labels, side.peer.labels, flow.protocol,
                                  flow.port, enforcing_cluster, self.default_local, peer_local))
            cached = (found, known)
            if len(self._memo) >= self.MEMO:
                self._memo.clear()
            self._memo[key] = cached
        return cached


def gather(captures: Iterable[str], models: list[PolicyModel], local_cluster: str | None) -> Gathered:
    """Read every capture once and collect the evidence for each implicit allow selector."""
    out = Gathered()
    matcher = Matcher(models)
    for name in captures:
        capture = Capture(name)
        out.captures.append(capture)
        for flow in read(name, capture):
            if flow.verdict not in ALLOWED:
                continue
            direction = forward(flow)
            if direction is not True:
                out.replies += direction is False
                out.undirected += direction is None
                continue
            _weigh(flow, matcher, local_cluster, out)
    return out


def is_pod_or_node(e: Endpoint) -> bool:
    """Pods, and remote nodes (which node peers select); other reserved identities belong to no cluster."""
    return bool(e.labels) and (not e.reserved or "reserved:remote-node" in e.labels)


def _weigh(flow: Flow, matcher: Matcher, local_cluster: str | None, out: Gathered) -> None:
    counted = explained = outside = unknown = False
    for side in sides(flow):
        if not is_pod_or_node(side.peer) or side.enforcing.reserved:
            continue
        enforcing_cluster = side.enforcing.cluster or local_cluster
        if side.peer.cluster is None or enforcing_cluster is None:
            unknown = True
            continue
        out.clusters.update((side.peer.cluster, enforcing_cluster))
        remote = side.peer.cluster != enforcing_cluster
        counted = counted or remote
        found, known = matcher.match(side, flow, enforcing_cluster)
        outside = outside or (remote and not known)
        for m in found:
            if m.peer is None or not m.peer.implicit or m.rule.deny:
                continue
            evidence = out.evidence.setdefault(selector_key(m.peer, m.policy), Evidence())
            if remote:
                explained = True
                evidence.add(flow, side.peer, enforcing_cluster)
            else:
                evidence.enforcing.add(enforcing_cluster)  # its local peers there must keep working too
    out.cross_cluster += counted
    out.explained += explained
    out.outside += outside and not explained
    out.unknown_cluster += unknown and not counted


def stamp(when: float | None) -> str:
    if when is None:
        return "?"
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """`1d2h`, `3h5m`, `40m`, `12s`: how people write `hubble observe --since`."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400) if seconds >= 3 * 86400 else (0, seconds)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n][:2]
    return "".join(shown) or "0s"


def parse_duration(text: str) -> float:
    """`24h`, `90m`, `1h30m`, `2d`, `45s` (Go-style, as `hubble observe --since` takes them)."""
    import re

    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+(?:\.\d+)?)([dhms])", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r} (expected e.g. 24h, 90m, 1h30m)")
    return sum(float(n) * units[u] for n, u in parts)


def warnings(gathered: Gathered, since: float | None) -> list[str]:
    """Why the evidence may be thin: each one line."""
    out = [w for c in gathered.captures for w in capture_warnings(c, since)]
    if gathered.undirected:
        out.append(f"{count(gathered.undirected, 'allowed flow')} could not be told from replies (no is_reply, "
                   "no TCP SYN) and went unused")
    if gathered.unknown_cluster:
        out.append(f"{count(gathered.unknown_cluster, 'flow')} between pods could not be placed in a cluster "
                   "(no cluster_name, no cluster label, no node prefix): pass --local-cluster for the "
                   "enforcing side")
    if gathered.outside:
        out.append(f"{count(gathered.outside, 'cross-cluster flow')} allowed only by policies outside the scanned "
                   "paths")
    return out


def count(n: int, noun: str) -> str:
    """`1 flow`, `2,540 flows`."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def capture_warnings(c: Capture, since: float | None) -> list[str]:
    """What one capture lacks: time it was asked to cover, lost events, attribution, cluster names."""
    out: list[str] = []
    if not c.flows and c.error is None:
        out.append(f"{c.name}: holds no flows")
    if c.cut_off:
        out.append(f"{c.name}: the last line is incomplete (the capture was cut off) and was skipped")
    if since is not None and c.flows and c.span < since * 0.9:
        out.append(f"{c.name}: covers {duration(c.span)} of the {duration(since)} asked "
                   f"({stamp(c.first)} .. {stamp(c.last)}); Hubble keeps only its ring buffer "
                   "(4095 flows per node by default): traffic before that is missing")
    # A node whose ring buffer wrapped returns about its capacity (4095 flows by default), starting late.
    late = [(node, first) for node, (first, _, flows) in c.nodes.items()
            if flows >= RING_BUFFER_FULL and c.first is not None and first - c.first > c.span / 10]
    if late:
        node, first = max(late, key=lambda x: x[1])
        out.append(f"{c.name}: {len(late)} of {len(c.nodes)} nodes returned a full ring buffer that starts after "
                   f"the capture does (latest: {node} from {stamp(first)}): their earlier flows are missing")
    if c.lost_event_lines:
        out.append(f"{c.name}: {count(c.lost_event_lines, 'lost_events line')} ({count(c.events_lost, 'event')} "
                   "lost): flows are missing from the capture")
    if c.flows and not c.policy_verdicts:
        out.append(f"{c.name}: no policy-verdict events; selectors were matched by their labels on both "
                   "ends of each flow (capture with `--type policy-verdict` for attribution)")
    if c.without_cluster_name:
        out.append(f"{c.name}: {count(c.without_cluster_name, 'flow')} without cluster_name (agents older than "
                   "1.16): the cluster was taken from the cluster label or the node name")
    return out
