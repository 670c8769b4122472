"""`io.cilium.k8s.policy.cluster: "*"`: label values have no wildcard; the API server rejects it.

Repaired into the "all clusters" form, an `Exists` expression on the same key.
"""

from __future__ import annotations

from collections.abc import Iterator

from codemod.cilium import CILIUM_CLUSTER_KEYS, CLUSTER_KEY, KNP, Peer, Policy, peers, text_of
from codemod.documents import Mapping, Scalar, Sequence, deref
from codemod.edits import Append, Op, ReplaceEntry, remove_entry
from codemod.rule import Context, Finding


class InvalidClusterWildcard:
    id = "invalid-cluster-wildcard"
    summary = 'a "*" cluster label value is invalid; all clusters is an Exists expression'
    fixable = True
    needs_decision = False

    def check(self, policy: Policy, context: Context) -> Iterator[Finding]:
        for peer in peers(policy):
            selector = peer.selector
            if selector is None:
                continue
            keys = {CLUSTER_KEY} if policy.kind == KNP else CILIUM_CLUSTER_KEYS
            labels = deref(selector.get("matchLabels"))
            if isinstance(labels, Mapping):
                for key, value in labels.entries():
                    if isinstance(key, Scalar) and key.value in keys and "*" in (text_of(value) or ""):
                        yield context.finding(
                            self.id, policy, peer.path, key,
                            f'{key.value}: "{text_of(value)}" is rejected by the API server (label values have '
                            f"no wildcard); all clusters is {{key: {key.value}, operator: Exists}}",
                            direction=peer.direction, deny=peer.deny, fix=_repair(peer, labels, key.value))
            expressions = deref(selector.get("matchExpressions"))
            if isinstance(expressions, Sequence):
                for i, item in enumerate(expressions.items):
                    expression = deref(item)
                    if not isinstance(expression, Mapping) or text_of(expression.get("key")) not in keys:
                        continue
                    values = deref(expression.get("values"))
                    if isinstance(values, Sequence) and any("*" in (text_of(v) or "") for v in values.items):
                        yield context.finding(
                            self.id, policy, (*peer.path, "matchExpressions", i), item,
                            'a "*" cluster value is rejected by the API server; for all clusters use '
                            "operator: Exists without values", direction=peer.direction, deny=peer.deny)


def _repair(peer: Peer, labels: Mapping, key: str) -> list[Op]:
    """The Exists form on the same key; when the wildcard was the selector's only label, matchLabels
    itself becomes matchExpressions rather than leaving an empty `matchLabels: {}` behind."""
    doc = peer.policy.document.index
    base = peer.selector_path
    expression = {"key": key, "operator": "Exists"}
    selector = peer.selector
    if len(labels.pairs) == 1 and selector is not None and selector.get("matchExpressions") is None:
        return [ReplaceEntry(doc, (*base, "matchLabels"), "matchExpressions", [expression])]
    return [remove_entry(doc, (*base, "matchLabels"), labels, key),
            Append(doc, (*base, "matchExpressions"), expression)]
