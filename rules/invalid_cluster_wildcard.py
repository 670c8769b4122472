"""`io.cilium.k8s.policy.cluster: "*"`: label values have no wildcard; the API server rejects it.

Repaired into the "all clusters" form, an `Exists` expression on the same key (prefix kept).
"""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import CILIUM_CLUSTER_KEYS, CLUSTER_KEY, KNP, Peer, Policy, peers, text_of
from codemod.documents import Mapping, Node, Scalar, Sequence, deref
from codemod.edits import Append, Delete, Insert, Op, Replace, ReplaceEntry
from codemod.rule import Context, Finding


class InvalidClusterWildcard:
    id = "invalid-cluster-wildcard"
    summary = 'a "*" cluster label value is invalid; all clusters is an Exists expression'
    fixable = True
    needs_decision = False
    severity = "error"
    versions = ("1.19", "1.20")
    explanation = """
Label values have no wildcard: the CRD pattern and the agent both reject `"*"`, so a policy that followed
upgrade write-ups recommending `io.cilium.k8s.policy.cluster: "*"` is refused. "All clusters" is an
`Exists` expression on the same key; the rewrite repairs every shape (matchLabels, In/NotIn values),
keeping the key's prefix.
"""
    before = """
fromEndpoints:
  - matchLabels:
      app: frontend
      io.cilium.k8s.policy.cluster: "*"
"""
    after = """
fromEndpoints:
  - matchLabels:
      app: frontend
    matchExpressions:
      - key: io.cilium.k8s.policy.cluster
        operator: Exists
"""

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        keys = {CLUSTER_KEY} if policy.kind == KNP else CILIUM_CLUSTER_KEYS
        for peer in peers(policy):
            selector = peer.selector
            if selector is None:
                continue
            labels = deref(selector.get("matchLabels"))
            wild_labels = [k for k, v in labels.entries() if isinstance(k, Scalar) and k.value in keys
                           and "*" in (text_of(v) or "")] if isinstance(labels, Mapping) else []
            expressions = deref(selector.get("matchExpressions"))
            items = expressions.items if isinstance(expressions, Sequence) else []
            wild_expressions = [(i, item, key) for i, item in enumerate(items)
                                if (key := _wild_expression_key(item, keys)) is not None]
            if not wild_labels and not wild_expressions:
                continue
            named = sorted({k.value for k in wild_labels} | {key for _, _, key in wild_expressions})
            first: Node = wild_labels[0] if wild_labels else wild_expressions[0][1]
            yield context.finding(
                self.id, policy, peer.path, first,
                f'a "*" value for {", ".join(named)} is rejected by the API server (label values have no '
                "wildcard); all clusters is {key: io.cilium.k8s.policy.cluster, operator: Exists}",
                direction=peer.direction, deny=peer.deny, fixable=True,
                fix=_repair(peer, labels, [k.value for k in wild_labels], [(i, k) for i, _, k in wild_expressions]))


def _wild_expression_key(item: Node, keys: set[str] | frozenset[str]) -> str | None:
    """The key of a cluster expression that lists a "*" value, else None."""
    expression = deref(item)
    key = text_of(expression.get("key")) if isinstance(expression, Mapping) else None
    if key not in keys or not isinstance(expression, Mapping):
        return None
    values = deref(expression.get("values"))
    wild = isinstance(values, Sequence) and any("*" in (text_of(v) or "") for v in values.items)
    return key if wild else None


def _repair(peer: Peer, labels: Node | None, label_keys: list[str], expressions: list[tuple[int, str]]) -> list[Op]:
    """The Exists form on the same keys. Wildcard expressions become Exists in place; wildcard labels move
    to matchExpressions, and when they were the only labels, matchLabels itself becomes matchExpressions
    rather than leaving an empty `matchLabels: {}` behind."""
    doc = peer.policy.document.index
    base = peer.selector_path
    exists = [{"key": key, "operator": "Exists"} for key in label_keys]
    ops: list[Op] = [Replace(doc, (*base, "matchExpressions", i), {"key": key, "operator": "Exists"})
                     for i, key in expressions]
    if not label_keys or not isinstance(labels, Mapping):
        return ops
    has_expressions = peer.selector is not None and peer.selector.get("matchExpressions") is not None
    if len(label_keys) == len(labels.pairs) and not has_expressions:
        return [*ops, ReplaceEntry(doc, (*base, "matchLabels"), "matchExpressions", exists)]
    if len(label_keys) == len(labels.pairs):
        ops.append(Replace(doc, (*base, "matchLabels"), {}))
    else:
        ops += [Delete(doc, (*base, "matchLabels", key)) for key in label_keys]
    if has_expressions:
        return ops + [Append(doc, (*base, "matchExpressions"), item) for item in exists]
    return [*ops, Insert(doc, (*base, "matchExpressions"), exists)]

