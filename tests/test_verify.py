"""The last line of defence: verify() refuses any rewrite that is not exactly the intended change."""

from __future__ import annotations

import pytest

from codemod.documents import comments, parse_stream, to_data
from codemod.edits import Append, Insert, Unsafe, apply_to_data
from codemod.verify import _compare_independently, _read_alike, verify

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


def _intended(text: str, op: Append) -> dict[int, object]:
    """Our reading of `text` plus the change, as verify() hands it to the second loader."""
    data = to_data(parse_stream(text)[0].root)
    apply_to_data(data, op)
    return {op.document: data}


def test_the_second_loader_checks_on_its_own() -> None:
    with pytest.raises(Unsafe) as caught:
        _compare_independently(OLD, GOOD.replace("app: web", "app: api"), parse_stream(OLD), [ADD],
                               _intended(OLD, ADD))
    assert "(second loader)" in caught.value.message
    _compare_independently(OLD, GOOD, parse_stream(OLD), [ADD], _intended(OLD, ADD))  # and passes the right one


YAML11 = OLD.replace("# header\n", "# header\nenabled: yes\nsince: 2024-01-31\n")


@pytest.mark.parametrize("wrong", [False, True], ids=["right-edit", "wrong-edit"])
def test_where_the_loaders_read_scalars_differently_pyyaml_reads_the_old_text_too(wrong: bool) -> None:
    """`yes` and dates are strings to us (YAML 1.2) and a boolean and a date to PyYAML (YAML 1.1): the quick
    comparison with our reading fails, and PyYAML's own reading of the old text plus the change decides."""
    new = YAML11.replace("- matchLabels: {app: db}  #", "- {matchLabels: {app: db}, matchExpressions: "
                         "[{key: io.cilium.k8s.policy.cluster, operator: Exists}]}  #")
    if wrong:
        new = new.replace("app: web", "app: api")
    intended = _intended(YAML11, ADD)
    assert intended[0]["enabled"] == "yes"  # type: ignore[index]
    if wrong:
        with pytest.raises(Unsafe, match="second loader"):
            _compare_independently(YAML11, new, parse_stream(YAML11), [ADD], intended)
    else:
        _compare_independently(YAML11, new, parse_stream(YAML11), [ADD], intended)
        verify(YAML11, new, parse_stream(YAML11), [ADD])


def test_a_rewrite_the_second_loader_cannot_read_is_refused() -> None:
    with pytest.raises(Unsafe, match="does not load"):
        _compare_independently(OLD, GOOD.replace("{app: web}", "{app: web, app: *nowhere}"), parse_stream(OLD),
                               [ADD], _intended(OLD, ADD))




@pytest.mark.parametrize(("text", "expected"), [
    ("a: b # c\n", ["# c"]),
    ("# top\na: b\n", ["# top"]),
    ("a: 'b # not a comment'\n", []),
    ('a: "b # not\n  # either"  # but this\n', ["# but this"]),
    ("a: |\n  b # text\n  # text too\n# after the block\n", ["# after the block"]),
    ("a: >-\n  folded # text\nb: c#d\n", []),
    ("a: b#c  # d\n", ["# d"]),
    ("a: [x, 'y # z'] # w\n", ["# w"]),
    ("? 'k # q'\n: v # r\n", ["# r"]),
    ("a: b\n  # indented after a plain scalar\nc: d\n", ["# indented after a plain scalar"]),
    ("a: &x 'p # q' # one\nb: *x # two\n", ["# one", "# two"]),
    ("a: | # header note\n  text # not a comment\n", ["# header note"]),
    ("a: >- # folded header\n  x # text\n", ["# folded header"]),
    ("a: &x # between\n  'v # no'\n", ["# between"]),
    ("a: !!str # it's a tag\n  \"q # z\"\n", ["# it's a tag"]),
], ids=["inline", "own-line", "single-quoted", "double-quoted-lines", "literal-block", "folded-and-plain-hash",
        "plain-hash-then-comment", "flow-quoted", "complex-key", "after-plain", "aliased-quoted", "block-header",
        "folded-header", "after-anchor", "after-tag-with-quote"])
