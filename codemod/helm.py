"""Where Cilium's Helm values live in a GitOps repo, found as `HelmValues` manifests for the values rules.

A values rule sees the values mapping (`policy.node`) and where it sits in the document (`policy.path`):
- a bare values file (named like `values*.yaml`, `cilium-values.yaml`, or given with `--values`);
- an umbrella chart's values that nest Cilium's under `cilium:`;
- a Flux `HelmRelease` of the cilium chart: `spec.values`;
- an Argo CD `Application` of the cilium chart: `spec.source(s).helm.valuesObject`.
Facts: `cilium-facts.md` §4.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path as FilePath

from codemod.cilium import Policy, text_of
from codemod.documents import Document, Mapping, Node, Path, Sequence, deref

HELM_VALUES = "HelmValues"
# Words one of which a file must hold to carry values the rules can find (bare values files are known by
# their name instead).
WORDS = (b"HelmRelease", b"Application")


def is_values_name(path: FilePath) -> bool:
    """`values.yaml`, `values-prod.yaml`, `cilium-values.yml`, `helm-values.yaml` …"""
    return path.suffix in (".yaml", ".yml") and "values" in path.name.lower()


def values_in(doc: Document, values_file: bool) -> Iterator[Policy]:
    """The Cilium values mappings this document holds."""
    root = deref(doc.root)
    if not isinstance(root, Mapping):
        return
    kind = text_of(root.get("kind")) or ""
    api = text_of(root.get("apiVersion")) or ""
    meta = deref(root.get("metadata"))
    name = (text_of(meta.get("name")) if isinstance(meta, Mapping) else None) or ""
    namespace = text_of(meta.get("namespace")) if isinstance(meta, Mapping) else None
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
    else:
        yield Policy(doc, HELM_VALUES, None, "values", (), root)


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
