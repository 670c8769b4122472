"""Machine-readable output: `--format json`, and `inspect-json`, the exact shape of
`cilium clustermesh inspect-policy-default-local-cluster -o json` so a repo can be compared with a cluster."""

from __future__ import annotations

import json
from typing import Any

from codemod.cilium import CCNP, CNP, KNP
from codemod.engine import Run
from codemod.rule import Finding


def finding_data(f: Finding, with_decision: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "rule": f.rule, "file": f.file, "document": f.document, "line": f.line, "kind": f.kind,
        "namespace": f.namespace, "name": f.name, "path": f.path, "message": f.message,
    }
    if f.direction is not None:
        data["direction"] = f.direction
    if f.deny is not None:
        data["deny"] = f.deny
    data["fixable"] = f.fixable
    data["severity"] = f.severity
    if with_decision and f.decision is not None:
        data["decision"] = f.decision.action
        if f.decision.clusters:
            data["clusters"] = list(f.decision.clusters)
        if f.decision.reason:
            data["reason"] = f.decision.reason
    return data


def report(run: Run, with_decision: bool) -> str:
    data = {
        "findings": [finding_data(f, with_decision) for f in run.findings],
        "errors": [{"file": e.file, "line": e.line, "reason": e.message} for e in run.errors],
        "skipped": [{"file": s.file, "reason": s.reason} for s in run.skipped],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


_INSPECT_KEYS = {CNP: "ciliumNetworkPolicies", CCNP: "ciliumClusterWideNetworkPolicies", KNP: "networkPolicies"}


def inspect(run: Run) -> str:
    """One verdict per policy object (true = affected), keyed `ns/name` (`/name` for clusterwide).

    A policy that appears in several files (overlays for several clusters) is affected if any copy is.
    Go's json.MarshalIndent with a one-space indent and sorted keys; empty maps omitted.
    """
    out: dict[str, dict[str, bool]] = {}
    for result in run.files:
        for verdict in result.verdicts:
            group = out.setdefault(_INSPECT_KEYS[verdict.kind], {})
            key = f"{verdict.namespace or ''}/{verdict.name}"
            group[key] = group.get(key, False) or verdict.affected
    return json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
