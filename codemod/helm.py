"""Where Cilium's Helm values live in a GitOps repo, found as `HelmValues` manifests for the values rules.

A values rule sees the values mapping (`policy.node`) and where it sits in the document (`policy.path`):
- a bare values file (named like `values*.yaml`, `cilium-values.yaml`, or given with `--values`);
- an umbrella chart's values that nest Cilium's under `cilium:`;
- a Flux `HelmRelease` of the cilium chart: `spec.values`;
- an Argo CD `Application` of the cilium chart: `spec.source(s).helm.valuesObject`;
- an RKE2 `HelmChartConfig` for rke2-cilium: `spec.valuesContent`, a YAML document inside a literal block
  string, read and edited in place (see `embedded`).
Facts: `cilium-facts.md` §4.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path as FilePath

from codemod.cilium import Policy, text_of
from codemod.documents import (
    Document,
    Mapping,
    Node,
    ParseError,
    Path,
    Scalar,
    Sequence,
    deref,
    parse_stream,
    to_data,
    yaml11_boolean,
)

HELM_VALUES = "HelmValues"
# Words one of which a file must hold to carry values the rules can find (bare values files are known by
# their name instead).
WORDS = (b"HelmRelease", b"Application", b"HelmChartConfig")
EMBEDDED = 10_000  # index of a document inside a string: EMBEDDED + the index of the document holding it


def is_values_name(path: FilePath) -> bool:
    """`values.yaml`, `values-prod.yaml`, `cilium-values.yml`, `helm-values.yaml` …"""
    return path.suffix in (".yaml", ".yml") and "values" in path.name.lower()


def values_in(doc: Document, values_file: bool, text: str, cilium_named: bool = False) -> Iterator[Policy]:
    """The Cilium values mappings this document holds (`text`: the file's, for values inside a string).

    A bare values file (`values_file`) counts when it is Cilium's: its path names cilium (or it was given with
    --values: `cilium_named`), it nests values under `cilium:`, or it sets keys only Cilium's chart has."""
    root = deref(doc.root)
    if not isinstance(root, Mapping):
        return
    kind = text_of(root.get("kind")) or ""
    api = text_of(root.get("apiVersion")) or ""
    meta = deref(root.get("metadata"))
    name = (text_of(meta.get("name")) if isinstance(meta, Mapping) else None) or ""
    namespace = text_of(meta.get("namespace")) if isinstance(meta, Mapping) else None
    if kind == "HelmChartConfig" and api.startswith("helm.cattle.io/"):
        if "cilium" in name:
            found = embedded(doc, text)
            if found is not None and isinstance(deref(found.document.root), Mapping):
                root_values = deref(found.document.root)
                assert isinstance(root_values, Mapping)
                yield Policy(found.document, HELM_VALUES, namespace, f"HelmChartConfig/{name}", (), root_values)
        return
    if kind == "HelmRelease" and api.startswith("helm.toolkit.fluxcd.io/"):
        if _flux_chart_is_cilium(root):
            yield from _found(doc, root, ("spec", "values"), "HelmRelease", namespace, name)
        return
    if kind == "Application" and api.startswith("argoproj.io/"):
        spec = deref(root.get("spec"))
        if not isinstance(spec, Mapping):
            return
        sources: list[tuple[Path, Node | None]] = [(("spec", "source"), spec.get("source"))]
        listed = deref(spec.get("sources"))
        if isinstance(listed, Sequence):
            sources += [(("spec", "sources", i), item) for i, item in enumerate(listed.items)]
        for path, node in sources:
            source = deref(node)
            if isinstance(source, Mapping) and text_of(source.get("chart")) == "cilium":
                yield from _found(doc, root, (*path, "helm", "valuesObject"), "Application", namespace, name)
        return
    if not values_file or ("kind" in _keys(root) and "apiVersion" in _keys(root)):
        return
    umbrella = deref(root.get("cilium"))
    if isinstance(umbrella, Mapping):
        yield Policy(doc, HELM_VALUES, None, "values/cilium", ("cilium",), umbrella)
    elif cilium_named or _keys(root) & CILIUM_KEYS:
        yield Policy(doc, HELM_VALUES, None, "values", (), root)


# Top-level keys of Cilium's chart that other charts do not use: a values file setting one is Cilium's.
CILIUM_KEYS = frozenset({
    "kubeProxyReplacement", "k8sServiceHost", "k8sServicePort", "hubble", "clustermesh", "bpf", "routingMode",
    "tunnelProtocol", "l2announcements", "l2podAnnouncements", "bgpControlPlane", "ipv4NativeRoutingCIDR",
    "autoDirectNodeRoutes", "policyEnforcementMode", "egressGateway", "socketLB", "enableIPv4Masquerade",
    "encryption", "ipam", "nodePort", "authentication", "customCalls", "svcSourceRangeCheck",
})
def boolean(node: Node | None) -> bool | None:
    """A boolean as Helm reads values (YAML 1.1: `yes`, `On`, `FALSE` …); None for anything else, quoted
    strings included."""
    value = deref(node)
    if not isinstance(value, Scalar) or value.style is not None:
        return None
    return yaml11_boolean(value.value)