def test_comments_are_told_from_hashes_inside_quoted_and_block_scalars(text: str, expected: list[str]) -> None:
    assert sorted(comments(text, parse_stream(text)).elements()) == sorted(expected)


OLD11 = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: p
  labels:
    LABEL
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
    - fromEndpoints:
        - matchLabels: {app: db}
"""
POLICY_WORDS = ("NetworkPolicy",)


@pytest.mark.parametrize(("before", "after"), [
    ("audit: yes", 'audit: "yes"'), ("since: 2024-01-01", "since: '2024-01-01'"), ("mode: 010", "mode: 10"),
    ("big: 1_000", "big: '1_000'"), ("on: x", '"on": x'), ("at: 1:30", "at: '1:30'"),
], ids=["yes-quoted", "date-quoted", "octal-to-decimal", "underscores-quoted", "on-key-quoted", "sexagesimal"])
def test_a_stray_edit_only_yaml_1_1_readers_see_is_refused(before: str, after: str) -> None:
    """We read both sides of each stray edit alike (YAML 1.2); Helm and kubectl (YAML 1.1) do not. The second
    loader must read the old text itself here, not trust our reading of it."""
    old = OLD11.replace("LABEL", before)
    good = old.replace("- matchLabels: {app: db}", "- {matchLabels: {app: db}, matchExpressions: "
                       "[{key: io.cilium.k8s.policy.cluster, operator: Exists}]}")
    verify(old, good, parse_stream(old, POLICY_WORDS), [ADD], POLICY_WORDS)  # the intended change alone passes
    with pytest.raises(Unsafe, match="second loader"):
        verify(old, good.replace(before, after), parse_stream(old, POLICY_WORDS), [ADD], POLICY_WORDS)


def test_a_rewrite_the_second_loader_cannot_read_is_refused_beside_a_document_it_cannot_construct() -> None:
    """Only the changed documents are constructed, on both sides: an unknown tag in another document does
    not switch the check off."""
    old = OLD + "...\n---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {owner: !Ref Team}\n"
    new = GOOD.replace("spec:\n", "<<: oops\nspec:\n", 1) + old[len(OLD):]
    with pytest.raises(Unsafe, match="does not load"):
        verify(old, new, parse_stream(old, POLICY_WORDS), [ADD], POLICY_WORDS)


@pytest.mark.parametrize(("text", "alike"), [
    ("a: b\nc: [1, -2, 2.5, 0x1f, true, False, null, ~, '', 'yes', \"010\"]\nd: |\n  on\n", True),
    ("a: &x {k: v}\nb: *x\n", True),
    ("a: yes\n", False), ("a: 010\n", False), ("a: 1e3\n", False), ("a: .nan\n", False), ("a: 2024-01-01\n", False),
    ("a: !!str b\n", False), ("a: ! b\n", False), ("a: &x {k: v}\nb: {<<: *x}\n", False), ("? [a]\n: b\n", False),
    ("n: =\n", False),
], ids=["plain-quoted-and-block", "alias", "yes", "octal", "exponent", "nan", "date", "tag", "non-specific-tag",
        "merge-key", "complex-key", "value-key"])
def test_documents_both_loaders_read_alike(text: str, alike: bool) -> None:
    """The condition under which our reading of the old text stands in for PyYAML's."""
    assert _read_alike(parse_stream(text)[0].root) is alike
    if alike:
        import yaml

        assert yaml.safe_load(text) == to_data(parse_stream(text)[0].root)


def test_a_rewrite_that_drops_a_block_scalars_header_comment_is_refused() -> None:
    old = OLD.replace("# header\n", "# header\nnote: |  # keep me\n  text\n")
    new = GOOD.replace("# header\n", "# header\nnote: |\n  text\n")
    verify(old, new.replace("note: |\n", "note: |  # keep me\n"), parse_stream(old), [ADD])
    with pytest.raises(Unsafe, match="lose the comment '# keep me'"):
        verify(old, new, parse_stream(old), [ADD])
