"""`flows diff`: the connections that worked before the upgrade and are dropped after it, and why.

A connection is source workload/namespace/cluster → destination workload/namespace/cluster, port and
protocol (replies are not connections). It regressed when the BEFORE capture saw it allowed and the AFTER
capture saw it DROPPED, or AUDIT (policy audit mode: it would have been dropped). Given the policies, a
cross-cluster regression is traced to the implicit selectors that allowed it before: Cilium 1.19 narrows
them to the local cluster, and the decision that would restore the connection is named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from codemod.decisions import Decision
from codemod.evidence import Matcher, forward, is_pod_or_node, sides
from codemod.flows import ALLOWED, REFUSED, Capture, Endpoint, Flow, read
from codemod.selection import PeerModel, PolicyModel


@dataclass(frozen=True, order=True)
class End:
    namespace: str
    workload: str
    cluster: str

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.workload}" if self.namespace else self.workload
        return f"{where}@{self.cluster}" if self.cluster else where


@dataclass(frozen=True, order=True)
class Connection:
    source: End
    destination: End
    protocol: str
    port: int

    @property
    def cross_cluster(self) -> bool:
        s, d = self.source.cluster, self.destination.cluster
        return bool(s and d and s != d)

    def __str__(self) -> str:
        port = f"{self.protocol}/{self.port}" if self.protocol else "no L4"
        return f"{self.source} -> {self.destination} {port}"


def _end(e: Endpoint) -> End:
    return End(e.namespace, e.workload, e.cluster or "")


def connection(flow: Flow) -> Connection:
    return Connection(_end(flow.source), _end(flow.destination), flow.protocol, flow.port)


@dataclass
class Cause:
    """An implicit selector that allowed the connection before and no longer reaches the peer's cluster."""

    policy: PolicyModel
    peer: PeerModel
    direction: str
    restore: Decision

    @property
    def where(self) -> str:
        return f"{self.policy.file}:{self.peer.peer.node.line + 1}"


@dataclass
class Tally:
    before: int = 0  # allowed flows in BEFORE
    after_delivered: int = 0  # allowed flows seen at the destination's node
    after_refused: Counter[str] = field(default_factory=Counter)  # verdict → flows
    reasons: Counter[str] = field(default_factory=Counter)
    directions: set[str] = field(default_factory=set)
    denied_by: set[str] = field(default_factory=set)
    sample: Flow | None = None  # one refused flow, for its labels
    unexplained_drop: bool = False  # some drop had no explicit deny or auth behind it (see _default_deny)
    causes: list[Cause] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return sum(self.after_refused.values())


@dataclass
class FlowDiff:
    before: Capture
    after: Capture
    connections: dict[Connection, Tally] = field(default_factory=dict)
    explained: bool = False  # policies were given to trace regressions to selectors

    @property
    def regressions(self) -> list[tuple[Connection, Tally]]:
        found = [(c, t) for c, t in self.connections.items() if t.before and t.refused]
        return sorted(found, key=lambda ct: (-ct[1].refused, ct[0]))


def diff(before: str, after: str, models: Sequence[PolicyModel] = (), local_cluster: str | None = None) -> FlowDiff:
    out = FlowDiff(Capture(before), Capture(after))
    for flow in read(before, out.before):
        if flow.verdict in ALLOWED and forward(flow):
            out.connections.setdefault(connection(flow), Tally()).before += 1
    for flow in read(after, out.after):
        if not forward(flow):
            continue
        tally = out.connections.get(connection(flow))
        if tally is None:
            continue  # only what worked before can regress; new connections are not tracked
        if flow.verdict in ALLOWED:
            if flow.destination.local or flow.trusted_direction == "INGRESS":
                tally.after_delivered += 1  # seen arriving: an egress pass may still be dropped at ingress
        elif flow.verdict in REFUSED:
            tally.after_refused[flow.verdict] += 1
            if flow.drop_reason:
                tally.reasons[flow.drop_reason] += 1
            if flow.trusted_direction:
                tally.directions.add(flow.trusted_direction.lower())
            for ref in (*flow.ingress_denied_by, *flow.egress_denied_by):
                tally.denied_by.add(f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name)
            if tally.sample is None or (not tally.unexplained_drop and _default_deny(flow)):
                tally.sample = flow
            tally.unexplained_drop = tally.unexplained_drop or _default_deny(flow)
    if models:
        out.explained = True
        _explain(out, list(models), local_cluster)
    return out


def _default_deny(flow: Flow) -> bool:
    """Dropped because no rule allowed it (not an explicit deny, not mesh auth): what a peer that went
    local-only causes."""
    if flow.ingress_denied_by or flow.egress_denied_by:
        return False
    return flow.verdict == "AUDIT" or flow.drop_reason in ("POLICY_DENIED", "")


def _explain(out: FlowDiff, models: list[PolicyModel], local_cluster: str | None) -> None:
    matcher = Matcher(models)
    restore: dict[int, set[str]] = {}  # per peer selector: every cluster its regressions need
    found: list[tuple[Tally, PolicyModel, PeerModel, str]] = []
    for _, tally in out.regressions:
        flow = tally.sample
        if flow is None or not tally.unexplained_drop:
            continue
        for side in sides(flow):
            enforcing = side.enforcing.cluster or local_cluster
            remote = side.peer.cluster
            if not is_pod_or_node(side.peer) or enforcing is None or remote is None or remote == enforcing:
                continue
            matches, _ = matcher.match(side, flow, enforcing)
            for m in matches:
                if m.peer is None or not m.peer.implicit or m.rule.deny:
                    continue
                restore.setdefault(id(m.peer), set()).update({enforcing, remote})
                found.append((tally, m.policy, m.peer, side.direction))
    for tally, policy, peer, direction in found:
        clusters = tuple(sorted(restore[id(peer)]))
        if not any(c.peer is peer for c in tally.causes):
            tally.causes.append(Cause(policy, peer, direction, Decision("clusters", clusters)))
