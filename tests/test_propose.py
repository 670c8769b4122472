"""`propose` and `flows diff` end to end, on a synthetic three-cluster mesh whose right answer is known.

The mesh is built so that each proposal is forced by exactly the flows that should force it, and traps
are laid for what must not count: replies, drops, audit verdicts, ports the rule does not open, and
flows that Hubble attributes to another policy. The oracle then applies the proposed decisions with
`rewrite --write` and checks, with Cilium 1.19 semantics, that every observed cross-cluster flow that an
implicit selector allowed is still allowed.
"""

from __future__ import annotations

import gzip
import json
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import EXAMPLES, ROOT, invoke, write_files

POLICIES = {
    "repo/api.yaml": """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: web}}]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
    - fromEndpoints: [{matchLabels: {app: batch}}]
      toPorts: [{ports: [{port: "9000", protocol: TCP}]}]
    - fromEndpoints:
        - matchLabels: {app: partner}
          matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: Exists}]
  egress:
    - toEndpoints: [{matchLabels: {app: db}}]
      toPorts: [{ports: [{port: "5432", protocol: TCP}]}]
  ingressDeny:
    - fromEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": sandbox}}]
""",
    "repo/web.yaml": """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: web}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: api}}]
""",
    "repo/scrape.yaml": """\
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: scrape}
spec:
  endpointSelector: {matchLabels: {scrape: "true"}}
  ingress:
    - fromEndpoints: [{matchLabels: {"k8s:io.kubernetes.pod.namespace": observability, app: prom}}]
""",
    "repo/db.yaml": """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - from:
        - podSelector: {matchLabels: {app: api}}
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: backup}}
      ports: [{port: 5432}]
""",
}

# What the capture below must yield, selector by selector, and nothing else.
EXPECTED = {
    ("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]"): ("clusters", ["east", "west"]),
    ("repo/api.yaml", "spec.ingress[1].fromEndpoints[0]"): ("local", None),
    ("repo/api.yaml", "spec.egress[0].toEndpoints[0]"): ("clusters", ["east", "north"]),
    ("repo/api.yaml", "spec.ingressDeny[0].fromEndpoints[0]"): ("all-clusters", None),
    ("repo/web.yaml", "spec.ingress[0].fromEndpoints[0]"): ("local", None),
    ("repo/scrape.yaml", "spec.ingress[0].fromEndpoints[0]"): ("clusters", ["east", "north", "west"]),
    ("repo/db.yaml", "spec.ingress[0].from[0]"): ("clusters", ["east", "north"]),
    ("repo/db.yaml", "spec.ingress[0].from[1]"): ("local", None),
}

Pod = tuple[str, str, str]  # cluster, namespace, app
_clock = [0]