def meant_boolean(node: Node | None) -> bool | None:
    """What a boolean-looking value means, quoted or not (`"false"` is a string to Helm, but meant false)."""
    found = boolean(node)
    if found is not None:
        return found
    value = deref(node)
    if isinstance(value, Scalar) and value.style in ("'", '"'):
        return yaml11_boolean(value.value)
    return None


def _keys(mapping: Mapping) -> set[str]:
    return {k.value for k, _ in mapping.pairs if hasattr(k, "value")}


def _flux_chart_is_cilium(root: Mapping) -> bool:
    spec = deref(root.get("spec"))
    if not isinstance(spec, Mapping):
        return False
    chart = deref(spec.get("chart"))
    chart_spec = deref(chart.get("spec")) if isinstance(chart, Mapping) else None
    if isinstance(chart_spec, Mapping) and text_of(chart_spec.get("chart")) == "cilium":
        return True
    ref = deref(spec.get("chartRef"))  # an OCIRepository or HelmChart named for the chart
    return isinstance(ref, Mapping) and "cilium" in (text_of(ref.get("name")) or "")


def _found(doc: Document, root: Mapping, path: Path, owner: str, namespace: str | None,
           name: str) -> Iterator[Policy]:
    node: Node | None = root
    for part in path:
        current = deref(node)
        if isinstance(current, Mapping) and isinstance(part, str):
            node = current.get(part)
        elif isinstance(current, Sequence) and isinstance(part, int) and part < len(current.items):
            node = current.items[part]
        else:
            return
    values = deref(node)
    if isinstance(values, Mapping):
        yield Policy(doc, HELM_VALUES, namespace, f"{owner}/{name}" if name else owner, path, values)


FULL_COPY_KEYS = 100  # top-level keys: the chart has about 170; hand-written values rarely pass 40


def is_full_copy(values: Mapping) -> bool:
    """A copy of the chart's whole default values (giantswarm, xunholy …): only changes that alter
    behaviour are worth making there, or every upgrade floods it with edits."""
    return len(values.pairs) >= FULL_COPY_KEYS


def lookup(values: Mapping, keys: tuple[str, ...]) -> tuple[Mapping | None, Node | None]:
    """The mapping that holds the last key, and its value node (as written); (None, None) when a level is
    missing or not a mapping."""
    mapping: Mapping = values
    for key in keys[:-1]:
        child = deref(mapping.get(key))
        if not isinstance(child, Mapping):
            return None, None
        mapping = child
    return mapping, mapping.get(keys[-1])


@dataclass
class Embedded:
    """A YAML document written inside a literal block string (`valuesContent: |`). `shadow` is the file's
    text with everything but the string's lines blanked out (newlines kept), so the inner document parses
    with the same offsets, lines and columns as in the file, and edits planned on it apply to the file."""

    document: Document
    shadow: str
    path: Path  # of the string, in the document holding it


def embedded(doc: Document, text: str) -> Embedded | None:
    """The values inside a HelmChartConfig's `spec.valuesContent`; None unless it is a literal block (`|`)
    whose lines parse to exactly the string's value."""
    import yaml

    root = deref(doc.root)
    spec = deref(root.get("spec")) if isinstance(root, Mapping) else None
    node = deref(spec.get("valuesContent")) if isinstance(spec, Mapping) else None
    if not isinstance(node, Scalar) or node.style != "|":
        return None
    start = text.find("\n", node.start) + 1
    if start == 0 or start >= node.end:
        return None
    shadow = "".join(c if c in "\r\n" else " " for c in text[:start]) + text[start:node.end] + \
        "".join(c if c in "\r\n" else " " for c in text[node.end:])
    try:
        docs = parse_stream(shadow)
        expected = yaml.safe_load(node.value)
    except (ParseError, yaml.YAMLError, RecursionError):
        return None
    if len(docs) != 1 or to_data(docs[0].root) != expected:
        return None  # an indentation indicator or tabs: what we would edit is not what Helm reads
    inner = Document(EMBEDDED + doc.index, docs[0].root, docs[0].duplicate_keys, docs[0].quoted,
                     embedded_in=doc.index)
    return Embedded(inner, shadow, ("spec", "valuesContent"))
