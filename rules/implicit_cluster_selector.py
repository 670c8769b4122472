"""Peer selectors that name no cluster: on Cilium 1.19 they match the local cluster only."""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import (
    ALL_CLUSTERS_EXPRESSION,
    CLUSTER_KEY,
    KNP,
    REQUIRES_FIELDS,
    Peer,
    Policy,
    cluster_form,
    peers,
    relies_on_default,
)
from codemod.decisions import Decision
from codemod.documents import Mapping, deref
from codemod.edits import Append, Insert, Op, Replace, remove_entry
from codemod.rule import Context, Finding


class ImplicitClusterSelector:
    id = "implicit-cluster-selector"
    summary = "peer selector relies on the implicit cluster default (local-only on Cilium 1.19)"
    fixable = True
    needs_decision = True
    severity = "warning"
    versions = ("1.19", "1.20")
    explanation = """
Cilium 1.19 turns `policy-default-local-cluster` on: the agent adds
`io.cilium.k8s.policy.cluster=<local cluster>` to every peer selector (fromEndpoints, toEndpoints,
fromNodes, toNodes, and NetworkPolicy from/to peers) that does not name a cluster itself. In a ClusterMesh
such a peer silently stops matching the other clusters: cross-cluster traffic is dropped, and a deny
rule stops denying remote clusters. The decision file says what each peer should match; the rewrite
makes it explicit: all clusters (an `Exists` expression), named clusters (a label, or an `In`
expression), or local (unchanged, and then deliberate). Policy subjects are never affected.
"""
    before = """
ingress:
  - fromEndpoints:
      - matchLabels:
          app: frontend
"""
    after = """
# decision: all-clusters
ingress:
  - fromEndpoints:
      - matchLabels:
          app: frontend
        matchExpressions:
          - key: io.cilium.k8s.policy.cluster
            operator: Exists
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        for peer in peers(policy):
            if not relies_on_default(peer):
                continue
            decision = context.decide(peer)
            removed = peer.field in REQUIRES_FIELDS  # rejected by 1.19 anyway: requires-removed says so
            yield context.finding(self.id, policy, peer.path, peer.node, _message(peer),
                                  direction=peer.direction, deny=peer.deny, decision=decision,
                                  fix=[] if removed else fix(peer, decision), fixable=not removed)


def _message(peer: Peer) -> str:
    where = f"{peer.field} peer"
    if peer.policy.kind == KNP:
        where = f"{peer.field} peer (podSelector)"
    if peer.deny:
        message = f"{where} of a deny rule stops denying remote clusters on Cilium 1.19 (names no cluster)"
    elif peer.field in ("fromRequires", "toRequires"):
        return f"{where} names no cluster (and {peer.field} is removed in Cilium 1.19)"
    else:
        message = f"{where} matches only the local cluster on Cilium 1.19 (names no cluster)"
    return message + _caveat(peer)


def _caveat(peer: Peer) -> str:
    """What no explicit form keeps: the cases where the 1.18 meaning is not "these pods, in every cluster"."""
    if _empty_cluster_value(peer):
        return ("; on Cilium 1.18 it matched nothing: no pod has an empty cluster label (an explicit form "
                "makes it match pods)")
    if _may_select_clusterless(peer):
        return ("; on Cilium 1.18 it also matched identities outside any cluster (world, host, CIDR), which "
                "no cluster selector matches: use fromEntities/toEntities or CIDR rules for those")
    return ""


def _empty_cluster_value(peer: Peer) -> bool:
    labels = deref(peer.selector.get("matchLabels")) if peer.selector is not None else None
    return isinstance(labels, Mapping) and labels.get(CLUSTER_KEY) is not None


def _may_select_clusterless(peer: Peer) -> bool:
    """A cheap test first (only selectors without matchLabels can), then Cilium's semantics."""
    node = deref(peer.node)
    if not isinstance(node, Mapping):
        return False
    labels = deref(node.get("matchLabels"))
    if peer.policy.kind != KNP and isinstance(labels, Mapping) and labels.pairs:
        return False
    from codemod.selection import admits_clusterless  # rarely needed: kept off the start-up path

    return admits_clusterless(peer)


def fix(peer: Peer, decision: Decision) -> list[Op]:
    """The explicit form the decision asks for; `local` and `undecided` change nothing."""
    if decision.action not in ("all-clusters", "clusters"):
        return []
    doc = peer.policy.document.index
    base = peer.selector_path
    form: str = "expression"
    value: object = dict(ALL_CLUSTERS_EXPRESSION)
    if decision.action == "clusters":
        form, value = cluster_form(list(decision.clusters))
    # A NetworkPolicy podSelector may already hold the key with an empty value, which does not name a
    # cluster (and would make any added expression match nothing): replace it or take it out first.
    labels = deref(peer.selector.get("matchLabels")) if peer.selector is not None else None
    empty = _empty_cluster_value(peer)
    if form == "label":
        if empty:
            return [Replace(doc, (*base, "matchLabels", CLUSTER_KEY), value)]
        return [Insert(doc, (*base, "matchLabels", CLUSTER_KEY), value)]
    ops: list[Op] = []
    if empty and isinstance(labels, Mapping):
        ops.append(remove_entry(doc, (*base, "matchLabels"), labels, CLUSTER_KEY))
    return [*ops, Append(doc, (*base, "matchExpressions"), value)]