def endpoint(pod: Pod, local: bool, cluster_name: bool = True, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    cluster, namespace, app = pod
    labels = [f"k8s:app={app}", f"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name={namespace}",
              f"k8s:io.cilium.k8s.policy.cluster={cluster}", f"k8s:io.kubernetes.pod.namespace={namespace}", *extra]
    out: dict[str, Any] = {"identity": zlib.crc32(repr(pod).encode()) % 60000 + 256, "namespace": namespace,
                           "labels": labels, "pod_name": f"{app}-6f7d8c9b5d-xk{len(cluster)}qz"}
    if cluster_name:
        out["cluster_name"] = cluster
    if local:
        out["ID"] = 100 + len(app)
    return out


def line(src: Pod, dst: Pod, port: int, *, event: int = 5, direction: str = "INGRESS", verdict: str = "FORWARDED",
         reply: bool = False, allowed: list[tuple[str, str, str]] | None = None, proto: str = "TCP",
         minute: int | None = None, drop: str = "", scrape: bool = False) -> dict[str, Any]:
    """One GetFlowsResponse line, observed where the event happens: the destination for ingress, the
    source for egress."""
    _clock[0] += 1
    at = dst if direction == "INGRESS" else src
    if reply:
        at = src
    minute = _clock[0] if minute is None else minute
    time = f"2026-11-20T{minute // 60:02d}:{minute % 60:02d}:05.123456789Z"
    node = f"{at[0]}/{at[0]}-worker"
    extra = ("k8s:scrape=true",) if scrape else ()
    flow: dict[str, Any] = {
        "time": time, "verdict": verdict,
        "l4": {proto: {"source_port": 40000, "destination_port": port}},
        "source": endpoint(src, at == src), "destination": endpoint(dst, at == dst, extra=extra),
        "node_name": node, "event_type": {"type": event}, "traffic_direction": direction, "is_reply": reply,
    }
    if drop:
        flow["drop_reason_desc"] = drop
    if allowed is not None:
        flow[f"{direction.lower()}_allowed_by"] = [
            {"kind": k, "namespace": ns, "name": name, "revision": "3"} for k, ns, name in allowed]
    return {"flow": flow, "node_name": node, "time": time}


CNP, CCNP, KNP = "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy"


def mesh_capture() -> list[dict[str, Any]]:
    _clock[0] = 0
    web_w, web_e, web_n = ("west", "shop", "web"), ("east", "shop", "web"), ("north", "shop", "web")
    api_e, batch_e, batch_w = ("east", "shop", "api"), ("east", "shop", "batch"), ("west", "shop", "batch")
    db_n, backup_w, db_w = ("north", "shop", "db"), ("west", "backup", "pg-backup"), ("west", "shop", "db")
    prom_e = ("east", "observability", "prom")
    api_pol = [(CNP, "shop", "api")]
    return [
        # api ingress[0] (web, 8080): from west, by attribution; local web traffic too
        line(web_w, api_e, 8080, allowed=api_pol),
        line(web_w, api_e, 8080, event=4, direction="INGRESS"),  # trace at the destination
        line(web_e, api_e, 8080, allowed=api_pol),
        # trap: Hubble says another policy allowed north's web (api's rule did not)
        line(web_n, api_e, 8080, allowed=[(CNP, "shop", "legacy-allow-all")]),
        # trap: a trace on a port that api's web rule does not open
        line(web_n, api_e, 9999, event=4),
        # api ingress[1] (batch, 9000): local only; west's batch was dropped and audited
        line(batch_e, api_e, 9000, allowed=api_pol),
        line(batch_w, api_e, 9000, verdict="DROPPED", drop="POLICY_DENIED"),
        line(batch_w, api_e, 9000, verdict="AUDIT"),
        # api egress[0] (db, 5432) to north, and db's ingress from api on north's side
        line(api_e, db_n, 5432, direction="EGRESS", allowed=api_pol),
        line(api_e, db_n, 5432, allowed=[(KNP, "shop", "db")]),
        # trap: the reply to web comes back from api; it must not count for web's ingress rule
        line(api_e, web_w, 40000, event=4, direction="EGRESS", reply=True),
        # scrape (CCNP) in west and north, by prom in east; UDP trace without attribution too
        line(prom_e, ("west", "shop", "cart"), 9102, allowed=[(CCNP, "", "scrape")], scrape=True),
        line(prom_e, ("north", "shop", "cart"), 9102, event=4, scrape=True),
        # db from[1] (backup namespace): local only
        line(backup_w, db_w, 5432, allowed=[(KNP, "shop", "db")]),
        {"lost_events": {"source": "HUBBLE_RING_BUFFER", "num_events_lost": "7", "cpu": 0},
         "node_name": "east/east-worker", "time": "2026-11-20T00:30:00Z"},
    ]


def write_capture(path: Path, lines: list[dict[str, Any]], compress: bool = False) -> None:
    data = "".join(json.dumps(x) + "\n" for x in lines).encode()
    path.write_bytes(gzip.compress(data) if compress else data)


def proposals(text: str) -> dict[tuple[str, str], tuple[str, list[str] | None]]:
    data = YAML(typ="safe").load(text)
    out = {}
    for entry in data["decisions"]:
        key = (entry["match"]["file"], entry["match"]["path"])
        assert key not in out
        out[key] = (entry["action"], entry.get("clusters"))
    return out


@pytest.fixture
def mesh(in_tmp: Path) -> Path:
    write_files(in_tmp, POLICIES)
    write_capture(in_tmp / "pre.jsonl.gz", mesh_capture(), compress=True)
    return in_tmp


def test_propose_yields_exactly_the_decisions_the_mesh_needs(mesh: Path) -> None:
    result = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "-o", "decisions.yaml")
    assert result.exit_code == 0, result.stderr
    text = (mesh / "decisions.yaml").read_text()
    assert proposals(text) == EXPECTED
    assert invoke("decisions", "validate", "decisions.yaml").exit_code == 0
    assert "propose: 8 selectors: 1 all-clusters, 4 clusters, 3 local" in result.stderr
    assert "1 lost_events line (7 events lost)" in result.stderr
    assert "1 cross-cluster flow allowed only by policies outside the scanned paths" in result.stderr
    # the reason cites the evidence: flow count, peers, first and last seen
    data = YAML(typ="safe").load(text)
    reasons = {(e["match"]["file"], e["match"]["path"]): e["reason"] for e in data["decisions"]}
    assert reasons[("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]")] == (
        "evidence: 2 flows with peers in west (enforced in east): shop/web@west; "
        "first 2026-11-20T00:01:05Z, last 2026-11-20T00:02:05Z")
    assert reasons[("repo/api.yaml", "spec.ingress[1].fromEndpoints[0]")].startswith(
        "evidence: no cross-cluster flow matched this selector (14 flows, ")


def _allowed_after(models: list[Any], flow: Any, side: Any, cluster: str) -> bool:
    from codemod.selection import matching

    found = matching(models, side.direction, side.enforcing.labels, side.peer.labels, flow.protocol, flow.port,
                     cluster, default_local=True, peer_local=side.peer.cluster == cluster)
    return any(not m.rule.deny for m in found)


