"""Documents that hold no kind a rule looks at are blanked before composing (`documents.relevant_only`) and
verification composes only the changed ones: the cut must match YAML's own idea of documents, and nothing
a rewrite touches may escape verification."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from codemod.documents import keep_only, parse_stream, relevant_only, sections
from codemod.edits import Append, Unsafe
from codemod.verify import verify
from tests.conftest import invoke, write_files

POLICY = ("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n"
          "  endpointSelector: {}\n  ingress:\n    - fromEndpoints:\n        - matchLabels: {app: a}   # keep me\n")
CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {x: '1'}\n"
WORDS = ("NetworkPolicy",)


@pytest.mark.parametrize("text", [
    "# only comments\n---\n" + POLICY + "---\n" + CONFIG,
    CONFIG + "---\n" + POLICY,
    "\ufeff# a comment after a BOM\n---\n" + POLICY + "---\n" + CONFIG,
    "--- !!map\n" + CONFIG.replace("apiVersion", "apiVersion", 1) + "--- |\n  text\n---\n" + POLICY,
    CONFIG + "...\n---\n" + POLICY,
    "%YAML 1.1\n---\n" + CONFIG + "---\n" + POLICY,
    CONFIG.replace("\n", "\r") + "---\r" + POLICY.replace("\n", "\r"),
    CONFIG + "\u2028---\u2028" + POLICY,
], ids=["comment-first", "config-first", "bom", "marker-content", "end-marker", "directive", "cr-only",
        "line-separator"])
def test_blanking_keeps_documents_where_yaml_has_them(text: str) -> None:
    """Same length and document count as the original; the policy still reads the same."""
    blanked = relevant_only(text, WORDS)
    assert len(blanked) == len(text)
    whole, cut = list(yaml.safe_load_all(text.lstrip("\ufeff"))), list(yaml.safe_load_all(blanked.lstrip("\ufeff")))
    assert len(whole) == len(cut)
    assert [d for d in whole if isinstance(d, dict) and d.get("kind") == "CiliumNetworkPolicy"] == \
        [d for d in cut if isinstance(d, dict) and d.get("kind") == "CiliumNetworkPolicy"]
    assert len(parse_stream(text, WORDS)) == len(parse_stream(text))


def _positions(text: str, words: tuple[str, ...] | None) -> list[tuple[int, int, int, int]]:
    """(start, end, line, column) of every node of the policy documents."""
    out = []
    for doc in parse_stream(text, words):
        stack = [doc.root] if doc.root is not None and "NetworkPolicy" in text[doc.root.start:doc.root.end] else []
        while stack:
            node = stack.pop()
            out.append((node.start, node.end, node.line, node.column))
            stack += [n for pair in getattr(node, "pairs", []) for n in pair] + list(getattr(node, "items", []))
    return out


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_nodes_after_blanked_documents_keep_their_offsets_lines_and_columns(newline: str) -> None:
    text = ("# leading comment\n" + CONFIG + "---\n" + POLICY + "--- # marker comment\n" + CONFIG + "---\n" +
            POLICY.replace("name: p", "name: q") + "---\n" + CONFIG).replace("\n", newline)
    blanked = relevant_only(text, WORDS)
    assert len(blanked) == len(text) and blanked.count("\n") == text.count("\n")
    assert "ConfigMap" not in blanked
    assert _positions(text, WORDS) == _positions(text, None) != []


@pytest.mark.parametrize("text", ["a\rb", "a\x85b", "a\u2028b", "a\u2029b", "x\n...\n", "%YAML 1.2\n---\n"])
def test_streams_with_other_line_breaks_or_markers_are_not_cut(text: str) -> None:
    assert sections(text) is None
    assert keep_only(text, lambda i, _: False) == text


def _with_tampered_config(text: str) -> tuple[str, str, list[Append]]:
    docs = parse_stream(text, WORDS)
    index = next(d.index for d in docs if d.root is not None and "CiliumNetworkPolicy" in text[d.root.start:d.root.end])
    op = Append(index, ("spec", "ingress", 0, "fromEndpoints", 0, "matchExpressions"),
                {"key": "io.cilium.k8s.policy.cluster", "operator": "Exists"})
    good = text.replace("{app: a}   # keep me", "{app: a}   # keep me\n          matchExpressions: "
                        "[{key: io.cilium.k8s.policy.cluster, operator: Exists}]")
    return good, good.replace("name: c", "name: EVIL"), [op]


@pytest.mark.parametrize("separator", ["\n", "\u2028"], ids=["newline", "line-separator"])
def test_a_change_outside_the_changed_document_is_refused(separator: str) -> None:
    text = POLICY + "---" + separator + CONFIG
    good, evil, ops = _with_tampered_config(text)
    docs = parse_stream(text, WORDS)
    verify(text, good, docs, ops, WORDS)
    with pytest.raises(Unsafe):
        verify(text, evil, docs, ops, WORDS)


def test_a_hash_in_an_unchanged_scalar_cannot_cover_a_lost_comment() -> None:
    other = POLICY.replace("name: p", "name: q").replace("# keep me", "").replace(
        "  endpointSelector: {}", '  description: "see # keep me\n    later"\n  endpointSelector: {}')
    text = POLICY + "---\n" + other
    docs = parse_stream(text, WORDS)
    ops = [Append(0, ("spec", "ingress", 0, "fromEndpoints", 0, "matchExpressions"),
                  {"key": "io.cilium.k8s.policy.cluster", "operator": "Exists"})]
    lost = text.replace("{app: a}   # keep me\n", "{app: a}\n          matchExpressions: "
                        "[{key: io.cilium.k8s.policy.cluster, operator: Exists}]\n", 1)
    with pytest.raises(Unsafe, match="lose the comment"):
        verify(text, lost, docs, ops, WORDS)


def test_a_helm_loop_around_policies_is_a_template(in_tmp: Path) -> None:
    text = "{{- range .Values.apps }}\n---\n" + POLICY + "---\n{{- end }}\n"
    write_files(in_tmp, {"t.yaml": text, "d.yaml": "version: 1\ndefault: all-clusters\n"})
    result = invoke("rewrite", "t.yaml", "--decisions", "d.yaml", "--write")
    assert "t.yaml: skipped: template (Helm/Go/Jinja)" in result.stderr
    assert (in_tmp / "t.yaml").read_text() == text


def test_github_expressions_in_a_deployment_are_not_a_template(in_tmp: Path) -> None:
    deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  x: \"${{ secrets.TOKEN }}\"\n"
    write_files(in_tmp, {"t.yaml": deploy + "---\n" + POLICY})
    assert "implicit-cluster-selector" in invoke("scan", "t.yaml").stdout
