"""`flows diff` output: text for the terminal, JSON for scripts, markdown for an incident or upgrade PR."""

from __future__ import annotations

import json
from typing import Any

from codemod.evidence import count
from codemod.flowdiff import Cause, Connection, End, FlowDiff, Tally


def _after(t: Tally) -> str:
    parts = [f"{n:,} {verdict}" for verdict, n in sorted(t.after_refused.items())]
    details = [", ".join(sorted(t.reasons)) if t.reasons else "", "/".join(sorted(t.directions))]
    if t.denied_by:
        details.append("denied by " + ", ".join(sorted(t.denied_by)))
    shown = "; ".join(d for d in details if d)
    still = f", still delivered {t.after_delivered:,}" if t.after_delivered else ""
    return f"{', '.join(parts)}{f' ({shown})' if shown else ''}{still}"


def _cause(c: Cause) -> str:
    p = c.policy.policy
    name = f"{p.namespace}/{p.name}" if p.namespace else p.name
    return (f"{p.kind} {name} {c.peer.path} ({c.where}, {c.direction}) names no cluster: "
            f"local-only on Cilium 1.19")


def _restore(c: Cause) -> str:
    return c.restore.label


def summary(result: FlowDiff) -> str:
    regressions = result.regressions
    hint = ""
    if not result.explained and any(c.cross_cluster for c, _ in regressions):
        hint = "; pass --policies PATH to trace cross-cluster ones to their selectors"
    return (f"flows diff: {count(len(regressions), 'regression')} in "
            f"{count(len(result.connections), 'connection')} seen before (before: "
            f"{count(result.before.flows, 'flow')}, after: {count(result.after.flows, 'flow')}){hint}")


NOTES = {
    "AUTH_REQUIRED": "mutual authentication is required but failed or is off (authentication.enabled defaults "
                     "to false on Cilium 1.19)",
    "POLICY_DENY": "an explicit deny rule dropped it",
}


def _notes(t: Tally) -> list[str]:
    return [note for reason, note in NOTES.items() if reason in t.reasons]


def text(result: FlowDiff) -> str:
    out: list[str] = []
    for conn, t in result.regressions:
        out.append(f"REGRESSED {conn}: allowed {t.before:,} before; after: {_after(t)}")
        for c in t.causes:
            out.append(f"  cause:   {_cause(c)}")
            out.append(f"  restore: {_restore(c)}")
        out += [f"  note:    {note}" for note in _notes(t)]
    out.append(summary(result))
    return "\n".join(out) + "\n"


def _end(e: End) -> dict[str, str]:
    return {"namespace": e.namespace, "workload": e.workload, "cluster": e.cluster}


def _json_regression(conn: Connection, t: Tally) -> dict[str, Any]:
    return {
        "source": _end(conn.source),
        "destination": _end(conn.destination),
        "protocol": conn.protocol,
        "port": conn.port,
        "cross_cluster": conn.cross_cluster,
        "before": {"allowed": t.before},
        "after": {"delivered": t.after_delivered, **{v.lower(): n for v, n in sorted(t.after_refused.items())},
                  "drop_reasons": dict(sorted(t.reasons.items())), "directions": sorted(t.directions),
                  "denied_by": sorted(t.denied_by)},
        "notes": _notes(t),
        "causes": [{
            "kind": c.policy.policy.kind, "namespace": c.policy.policy.namespace or "",
            "name": c.policy.policy.name, "file": c.policy.file, "line": c.peer.peer.node.line + 1,
            "path": c.peer.path, "direction": c.direction,
            "restore": {"action": c.restore.action, "clusters": list(c.restore.clusters)},
        } for c in t.causes],
    }


def as_json(result: FlowDiff, warnings: list[str]) -> str:
    regressions = result.regressions
    doc = {
        "regressions": [_json_regression(c, t) for c, t in regressions],
        "summary": {"regressions": len(regressions), "connections_before": len(result.connections),
                    "flows_before": result.before.flows, "flows_after": result.after.flows},
        "warnings": warnings,
    }
    return json.dumps(doc, indent=2) + "\n"


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown(result: FlowDiff, warnings: list[str]) -> str:
    regressions = result.regressions
    out = ["## Connections that regressed after the upgrade", ""]
    if not regressions:
        out.append(f"No connection that was allowed before is dropped after ({len(result.connections):,} "
                   "connections compared).")
    else:
        out += [f"**{len(regressions)}** connection{'' if len(regressions) == 1 else 's'} allowed before "
                "are dropped after.", "",
                "| connection | before | after | cause | restore with |", "|---|---|---|---|---|"]
        for conn, t in regressions:
            causes = "<br>".join([*(_cell(_cause(c)) for c in t.causes), *map(_cell, _notes(t))]) or "—"
            restore = "<br>".join(_cell(_restore(c)) for c in t.causes) or "—"
            out.append(f"| `{_cell(str(conn))}` | {t.before:,} allowed | {_cell(_after(t))} | {causes} | "
                       f"{restore} |")
    if warnings:
        out += ["", "### Evidence warnings", ""] + [f"- {_cell(w)}" for w in warnings]
    out += ["", summary(result)]
    return "\n".join(out) + "\n"