def test_proposed_decisions_keep_every_observed_cross_cluster_flow_working(mesh: Path) -> None:
    """The oracle: rewrite with the proposal, then evaluate each evidence flow as Cilium 1.19 would."""
    from codemod.cilium import policies
    from codemod.documents import parse_stream
    from codemod.evidence import Matcher, forward, sides
    from codemod.flows import ALLOWED, Capture, read
    from codemod.selection import model

    assert invoke("propose", "--flows", "pre.jsonl.gz", "repo", "-o", "decisions.yaml").exit_code == 0
    rewrite = invoke("rewrite", "repo", "--decisions", "decisions.yaml", "--write")
    assert rewrite.exit_code == 0, rewrite.stderr

    def load() -> list[Any]:
        found = []
        for path in sorted((mesh / "repo").glob("*.yaml")):
            for doc in parse_stream(path.read_text()):
                found += [model(p, str(path)) for p in policies(doc)]
        return found

    after = load()
    write_files(mesh, POLICIES)
    before = Matcher(load())
    checked = 0
    for flow in read("pre.jsonl.gz", Capture("pre")):
        if flow.verdict not in ALLOWED or not forward(flow):
            continue
        for side in sides(flow):
            cluster = side.enforcing.cluster
            assert cluster is not None and side.peer.cluster is not None
            if side.peer.cluster == cluster:
                continue
            found, _ = before.match(side, flow, cluster)
            if any(m.peer is not None and m.peer.implicit and not m.rule.deny for m in found):
                assert _allowed_after(after, flow, side, cluster), (flow.line, side.direction)
                checked += 1
    assert checked == 6


def test_existing_decisions_win_and_are_kept(mesh: Path) -> None:
    reviewed = """\
version: 1
decisions:
  # reviewed by the team: web must stay local whatever the capture says
  - match: {file: "repo/api.yaml", path: "spec.ingress[0].fromEndpoints[0]"}
    action: local
    reason: "web is served per cluster"
"""
    (mesh / "decisions.yaml").write_text(reviewed)
    result = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--update", "decisions.yaml")
    assert result.exit_code == 0, result.stderr
    text = (mesh / "decisions.yaml").read_text()
    assert text.startswith(reviewed)
    found = proposals(text)
    assert found.pop(("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]")) == ("local", None)
    expected = dict(EXPECTED)
    del expected[("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]")]
    assert found == expected
    assert "2 local" not in result.stderr and "4 local" in result.stderr  # the summary counts what the file says
    again = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--update", "decisions.yaml")
    assert again.exit_code == 0 and (mesh / "decisions.yaml").read_text() == text  # nothing new the second time


def test_stdin_and_several_captures_add_up(mesh: Path) -> None:
    lines = mesh_capture()
    write_capture(mesh / "a.jsonl", lines[:7])
    payload = "".join(json.dumps(x) + "\n" for x in lines[7:])
    result = CliInput(payload).run("propose", "--flows", "a.jsonl", "--flows", "-", "repo")
    assert result.exit_code == 0, result.stderr
    assert proposals(result.stdout) == EXPECTED
    assert "evidence: 2 captures, 14 flows" in result.stderr


class CliInput:
    def __init__(self, text: str) -> None:
        self.text = text

    def run(self, *args: str) -> Any:
        from click.testing import CliRunner

        from codemod.cli import main

        return CliRunner().invoke(main, list(args), input=self.text, catch_exceptions=False)


def test_malformed_lines_are_reported_with_line_numbers_and_the_rest_is_used(mesh: Path) -> None:
    good = [json.dumps(x) for x in mesh_capture()]
    text = "\n".join([good[0], "{not json", "[1, 2]", *good[1:], '{"flow": {"source": {"labels": "app=x"}}}']) + "\n"
    (mesh / "bad.jsonl").write_text(text)
    result = invoke("propose", "--flows", "bad.jsonl", "repo", "-o", "decisions.yaml")
    assert result.exit_code == 2
    errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert errors == [
        "error: bad.jsonl:2: not JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
        "(char 1)) (line skipped)",
        "error: bad.jsonl:3: not a JSON object (line skipped)",
        "error: bad.jsonl:18: unexpected flow shape (labels is not a list of strings) (line skipped)",
    ]
    assert proposals((mesh / "decisions.yaml").read_text()) == EXPECTED  # the decision file is still written


