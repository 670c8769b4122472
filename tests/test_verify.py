"""The last line of defence: verify() refuses any rewrite that is not exactly the intended change."""

from __future__ import annotations

import pytest

from codemod.documents import parse_stream
from codemod.edits import Append, Insert, Unsafe
from codemod.verify import _compare_independently, verify

OLD = """\
# header
spec:
  endpointSelector: &sel {matchLabels: {app: web}}
  ingress:
    - fromEndpoints:
        - matchLabels: {app: db}  # the database
      toPorts: [{ports: [{port: "5432"}]}]
"""
EXISTS = {"key": "io.cilium.k8s.policy.cluster", "operator": "Exists"}
ADD = Append(0, ("spec", "ingress", 0, "fromEndpoints", 0, "matchExpressions"), EXISTS)
GOOD = OLD.replace("- matchLabels: {app: db}  #", "- {matchLabels: {app: db}, matchExpressions: "
                   "[{key: io.cilium.k8s.policy.cluster, operator: Exists}]}  #")


def test_the_intended_change_passes() -> None:
    docs = verify(OLD, GOOD, parse_stream(OLD), [ADD])
    assert len(docs) == 1


@pytest.mark.parametrize(("new", "words"), [
    (GOOD.replace('"5432"', "5432"), "unintended change at spec.ingress[0].toPorts[0].ports[0].port"),
    (GOOD.replace("# header\n", ""), "lose the comment '# header'"),
    (GOOD.replace("  # the database", ""), "lose the comment '# the database'"),
    (OLD, "unintended change at spec.ingress[0].fromEndpoints[0]"),
    (GOOD + "---\nb: 1\n", "different number of documents"),
    (GOOD.replace("ingress:", "ingress: ["), "does not parse"),
], ids=["retyped-port", "lost-header-comment", "lost-inline-comment", "change-missing", "extra-doc", "broken"])
def test_anything_else_is_refused(new: str, words: str) -> None:
    with pytest.raises(Unsafe) as caught:
        verify(OLD, new, parse_stream(OLD), [ADD])
    assert words in caught.value.message


def test_a_change_leaking_through_an_anchor_is_refused() -> None:
    old = "a: &x {k: 1}\nb: *x\n"
    new = "a: &x {k: 1, m: 2}\nb: *x\n"  # the edit at the anchor also changes b
    with pytest.raises(Unsafe) as caught:
        verify(old, new, parse_stream(old), [Insert(0, ("a", "m"), 2)])
    assert "unintended change at b" in caught.value.message, caught.value.message
    assert caught.value.line == 2


def test_the_second_loader_checks_on_its_own() -> None:
    with pytest.raises(Unsafe) as caught:
        _compare_independently(OLD, GOOD.replace("app: web", "app: api"), parse_stream(OLD), [ADD], {ADD.document})
    assert "(second loader)" in caught.value.message
    _compare_independently(OLD, GOOD, parse_stream(OLD), [ADD], {ADD.document})  # and passes the right one