def test_missing_or_empty_capture_writes_nothing(mesh: Path) -> None:
    """Without the evidence asked for, every selector would come out `local`: refuse instead."""
    result = invoke("propose", "--flows", "nope.jsonl", "--flows", "pre.jsonl.gz", "repo", "-o", "d.yaml")
    assert result.exit_code == 2
    assert "error: nope.jsonl: No such file or directory" in result.stderr
    assert "error: no decision file written: cannot read nope.jsonl" in result.stderr
    assert not (mesh / "d.yaml").exists()
    (mesh / "empty.jsonl").write_text("")
    empty = invoke("propose", "--flows", "empty.jsonl", "repo")
    assert empty.exit_code == 2 and empty.stdout == ""
    assert "error: no decision file written: the captures hold no flows" in empty.stderr
    both = invoke("propose", "--flows", "empty.jsonl", "--flows", "pre.jsonl.gz", "repo")
    assert both.exit_code == 0 and proposals(both.stdout) == EXPECTED
    assert "warning: empty.jsonl: holds no flows" in both.stderr


@pytest.mark.parametrize(("since", "warning"), [
    ("24h", "covers 13m of the 24h asked"),
    ("1h30m", "covers 13m of the 1h30m asked"),
    ("14m", None),  # 13 of 14 minutes: within the 10% allowed for the first and last flows
    ("10m", None),
])
def test_a_capture_shorter_than_asked_is_flagged(mesh: Path, since: str, warning: str | None) -> None:
    result = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--since", since)
    assert result.exit_code == 0
    assert ("covers 13m of the" in result.stderr) is (warning is not None)
    if warning is not None:
        assert f"warning: pre.jsonl.gz: {warning} (2026-11-20T00:01:05Z .. 2026-11-20T00:14:05Z)" in result.stderr


def test_bad_since_is_a_usage_error(mesh: Path) -> None:
    result = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--since", "yesterday")
    assert result.exit_code == 2
    assert "not a duration: 'yesterday'" in result.stderr


def test_thin_evidence_without_verdicts_or_cluster_names(mesh: Path) -> None:
    """Old agents: traces only, no cluster_name; the cluster comes from the label, both ends are tried."""
    lines = []
    for x in mesh_capture():
        if "flow" not in x or x["flow"]["event_type"]["type"] != 5:
            continue
        f = x["flow"]
        f["event_type"] = {"type": 4}
        for key in ("ingress_allowed_by", "egress_allowed_by"):
            f.pop(key, None)
        for end in ("source", "destination"):
            f[end].pop("cluster_name", None)
        lines.append(x)
    write_capture(mesh / "old.jsonl", lines)
    result = invoke("propose", "--flows", "old.jsonl", "repo")
    assert result.exit_code == 0
    assert "no policy-verdict events" in result.stderr
    assert "flows without cluster_name (agents older than 1.16)" in result.stderr
    got = proposals(result.stdout)
    # without attribution the flow Hubble credited to another policy now counts for api's web rule
    assert got[("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]")] == ("clusters", ["east", "north", "west"])


def test_local_cluster_names_the_enforcing_side_when_the_capture_cannot(mesh: Path) -> None:
    x = line(("west", "shop", "web"), ("east", "shop", "api"), 8080, allowed=[(CNP, "shop", "api")])
    dst = x["flow"]["destination"]
    dst.pop("cluster_name")
    dst["labels"] = [label for label in dst["labels"] if "policy.cluster" not in label]
    x["flow"]["node_name"] = x["node_name"] = "worker-7"  # a cluster named `default` has no prefix
    write_capture(mesh / "c.jsonl", [x])
    key = ("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]")
    assert proposals(invoke("propose", "--flows", "c.jsonl", "repo").stdout)[key] == ("clusters", ["default", "west"])
    pinned = invoke("propose", "--flows", "c.jsonl", "repo", "--local-cluster", "east")
    assert proposals(pinned.stdout)[key] == ("clusters", ["default", "west"])  # the node prefix rule wins
    dst.pop("ID")
    write_capture(mesh / "c.jsonl", [x])
    unknown = invoke("propose", "--flows", "c.jsonl", "repo")
    assert proposals(unknown.stdout)[key] == ("local", None)
    assert "could not be placed in a cluster" in unknown.stderr
    pinned = invoke("propose", "--flows", "c.jsonl", "repo", "--local-cluster", "east")
    assert proposals(pinned.stdout)[key] == ("clusters", ["east", "west"])


# ---------------------------------------------------------------- flows diff


def after_capture() -> list[dict[str, Any]]:
    web_w, api_e, db_n = ("west", "shop", "web"), ("east", "shop", "api"), ("north", "shop", "db")
    return [
        line(web_w, api_e, 8080, verdict="DROPPED", drop="POLICY_DENIED"),
        line(web_w, api_e, 8080, verdict="DROPPED", drop="POLICY_DENIED"),
        line(("east", "shop", "web"), api_e, 8080, allowed=[(CNP, "shop", "api")]),
        line(api_e, db_n, 5432, direction="EGRESS", verdict="AUDIT"),
        line(("east", "shop", "batch"), api_e, 9000, allowed=[(CNP, "shop", "api")]),
        line(("west", "shop", "newcomer"), api_e, 8080, verdict="DROPPED", drop="POLICY_DENIED"),  # not before
    ]


def test_flows_diff_lists_regressions_with_causes_and_exits_1(mesh: Path) -> None:
    write_capture(mesh / "post.jsonl", after_capture())
    result = invoke("flows", "diff", "pre.jsonl.gz", "post.jsonl", "--policies", "repo")
    assert result.exit_code == 1
    assert result.stdout == """\
REGRESSED shop/web@west -> shop/api@east TCP/8080: allowed 2 before; after: 2 DROPPED (POLICY_DENIED; ingress)
  cause:   CiliumNetworkPolicy shop/api spec.ingress[0].fromEndpoints[0] (repo/api.yaml:7, ingress) names no \
cluster: local-only on Cilium 1.19
  restore: clusters [east, west]
REGRESSED shop/api@east -> shop/db@north TCP/5432: allowed 2 before; after: 1 AUDIT (egress)
  cause:   CiliumNetworkPolicy shop/api spec.egress[0].toEndpoints[0] (repo/api.yaml:15, egress) names no \
cluster: local-only on Cilium 1.19
  restore: clusters [east, north]
flows diff: 2 regressions in 9 connections seen before (before: 14 flows, after: 6 flows)
"""


def test_flows_diff_json_and_markdown(mesh: Path) -> None:
    write_capture(mesh / "post.jsonl", after_capture())
    result = invoke("flows", "diff", "pre.jsonl.gz", "post.jsonl", "--policies", "repo", "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["summary"] == {"regressions": 2, "connections_before": 9, "flows_before": 14, "flows_after": 6}
    first = doc["regressions"][0]
    assert first["source"] == {"namespace": "shop", "workload": "web", "cluster": "west"}
    assert first["after"]["dropped"] == 2 and first["after"]["drop_reasons"] == {"POLICY_DENIED": 2}
    assert first["causes"] == [{"kind": "CiliumNetworkPolicy", "namespace": "shop", "name": "api",
                                "file": "repo/api.yaml", "line": 7, "path": "spec.ingress[0].fromEndpoints[0]",
                                "direction": "ingress", "restore": {"action": "clusters",
                                                                    "clusters": ["east", "west"]}}]
    assert doc["warnings"] == ["pre.jsonl.gz: 1 lost_events line (7 events lost): flows are missing from the capture"]
    md = invoke("flows", "diff", "pre.jsonl.gz", "post.jsonl", "--format", "markdown")
    assert md.exit_code == 1
    assert "| `shop/web@west -> shop/api@east TCP/8080` | 2 allowed | 2 DROPPED (POLICY_DENIED; ingress) | — | — |" \
        in md.stdout
    assert "pass --policies PATH to trace cross-cluster ones to their selectors" in md.stdout


def test_flows_diff_without_regressions_exits_0(mesh: Path) -> None:
    write_capture(mesh / "post.jsonl", after_capture()[2:3])
    result = invoke("flows", "diff", "pre.jsonl.gz", "post.jsonl")
    assert result.exit_code == 0
    assert result.stdout == "flows diff: 0 regressions in 9 connections seen before (before: 14 flows, " \
        "after: 1 flow)\n"


def test_flows_diff_on_the_bundled_examples() -> None:
    flows = ROOT / "examples" / "flows"
    result = invoke("flows", "diff", str(flows / "pre-upgrade.jsonl.gz"), str(flows / "post-upgrade.jsonl.gz"),
                    "--policies", str(EXAMPLES), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    got = {(f"{r['source']['workload']}@{r['source']['cluster']}", f"{r['destination']['workload']}@"
            f"{r['destination']['cluster']}"): sorted(c["path"] for c in r["causes"]) for r in doc["regressions"]}
    assert got == {
        ("prometheus@east", "payments@west"): ["spec.ingress[0].fromEndpoints[0]"],
        ("ledger-reconciler@west", "payments@east"): ["spec.ingress[0].fromEndpoints[0]",
                                                      "specs[1].ingress[0].fromEndpoints[0]"],
        ("checkout@east", "payments@west"): ["spec.egress[0].toEndpoints[0]"],
        ("checkout@west", "payments@east"): ["spec.egress[0].toEndpoints[0]"],
    }


def test_bundled_example_captures_are_reproducible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", ROOT / "examples" / "flows" / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "generate", generate)  # dataclasses look their module up
    spec.loader.exec_module(generate)
    for path in generate.write(tmp_path):
        assert path.read_bytes() == (ROOT / "examples" / "flows" / path.name).read_bytes(), path.name


# ---------------------------------------------------------------- review findings, each pinned


def test_update_fills_the_undecided_entries_that_decisions_init_wrote(mesh: Path) -> None:
    """The natural order: `decisions init`, then `propose --update` decides what the evidence decides, in
    place (an entry appended after an `undecided` one would never be reached)."""
    assert invoke("decisions", "init", "repo", "-o", "todo.yaml").exit_code == 0
    before = (mesh / "todo.yaml").read_text()
    lines = before.splitlines()
    at = next(i for i, x in enumerate(lines) if "spec.ingress[1].fromEndpoints[0]" in x and "path:" in x)
    lines[at + 1] += "   # keep this comment"
    (mesh / "todo.yaml").write_text("\n".join(lines) + "\n")
    result = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--update", "todo.yaml")
    assert result.exit_code == 0, result.stderr
    text = (mesh / "todo.yaml").read_text()
    assert proposals(text) == EXPECTED
    assert "todo.yaml: 8 undecided entries filled, 0 new selectors added, 8 entries kept, 0 stale" in result.stderr
    assert "    action: local   # keep this comment\n    reason: \"evidence: no cross-cluster" in text
    # only the action lines changed; every line that was there is still there, in order
    old = (mesh / "todo.yaml").read_text().splitlines()
    assert [x for x in old if "action:" not in x and "clusters:" not in x and "reason:" not in x] == \
        [x for x in lines if "action:" not in x]
    again = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--update", "todo.yaml")
    assert again.exit_code == 0 and (mesh / "todo.yaml").read_text() == text
    assert "wrote" not in again.stderr


def test_update_leaves_a_broad_undecided_entry_whose_selectors_disagree(mesh: Path) -> None:
    (mesh / "d.yaml").write_text("version: 1\ndecisions:\n  - match: {name: api}\n    action: undecided\n")
    result = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--update", "d.yaml")
    assert result.exit_code == 0
    assert "d.yaml: 4 selectors left undecided: their `undecided` entry covers selectors with different " \
        "proposals, or other entries share it (anchor, merge key)" in result.stderr
    assert (mesh / "d.yaml").read_text().startswith("version: 1\ndecisions:\n  - match: {name: api}\n    action: "
                                                    "undecided\n  #")


def test_policy_without_namespace_is_evaluated_where_it_applies(mesh: Path) -> None:
    """kustomize sets metadata.namespace at deploy time: the manifest in git has none."""
    (mesh / "repo/api.yaml").write_text(POLICIES["repo/api.yaml"].replace(", namespace: shop}", "}"))
    result = invoke("propose", "--flows", "pre.jsonl.gz", "repo")
    assert result.exit_code == 0
    got = proposals(result.stdout)
    assert got[("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]")] == ("clusters", ["east", "west"])
    assert got[("repo/api.yaml", "spec.egress[0].toEndpoints[0]")] == ("clusters", ["east", "north"])
    assert "1 namespaced policy has no metadata.namespace" in result.stderr


def test_a_cluster_that_enforces_the_selector_locally_is_kept(mesh: Path) -> None:
    """north's api only ever talks to north's web: a proposal without north would cut it off there."""
    lines = [*mesh_capture(), line(("north", "shop", "web"), ("north", "shop", "api"), 8080,
                                   allowed=[(CNP, "shop", "api")])]
    write_capture(mesh / "cap.jsonl", lines)
    got = proposals(invoke("propose", "--flows", "cap.jsonl", "repo").stdout)
    assert got[("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]")] == ("clusters", ["east", "north", "west"])
    assert got[("repo/api.yaml", "spec.ingress[1].fromEndpoints[0]")] == ("local", None)


NODE_POLICY = """\
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: from-ingress-nodes}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
    - fromNodes: [{matchLabels: {node-role: ingress}}]
"""
# A remote node of west as Hubble shows it: reserved:remote-node, its node labels and its cluster.
REMOTE_NODE = {"identity": 6, "labels": ["reserved:remote-node", "k8s:node-role=ingress",
                                         "k8s:io.cilium.k8s.policy.cluster=west"]}


def test_remote_nodes_are_evidence_for_node_peers(in_tmp: Path) -> None:
    write_files(in_tmp, {"p.yaml": NODE_POLICY})
    x = line(("west", "", "node"), ("east", "shop", "api"), 8080)
    x["flow"]["source"] = dict(REMOTE_NODE)
    write_capture(in_tmp / "c.jsonl", [x])
    got = proposals(invoke("propose", "--flows", "c.jsonl", ".").stdout)
    assert got == {("p.yaml", "spec.ingress[0].fromNodes[0]"): ("clusters", ["east", "west"])}


@pytest.mark.parametrize(("changes", "used"), [
    pytest.param({"event_type": {"type": 4}, "is_reply": None}, False, id="trace-without-is_reply"),
    pytest.param({"event_type": {"type": 4}, "is_reply": None, "l4": {"TCP": {"destination_port": 8080,
                  "flags": {"SYN": True}}}}, True, id="syn-opens-a-connection"),
    pytest.param({"event_type": {"type": 4}, "is_reply": None, "l4": {"TCP": {"destination_port": 8080,
                  "flags": {"SYN": True, "ACK": True}}}}, False, id="syn-ack-is-a-reply"),
    pytest.param({"event_type": {"type": 4}, "trace_observation_point": "FROM_ENDPOINT"}, False,
                 id="from-endpoint-is-before-policy"),
    pytest.param({"event_type": {"type": 4}, "trace_observation_point": "TO_ENDPOINT"}, True, id="to-endpoint"),
    pytest.param({"is_reply": None}, True, id="policy-verdicts-are-forward"),
])
def test_which_events_count(mesh: Path, changes: dict[str, Any], used: bool) -> None:
    x = line(("west", "shop", "web"), ("east", "shop", "api"), 8080)
    for key, value in changes.items():
        if value is None:
            x["flow"].pop(key, None)
        else:
            x["flow"][key] = value
    write_capture(mesh / "c.jsonl", [x])
    result = invoke("propose", "--flows", "c.jsonl", "repo")
    key = ("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]")
    assert proposals(result.stdout)[key] == (("clusters", ["east", "west"]) if used else ("local", None))


def test_a_capture_cut_off_mid_line_is_a_warning(mesh: Path) -> None:
    data = (mesh / "pre.jsonl.gz").read_bytes()
    (mesh / "cut.jsonl").write_bytes(gzip.decompress(data) + b'{"flow": {"time": "2026-11-')
    result = invoke("propose", "--flows", "cut.jsonl", "repo")
    assert result.exit_code == 0
    assert "warning: cut.jsonl: the last line is incomplete (the capture was cut off) and was skipped" \
        in result.stderr
    assert proposals(result.stdout) == EXPECTED


def test_flows_diff_does_not_blame_selectors_for_explicit_denies_or_mesh_auth(mesh: Path) -> None:
    web_w, api_e = ("west", "shop", "web"), ("east", "shop", "api")
    denied = line(web_w, api_e, 8080, verdict="DROPPED", drop="POLICY_DENY")
    denied["flow"]["ingress_denied_by"] = [{"name": "block-west", "namespace": "shop", "kind": CNP}]
    auth = line(("east", "shop", "batch"), api_e, 9000, verdict="DROPPED", drop="AUTH_REQUIRED")
    write_capture(mesh / "post.jsonl", [denied, auth])
    result = invoke("flows", "diff", "pre.jsonl.gz", "post.jsonl", "--policies", "repo")
    assert result.exit_code == 1
    assert "cause:" not in result.stdout
    assert "(POLICY_DENY; ingress; denied by shop/block-west)" in result.stdout
    assert "note:    mutual authentication is required but failed or is off" in result.stdout


def test_real_hubble_lines_from_the_corpus(in_tmp: Path) -> None:
    """corpus/hubble/samples.jsonl lines 16-18: worker in poc2 reaches cache in poc1. Line 18 (TO_ENDPOINT
    at poc1) proves cache's ingress rule passed; line 17 (TO_OVERLAY at poc2) proves worker's egress rule;
    line 16 is an AUDIT verdict, no evidence. The other 16 lines are same-cluster or reserved."""
    from tests.conftest import CORPUS

    samples = CORPUS / "hubble" / "samples.jsonl"
    if not samples.exists():
        pytest.skip("the shared corpus is not beside the project")
    write_files(in_tmp, {"mesh-lab.yaml": """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: cache, namespace: mesh-lab}
spec:
  endpointSelector: {matchLabels: {app.kubernetes.io/name: cache}}
  ingress:
    - fromEndpoints: [{matchLabels: {app.kubernetes.io/name: worker}}]
      toPorts: [{ports: [{port: "6379", protocol: TCP}]}]
    - fromEndpoints: [{matchLabels: {app.kubernetes.io/name: api}}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: worker, namespace: mesh-lab}
spec:
  endpointSelector: {matchLabels: {app.kubernetes.io/name: worker}}
  egress:
    - toEndpoints: [{matchLabels: {app.kubernetes.io/component: server}}]
"""})
    result = invoke("propose", "--flows", str(samples), "mesh-lab.yaml")
    assert result.exit_code == 0, result.stderr
    assert proposals(result.stdout) == {
        ("mesh-lab.yaml", "spec.ingress[0].fromEndpoints[0]"): ("clusters", ["poc1", "poc2"]),
        ("mesh-lab.yaml", "spec.ingress[1].fromEndpoints[0]"): ("local", None),
        ("mesh-lab.yaml", "spec.egress[0].toEndpoints[0]"): ("clusters", ["poc1", "poc2"]),
    }
    assert "evidence: 1 capture, 19 flows" in result.stderr


def test_update_refuses_a_flow_style_decision_list(mesh: Path) -> None:
    text = 'version: 1\ndecisions: [{match: {name: web}, action: local, reason: "reviewed"}]\n'
    (mesh / "d.yaml").write_text(text)
    result = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--update", "d.yaml")
    assert result.exit_code == 2
    assert "error: d.yaml:2: `decisions` is a flow-style list ([...]); write it as a block list" in result.stderr
    assert (mesh / "d.yaml").read_text() == text


def test_update_never_fills_an_entry_that_others_share(mesh: Path) -> None:
    """Filling a merge base would decide the entries that merge it too."""
    text = """\
version: 1
decisions:
  - &base
    match: {name: web}
    action: undecided
  - <<: *base
    match: {name: api, path: "spec.ingress[0].fromEndpoints[0]"}
"""
    (mesh / "d.yaml").write_text(text)
    result = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--update", "d.yaml")
    assert result.exit_code == 0, result.stderr
    assert (mesh / "d.yaml").read_text().startswith(text)
    assert "2 selectors left undecided" in result.stderr


def test_update_keeps_crlf(mesh: Path) -> None:
    assert invoke("decisions", "init", "repo", "-o", "todo.yaml").exit_code == 0
    crlf = (mesh / "todo.yaml").read_bytes().replace(b"\n", b"\r\n")
    (mesh / "todo.yaml").write_bytes(crlf)
    assert invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--update", "todo.yaml").exit_code == 0
    data = (mesh / "todo.yaml").read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") > crlf.count(b"\n")
    assert proposals(data.decode()) == EXPECTED


def test_a_decision_narrower_than_the_evidence_is_kept_and_flagged(mesh: Path) -> None:
    (mesh / "d.yaml").write_text('version: 1\ndecisions:\n  - match: {name: api, direction: ingress, deny: false}\n'
                                 '    action: local\n')
    result = invoke("propose", "--flows", "pre.jsonl.gz", "repo", "--update", "d.yaml")
    assert result.exit_code == 0
    assert "warning: repo/api.yaml:7: shop/api spec.ingress[0].fromEndpoints[0] is decided local, but the " \
        "evidence asks for clusters [east, west] (evidence: 2 flows with peers in west" in result.stderr
    assert "spec.ingress[1]" not in result.stderr  # local there is what the evidence says too


def test_attribution_tells_kinds_apart(mesh: Path) -> None:
    """A NetworkPolicy named like the CiliumNetworkPolicy Hubble credited did not allow the flow."""
    (mesh / "repo/api-knp.yaml").write_text("""\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
    - from: [{podSelector: {matchLabels: {app: web}}}]
""")
    write_capture(mesh / "c.jsonl", [line(("west", "shop", "web"), ("east", "shop", "api"), 8080,
                                          allowed=[(CNP, "shop", "api")])])
    got = proposals(invoke("propose", "--flows", "c.jsonl", "repo").stdout)
    assert got[("repo/api-knp.yaml", "spec.ingress[0].from[0]")] == ("local", None)
    assert got[("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]")] == ("clusters", ["east", "west"])


def test_odd_values_in_a_flow_do_not_stop_the_run(mesh: Path) -> None:
    far = line(("west", "shop", "web"), ("east", "shop", "api"), 8080, allowed=[(CNP, "shop", "api")])
    far["flow"]["time"] = far["time"] = "9999-12-31T23:59:59-14:00"
    blank = line(("west", "shop", "web"), ("east", "shop", "api"), 8080, allowed=[(CNP, "shop", "api")])
    blank["flow"]["source"]["labels"] = [x if "policy.cluster" not in x else "k8s:io.cilium.k8s.policy.cluster="
                                         for x in blank["flow"]["source"]["labels"]]
    blank["flow"]["source"].pop("cluster_name")
    write_capture(mesh / "c.jsonl", [far, blank])
    result = invoke("propose", "--flows", "c.jsonl", "repo", "-o", "-")
    assert result.exit_code == 0, result.stderr
    key = ("repo/api.yaml", "spec.ingress[0].fromEndpoints[0]")
    assert proposals(result.stdout)[key] == ("clusters", ["east", "west"])  # the far-future flow still counts
    assert "1 flow between pods could not be placed in a cluster" in result.stderr  # the empty cluster value
    assert not (mesh / "-").exists()


def test_flows_diff_blames_node_peers_too(in_tmp: Path) -> None:
    write_files(in_tmp, {"p.yaml": NODE_POLICY})
    before = line(("west", "", "node"), ("east", "shop", "api"), 8080)
    after = line(("west", "", "node"), ("east", "shop", "api"), 8080, verdict="DROPPED", drop="POLICY_DENIED")
    for x in (before, after):
        x["flow"]["source"] = dict(REMOTE_NODE)
    write_capture(in_tmp / "b.jsonl", [before])
    write_capture(in_tmp / "a.jsonl", [after])
    result = invoke("flows", "diff", "b.jsonl", "a.jsonl", "--policies", ".")
    assert result.exit_code == 1
    assert "cause:   CiliumClusterwideNetworkPolicy from-ingress-nodes spec.ingress[0].fromNodes[0]" in result.stdout
    assert "restore: clusters [east, west]" in result.stdout
