"""`codemod.flows`: reading Hubble captures (jsonpb, legacy bare flows, exporter files; plain, gzip, stdin).

The real lines come from the shared corpus (`hubble/samples.jsonl`, provenance in SOURCES.md beside it); the
synthetic lines follow the documented shape (`cilium-facts.md` §3) and are written to temporary files only.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import sys
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from codemod.flows import Capture, Flow, PolicyRef, node_cluster, parse_time, read
from tests.conftest import CORPUS

SAMPLES = CORPUS / "hubble" / "samples.jsonl"
CLUSTER = "k8s:io.cilium.k8s.policy.cluster="
DERIVED = "k8s:io.cilium.k8s.policy.derived-from="


# --- helpers -------------------------------------------------------------------------------------------------------


def read_all(name: str | Path) -> tuple[list[Flow], Capture]:
    capture = Capture(str(name))
    return list(read(str(name), capture)), capture


def flow_line(node: str | None = "east/node-1", **flow: Any) -> str:
    """One `hubble observe -o jsonpb` line; a minimal FORWARDED flow unless `flow` says otherwise."""
    body: dict[str, Any] = {"time": "2024-05-01T10:00:00.000000000Z", "verdict": "FORWARDED"}
    body.update(flow)
    obj: dict[str, Any] = {"flow": body}
    if node is not None:
        obj["node_name"] = node
    obj["time"] = body["time"]
    return json.dumps(obj)


def write_capture(path: Path, lines: list[str] | list[bytes], *, compress: bool = False) -> Path:
    data = b"".join((x.encode() if isinstance(x, str) else x) + b"\n" for x in lines)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def dig(obj: object, dotted: str) -> object:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def corpus_samples() -> Path:
    """The real lines, when the shared corpus is beside the project (CI has it); else the test skips."""
    if not SAMPLES.is_file():
        pytest.skip("the shared corpus is not beside the project")
    return SAMPLES


def epoch(text: str) -> float:
    """Reference conversion for whole-second UTC timestamps."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


# --- the real sample lines -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples() -> tuple[dict[int, Flow], Capture]:
    flows, capture = read_all(corpus_samples())
    return {f.line: f for f in flows}, capture


def test_every_sample_line_is_a_flow(samples: tuple[dict[int, Flow], Capture]) -> None:
    by_line, capture = samples
    assert sorted(by_line) == list(range(1, 20))
    assert (capture.lines, capture.flows, capture.bad_lines, capture.bad, capture.error) == (19, 19, 0, [], None)
    assert (capture.lost_event_lines, capture.events_lost, capture.node_status) == (0, 0, 0)
    assert capture.policy_verdicts == 4  # lines 3, 4, 7 and 16
    assert capture.without_cluster_name == 8  # lines 1-4, 6-8 and 10: agents before 1.16


SAMPLE_FIELDS = [
    # line 1: trace, deprecated `reply`, cluster from the label only
    (1, "time", 1623862333.136834),
    (1, "verdict", "FORWARDED"),
    (1, "event_type", 4),
    (1, "direction", "INGRESS"),
    (1, "trusted_direction", None),
    (1, "reply", True),
    (1, "protocol", "TCP"),
    (1, "port", 42044),
    (1, "source.cluster", "default"),
    (1, "source.cluster_field", False),
    (1, "source.local", True),
    (1, "source.namespace", "bookinfo"),
    (1, "source.pod", "reviews-v1-545db77b95-s6jb8"),
    (1, "source.workload", "reviews-v1"),
    (1, "destination.reserved", True),
    (1, "destination.cluster", None),
    (1, "destination.workload", "host"),
    (2, "source.workload", "world"),
    (2, "destination.workload", "event-exporter-gke"),
    (3, "verdict", "REDIRECTED"),
    (3, "policy_verdict", True),
    (3, "trusted_direction", "EGRESS"),
    (3, "source.cluster", "kind-kind"),
    (4, "destination.local", False),
    (4, "destination.cluster", "kind-kind"),
    (5, "direction", None),
    (5, "source.workload", "remote-node"),
    (5, "destination.workload", "health"),
    (7, "protocol", "UDP"),
    (7, "port", 53),
    (7, "destination.workload", "coredns"),
    (8, "source.workload", "node-local-dns"),
    (8, "node", "gke-ilya-otel-demo-2-ilya-otel-demo-2-dac8cc20-hr0z"),
    (9, "protocol", "ICMPv4"),
    (9, "port", 8),
    (9, "reply", False),
    (9, "destination.local", True),
    (9, "destination.cluster", None),  # reserved:health on the node: no cluster
    (10, "destination.reserved", True),
    # lines 11/12: exporter output with a field mask
    (11, "verdict", "DROPPED"),
    (11, "drop_reason", "INVALID_SOURCE_IP"),
    (11, "protocol", "ICMPv6"),
    (11, "port", 133),
    (11, "event_type", None),
    (11, "direction", None),
    (11, "reply", None),
    (11, "node", "kind-kind/kind-worker"),
    (11, "source.labels", ()),
    (12, "verdict", "DROPPED"),
    (12, "drop_reason", "POLICY_DENIED"),
    (12, "time", 1692619938.510175),
    (12, "protocol", "TCP"),
    (12, "port", 80),
    (12, "source.pod", "xwing"),
    (12, "source.workload", "xwing"),
    (12, "destination.namespace", "default"),
    (12, "destination.workload", "deathstar"),
    (12, "destination.cluster", None),  # no endpoint ID: the node's cluster does not apply
    # line 13: Cilium 1.19 exporter, cluster_name and workloads
    (13, "reply", True),
    (13, "source.workload", "kube-apiserver"),
    (13, "destination.cluster", "default"),
    (13, "destination.cluster_field", True),
    (13, "destination.workload", "csi-cbs-controller"),
    (14, "source.workload", "host"),
    # line 16: cross-cluster policy verdict in audit mode, observed on poc1
    (16, "verdict", "AUDIT"),
    (16, "event_type", 5),
    (16, "direction", "INGRESS"),
    (16, "trusted_direction", "INGRESS"),
    (16, "reply", False),
    (16, "protocol", "TCP"),
    (16, "port", 6379),
    (16, "node", "poc1/poc1-worker2"),
    (16, "source.cluster", "poc2"),
    (16, "source.cluster_field", True),
    (16, "source.local", False),
    (16, "source.namespace", "mesh-lab"),
    (16, "source.workload", "worker"),
    (16, "destination.cluster", "poc1"),
    (16, "destination.cluster_field", True),
    (16, "destination.local", True),
    (16, "destination.workload", "cache"),
    (16, "ingress_allowed_by", ()),
    (16, "ingress_denied_by", ()),
    (17, "node", "poc2/poc2-worker"),
    (17, "source.local", True),
    (18, "direction", "EGRESS"),
    (18, "trusted_direction", None),  # EGRESS on a trace event is not to be trusted
    (19, "destination.labels", ("cidr:104.20.23.154/32", "reserved:world")),
    (19, "destination.workload", "world"),
    (19, "destination.cluster", None),
    (19, "source.cluster", "poc1"),
    (19, "port", 443),
]


@pytest.mark.parametrize(("line", "attribute", "expected"), SAMPLE_FIELDS,
                         ids=[f"line{n}-{a}" for n, a, _ in SAMPLE_FIELDS])
def test_sample_line_fields(samples: tuple[dict[int, Flow], Capture], line: int, attribute: str,
                            expected: object) -> None:
    value = dig(samples[0][line], attribute)
    if isinstance(expected, float):
        assert value == pytest.approx(expected, abs=1e-5)
    else:
        assert value == expected


def test_sample_time_span(samples: tuple[dict[int, Flow], Capture]) -> None:
    by_line, capture = samples
    assert capture.first == pytest.approx(by_line[1].time)
    assert capture.last == pytest.approx(by_line[19].time)
    assert capture.span == pytest.approx(by_line[19].time - by_line[1].time)  # type: ignore[operator]
    assert capture.nodes["poc1/poc1-worker2"][:2] == pytest.approx([by_line[16].time, by_line[18].time])
    assert capture.nodes["kind-kind/kind-worker"][:2] == pytest.approx([by_line[11].time, by_line[12].time])
    assert len(capture.nodes) == 9


# --- jsonpb and legacy bare-flow lines -----------------------------------------------------------------------------


def sample_lines() -> list[str]:
    return corpus_samples().read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("index", range(19), ids=[f"line{n}" for n in range(1, 20)])
def test_legacy_bare_flow_equals_jsonpb(tmp_path: Path, index: int) -> None:
    jsonpb = sample_lines()[index]
    bare = json.dumps(json.loads(jsonpb)["flow"])
    flows, capture = read_all(write_capture(tmp_path / "c.jsonl", [jsonpb, bare]))
    assert capture.bad == [] and capture.flows == 2
    assert [f.line for f in flows] == [1, 2]
    assert dataclasses.replace(flows[1], line=1) == flows[0]


@pytest.mark.parametrize("fields", [
    {"verdict": "DROPPED", "drop_reason_desc": "POLICY_DENIED"},
    {"source": {"labels": ["k8s:app=web"]}},
    {"IP": {"source": "10.0.0.1", "destination": "10.0.0.2"}},
    {"event_type": {"type": 5}},
], ids=["verdict", "source", "IP", "event_type"])
def test_legacy_line_recognised_by_any_flow_key(tmp_path: Path, fields: dict[str, Any]) -> None:
    flows, capture = read_all(write_capture(tmp_path / "c.jsonl", [json.dumps({"node_name": "n", **fields})]))
    assert capture.bad == [] and len(flows) == 1 and flows[0].node == "n"


def test_node_name_of_the_response_when_the_flow_has_none(tmp_path: Path) -> None:
    line = json.dumps({"flow": {"verdict": "FORWARDED", "source": {"ID": 7, "labels": ["k8s:app=a"]}},
                       "node_name": "west/w1"})
    (flow,), _ = read_all(write_capture(tmp_path / "c.jsonl", [line]))
    assert flow.node == "west/w1"
    assert flow.source.cluster == "west"


# --- lines that are not flows --------------------------------------------------------------------------------------


def lost(count: object, **extra: Any) -> str:
    body: dict[str, Any] = {"source": "HUBBLE_RING_BUFFER", "num_events_lost": count, "cpu": 1}
    return json.dumps({"lost_events": body, "node_name": "east/node-1", "time": "2024-05-01T10:00:00Z", **extra})


@pytest.mark.parametrize(("lines", "lost_lines", "events_lost"), [
    ([lost("12")], 1, 12),
    ([lost(7)], 1, 7),
    ([lost("18446744073709551615")], 1, 18446744073709551615),
    ([lost("12"), lost("30"), lost(8)], 3, 50),
    ([lost("5"), flow_line(), lost("1")], 2, 6),
], ids=["string", "number", "uint64-max", "summed", "around-a-flow"])
def test_lost_events_are_counted_not_flows(tmp_path: Path, lines: list[str], lost_lines: int,
                                           events_lost: int) -> None:
    flows, capture = read_all(write_capture(tmp_path / "c.jsonl", lines))
    assert (capture.lost_event_lines, capture.events_lost) == (lost_lines, events_lost)
    assert len(flows) == capture.flows == len(lines) - lost_lines
    assert capture.bad_lines == 0 and capture.lines == len(lines)


@pytest.mark.parametrize("event", [
    {"node_status": {"state_change": "NODE_CONNECTED", "node_names": ["east/node-2"]}},
    {"agent_event": {"type": "ENDPOINT_CREATED", "endpoint_regenerate": {"id": "1234"}}},
    {"debug_event": {"type": "DBG_CT_VERDICT", "cpu": 2}},
], ids=["node_status", "agent_event", "debug_event"])
def test_status_and_debug_events_are_counted(tmp_path: Path, event: dict[str, Any]) -> None:
    line = json.dumps({**event, "node_name": "east/node-1", "time": "2024-05-01T10:00:00Z"})
    flows, capture = read_all(write_capture(tmp_path / "c.jsonl", [line, flow_line(), line]))
    assert [f.line for f in flows] == [2]
    assert (capture.node_status, capture.flows, capture.bad_lines, capture.lost_event_lines) == (2, 1, 0, 0)


@pytest.mark.parametrize("blank", [b"", b"   ", b"\t", b"\r"], ids=["empty", "spaces", "tab", "cr"])
def test_blank_lines_are_ignored_but_numbered(tmp_path: Path, blank: bytes) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(blank + b"\n" + blank + b"\n" + flow_line().encode() + b"\n" + blank + b"\n")
    flows, capture = read_all(path)
    assert [f.line for f in flows] == [3]
    assert (capture.lines, capture.flows, capture.bad_lines) == (4, 1, 0)


def test_last_line_without_newline_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(flow_line().encode() + b"\r\n" + flow_line(l4={"TCP": {"destination_port": 9}}).encode())
    flows, capture = read_all(path)
    assert [(f.line, f.port) for f in flows] == [(1, 0), (2, 9)]
    assert capture.bad == []


def test_empty_file(tmp_path: Path) -> None:
    flows, capture = read_all(write_capture(tmp_path / "c.jsonl", []))
    assert flows == []
    assert (capture.lines, capture.flows, capture.error, capture.first, capture.span) == (0, 0, None, None, 0.0)


# --- malformed lines -----------------------------------------------------------------------------------------------

MALFORMED = [
    ("text", b"this is not json", "not JSON"),
    ("truncated-object", b'{"flow": {"verdict": "FORWARDED", "source": {', "not JSON"),
    ("invalid-utf8", b'{"flow": {"verdict": "\xff\xfe"}}', "not JSON"),
    ("array", b"[1, 2, 3]", "not a JSON object"),
    ("string", b'"flow"', "not a JSON object"),
    ("null", b"null", "not a JSON object"),
    ("number", b"42", "not a JSON object"),
    ("unknown-object", b'{"hello": "world"}', "neither a flow nor a lost_events/node_status line"),
    ("empty-object", b"{}", "neither a flow nor a lost_events/node_status line"),
    ("flow-null", b'{"flow": null, "node_name": "n"}', "`flow` is not an object"),
    ("flow-list", b'{"flow": [1, 2]}', "`flow` is not an object"),
    ("labels-of-numbers", b'{"flow": {"source": {"labels": [1, 2]}}}',
     "unexpected flow shape (labels is not a list of strings)"),
    ("labels-a-number", b'{"flow": {"destination": {"labels": 5}}}', "unexpected flow shape"),
    ("labels-of-objects", b'{"flow": {"source": {"labels": [{"k8s:app": "web"}]}}}', "unexpected flow shape"),
    ("labels-a-string", b'{"flow": {"source": {"labels": "k8s:app=never-seen-elsewhere"}}}',
     "unexpected flow shape (labels is not a list of strings)"),
    ("node-name-number", b'{"flow": {"verdict": "FORWARDED", "node_name": 7}}',
     "unexpected flow shape (node_name is not a string)"),
    ("outer-node-name-number", b'{"flow": {"verdict": "FORWARDED"}, "node_name": ["a"]}',
     "unexpected flow shape (node_name is not a string)"),
    ("legacy-bad-labels", b'{"verdict": "DROPPED", "destination": {"labels": [null]}}', "unexpected flow shape"),
    # a `workloads` object instead of a list, and a line too deeply nested to decode, are lines like others
    ("workloads-an-object", b'{"flow": {"source": {"workloads": {"name": "api"}}}}', "unexpected flow shape"),
    ("deeply-nested", b"[" * 100_000, ""),
]


@pytest.mark.parametrize(("raw", "message"), [(r, m) for _, r, m in MALFORMED], ids=[i for i, _, _ in MALFORMED])
def test_malformed_line_is_reported_and_skipped(tmp_path: Path, raw: bytes, message: str) -> None:
    path = write_capture(tmp_path / "c.jsonl", [flow_line(), raw, flow_line(verdict="DROPPED")])
    flows, capture = read_all(path)
    assert [(f.line, f.verdict) for f in flows] == [(1, "FORWARDED"), (3, "DROPPED")]
    assert [b.line for b in capture.bad] == [2]
    assert capture.bad[0].message.startswith(message)
    assert (capture.bad_lines, capture.flows, capture.lines, capture.error) == (1, 2, 3, None)


def test_more_than_twenty_bad_lines_are_counted_and_twenty_kept(tmp_path: Path) -> None:
    lines: list[str] = []
    for i in range(30):
        lines += [flow_line(l4={"TCP": {"destination_port": i}}), "not json" if i % 2 else "[]"]
    flows, capture = read_all(write_capture(tmp_path / "c.jsonl", lines))
    assert [f.port for f in flows] == list(range(30))
    assert capture.bad_lines == 30
    assert [b.line for b in capture.bad] == list(range(2, 42, 2))
    assert capture.bad[0].message == "not a JSON object" and capture.bad[1].message.startswith("not JSON")
    assert capture.lines == 60 and capture.error is None


def test_cached_endpoint_does_not_hide_a_malformed_label_list(tmp_path: Path) -> None:
    # endpoints are cached under tuple(labels): the string "ab" has the same key as the list ["a", "b"],
    # so the type is checked before the cache is asked.
    good = flow_line(source={"labels": ["a", "b"]})
    bad = flow_line(source={"labels": "ab"})
    flows, capture = read_all(write_capture(tmp_path / "c.jsonl", [good, bad]))
    assert [f.line for f in flows] == [1]
    assert [b.line for b in capture.bad] == [2]


# --- gzip, missing files, stdin --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "compress"), [
    ("capture.jsonl.gz", True),
    ("capture.jsonl", True),
    ("capture", True),
    ("capture.jsonl.gz", False),
], ids=["gz-name", "gzip-with-jsonl-name", "gzip-no-extension", "plain-with-gz-name"])
def test_gzip_detected_by_content_not_name(tmp_path: Path, name: str, compress: bool) -> None:
    lines = [*sample_lines()[:5], lost("3")]
    flows, capture = read_all(write_capture(tmp_path / name, lines, compress=compress))
    assert [f.line for f in flows] == [1, 2, 3, 4, 5]
    assert (capture.flows, capture.events_lost, capture.bad_lines, capture.error) == (5, 3, 0, None)


def numbered_lines(count: int) -> list[str]:
    return [flow_line(l4={"TCP": {"destination_port": i}}, source={"pod_name": f"p{i}"}) for i in range(count)]


@pytest.mark.parametrize("cut", ["middle", "trailer"])
def test_truncated_gzip_sets_error_and_keeps_earlier_flows(tmp_path: Path, cut: str) -> None:
    data = gzip.compress(b"".join(x.encode() + b"\n" for x in numbered_lines(3000)))
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(data[: len(data) // 2] if cut == "middle" else data[:-8])
    capture = Capture(str(path))
    ports = [f.port for f in read(str(path), capture)]
    assert capture.error is not None
    assert ports == list(range(len(ports)))  # a prefix, in order
    if cut == "middle":
        assert 0 < len(ports) < 3000
    else:  # only the CRC and size are missing: every line was decompressed
        assert len(ports) == 3000
    assert capture.flows == len(ports) and capture.lines >= len(ports)


def test_corrupt_gzip_body_sets_error(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(b"".join(x.encode() + b"\n" for x in numbered_lines(50))))
    data[20:40] = b"\xff" * 20
    path = tmp_path / "c.gz"
    path.write_bytes(bytes(data))
    flows, capture = read_all(path)
    assert capture.error is not None
    assert [f.port for f in flows] == list(range(len(flows)))


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_capture_sets_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "nope.jsonl"
    if kind == "directory":
        path.mkdir()
    flows, capture = read_all(path)
    assert flows == []
    assert capture.error == ("Is a directory" if kind == "directory" else "No such file or directory")
    assert (capture.lines, capture.flows) == (0, 0)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_stdin(monkeypatch: pytest.MonkeyPatch, compress: bool) -> None:
    data = b"".join(x.encode() + b"\n" for x in [*sample_lines()[10:12], lost("4"), "oops"])
    buffer = io.BufferedReader(io.BytesIO(gzip.compress(data) if compress else data))
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=buffer))
    capture = Capture("-")
    flows = list(read("-", capture))
    assert [(f.line, f.drop_reason) for f in flows] == [(1, "INVALID_SOURCE_IP"), (2, "POLICY_DENIED")]
    assert (capture.events_lost, capture.bad_lines, capture.lines, capture.error) == (4, 1, 4, None)
    assert not buffer.closed  # stdin is left open


# --- field extraction ------------------------------------------------------------------------------------------------


def one_flow(tmp_path: Path, line: str) -> tuple[Flow, Capture]:
    flows, capture = read_all(write_capture(tmp_path / "c.jsonl", [line]))
    assert capture.bad == [], capture.bad
    assert len(flows) == 1
    return flows[0], capture


@pytest.mark.parametrize(("fields", "expected"), [
    ({"is_reply": True}, True),
    ({"is_reply": False}, False),
    ({"reply": True}, True),
    ({"reply": False}, None),
    ({}, None),
    ({"is_reply": False, "reply": True}, False),
    ({"is_reply": True, "reply": False}, True),
    ({"is_reply": "true"}, None),
    ({"is_reply": None, "reply": True}, True),
], ids=["is_reply-true", "is_reply-false", "reply-true", "reply-false", "absent", "is_reply-wins-false",
        "is_reply-wins-true", "is_reply-not-bool", "is_reply-null-reply-true"])
def test_reply(tmp_path: Path, fields: dict[str, Any], expected: bool | None) -> None:
    assert one_flow(tmp_path, flow_line(**fields))[0].reply is expected


@pytest.mark.parametrize(("l4", "protocol", "port"), [
    ({"TCP": {"source_port": 40000, "destination_port": 443}}, "TCP", 443),
    ({"UDP": {"source_port": 40000, "destination_port": 53}}, "UDP", 53),
    ({"SCTP": {"destination_port": 2905}}, "SCTP", 2905),
    ({"ICMPv4": {"type": 8}}, "ICMPv4", 8),
    ({"ICMPv6": {"type": 128}}, "ICMPv6", 128),
    ({"TCP": {"destination_port": "8080"}}, "TCP", 8080),
    ({"TCP": {"source_port": 80}}, "TCP", 0),
    ({"ICMPv4": {}}, "ICMPv4", 0),
    (None, "", 0),
], ids=["tcp", "udp", "sctp", "icmpv4", "icmpv6", "port-as-string", "no-destination-port", "icmp-no-type", "no-l4"])
def test_protocol_and_port(tmp_path: Path, l4: dict[str, Any] | None, protocol: str, port: int) -> None:
    flow = one_flow(tmp_path, flow_line(**({"l4": l4} if l4 is not None else {})))[0]
    assert (flow.protocol, flow.port) == (protocol, port)


@pytest.mark.parametrize(("fields", "direction", "trusted"), [
    ({"event_type": {"type": 5}, "traffic_direction": "INGRESS"}, "INGRESS", "INGRESS"),
    ({"event_type": {"type": 4}, "traffic_direction": "EGRESS"}, "EGRESS", None),
    ({"verdict": "DROPPED", "traffic_direction": "EGRESS"}, "EGRESS", "EGRESS"),
    ({"verdict": "AUDIT", "traffic_direction": "INGRESS"}, "INGRESS", "INGRESS"),
    ({"event_type": {"type": 5}, "traffic_direction": "TRAFFIC_DIRECTION_UNKNOWN"}, None, None),
    ({"event_type": {"type": 5}}, None, None),
], ids=["policy-verdict", "trace", "drop", "audit", "unknown", "absent"])
def test_direction(tmp_path: Path, fields: dict[str, Any], direction: str | None, trusted: str | None) -> None:
    flow = one_flow(tmp_path, flow_line(**fields))[0]
    assert (flow.direction, flow.trusted_direction) == (direction, trusted)


@pytest.mark.parametrize(("event_types", "verdicts"), [
    ([{"type": 5}, {"type": 4}, {"type": 5, "sub_type": 1}], 2),
    ([{"type": 4}, {"type": 129}], 0),
    ([None, {"type": "5"}], 1),
])
def test_policy_verdicts_count(tmp_path: Path, event_types: list[dict[str, Any] | None], verdicts: int) -> None:
    lines = [flow_line(**({"event_type": e} if e is not None else {})) for e in event_types]
    flows, capture = read_all(write_capture(tmp_path / "c.jsonl", lines))
    assert capture.policy_verdicts == verdicts == sum(f.policy_verdict for f in flows)


@pytest.mark.parametrize(("node", "cluster"), [
    ("poc1/poc1-worker", "poc1"),
    ("kind-kind/kind-worker", "kind-kind"),
    ("kind-control-plane", "default"),
    ("10.10.21.241", "default"),
    ("", "default"),
    ("a/b/c", "a"),
])
def test_node_cluster(node: str, cluster: str) -> None:
    assert node_cluster(node) == cluster


@pytest.mark.parametrize(("text", "expected"), [
    ("2021-06-16T16:52:13.136834446Z", epoch("2021-06-16T16:52:13Z") + 0.136834),
    ("2021-06-16T16:52:13.136834446z", epoch("2021-06-16T16:52:13Z") + 0.136834),
    ("2021-06-16T16:52:13Z", epoch("2021-06-16T16:52:13Z")),
    ("2021-06-16T16:52:13.5Z", epoch("2021-06-16T16:52:13Z") + 0.5),
    ("2021-06-16T16:52:13.123Z", epoch("2021-06-16T16:52:13Z") + 0.123),
    ("2021-06-16T16:52:13.000000001Z", epoch("2021-06-16T16:52:13Z")),
    ("2021-06-16T16:52:13+00:00", epoch("2021-06-16T16:52:13Z")),
    ("2021-06-16T18:52:13.25+02:00", epoch("2021-06-16T16:52:13Z") + 0.25),
    ("2021-06-16T09:52:13.123456789-07:00", epoch("2021-06-16T16:52:13Z") + 0.123456),
    ("2021-06-16T22:22:13+05:30", epoch("2021-06-16T16:52:13Z")),
    ("garbage", None),
    ("2021-13-40T99:00:00Z", None),
    ("1623862333", None),
    ("", None),
    (None, None),
    (1623862333, None),
], ids=["nanos-Z", "nanos-lower-z", "no-fraction", "one-digit", "millis", "one-nano", "utc-offset",
        "plus-offset", "minus-offset-9-digits", "half-hour-offset", "garbage", "out-of-range", "epoch-string",
        "empty", "none", "int"])
def test_parse_time(text: object, expected: float | None) -> None:
    if expected is None:
        assert parse_time(text) is None
    else:
        assert parse_time(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("endpoint", "node", "cluster", "cluster_field", "local"), [
    ({"cluster_name": "c1", "labels": [f"{CLUSTER}c2", "k8s:app=a"]}, "east/n", "c1", True, False),
    ({"cluster_name": "", "labels": [f"{CLUSTER}c2", "k8s:app=a"]}, "east/n", "c2", False, False),
    ({"labels": ["k8s:app=a", f"{CLUSTER}c2"]}, "east/n", "c2", False, False),
    ({"ID": 12, "labels": ["k8s:app=a", f"{CLUSTER}c2"]}, "east/n", "c2", False, True),
    ({"ID": 12, "labels": ["k8s:app=a"]}, "east/n", "east", False, True),
    ({"ID": 12, "labels": ["k8s:app=a"]}, "kind-worker", "default", False, True),
    ({"ID": 12, "pod_name": "web-0"}, "east/n", "east", False, True),
    ({"labels": ["k8s:app=a"]}, "east/n", None, False, False),
    ({"ID": 12, "labels": ["reserved:host"]}, "east/n", None, False, True),
    ({"labels": ["reserved:world"]}, "east/n", None, False, False),
    ({"ID": 12, "labels": ["k8s:app=a"]}, None, None, False, True),
], ids=["cluster_name-wins", "empty-cluster_name", "label", "label-beats-node", "local-from-node",
        "local-default-cluster", "local-no-labels", "remote-unknown", "reserved-local", "reserved-world",
        "local-without-node"])
def test_endpoint_cluster(tmp_path: Path, endpoint: dict[str, Any], node: str | None, cluster: str | None,
                          cluster_field: bool, local: bool) -> None:
    flow = one_flow(tmp_path, flow_line(node=node, source=endpoint))[0]
    assert (flow.source.cluster, flow.source.cluster_field, flow.source.local) == (cluster, cluster_field, local)


@pytest.mark.parametrize(("endpoint", "namespace"), [
    ({"namespace": "shop", "labels": ["k8s:io.kubernetes.pod.namespace=other"]}, "shop"),
    ({"labels": ["k8s:app=a", "k8s:io.kubernetes.pod.namespace=shop"]}, "shop"),
    ({"labels": ["reserved:world"]}, ""),
], ids=["field", "label", "none"])
def test_endpoint_namespace(tmp_path: Path, endpoint: dict[str, Any], namespace: str) -> None:
    assert one_flow(tmp_path, flow_line(destination=endpoint))[0].destination.namespace == namespace


@pytest.mark.parametrize(("endpoint", "workload"), [
    ({"pod_name": "api-7d9f8b6c5d-x2x9q", "workloads": [{"name": "api", "kind": "Deployment"}]}, "api"),
    ({"pod_name": "odd", "workloads": [{"name": "batch", "kind": "CronJob"}], "labels": ["k8s:app=x"]}, "batch"),
    ({"pod_name": "reviews-v1-545db77b95-s6jb8"}, "reviews-v1"),
    ({"pod_name": "deathstar-7848d6c4d5-th9v2"}, "deathstar"),
    ({"pod_name": "ratings-v1-b6994bb9-jgqxb"}, "ratings-v1"),
    ({"pod_name": "web-0"}, "web"),
    ({"pod_name": "kafka-broker-12"}, "kafka-broker"),
    ({"pod_name": "node-local-dns-88zrp"}, "node-local-dns"),
    ({"pod_name": "fluent-bit-x7k2p"}, "fluent-bit"),
    # "agent" is not a generated suffix: Kubernetes' suffix alphabet has no vowels
    ({"pod_name": "datadog-agent-x7k2p"}, "datadog-agent"),
    ({"pod_name": "backup-28293847-x7k2p"}, "backup"),
    ({"pod_name": "xwing"}, "xwing"),
    ({"labels": ["k8s:app.kubernetes.io/name=shop", "k8s:app=other"]}, "shop"),
    ({"labels": ["k8s:app=shop", "k8s:io.kubernetes.pod.namespace=ns"]}, "shop"),
    ({"labels": ["reserved:world"]}, "world"),
    ({"labels": ["cidr:10.0.0.0/8", "reserved:world"]}, "world"),
    ({"labels": ["reserved:host", "reserved:remote-node"]}, "host"),
    ({"labels": ["reserved:kube-apiserver", "reserved:world"]}, "kube-apiserver"),
], ids=["workloads-field", "workloads-beats-all", "deployment", "deployment-2", "deployment-8-char-hash",
        "statefulset", "statefulset-two-digits", "daemonset", "daemonset-2", "daemonset-word-before-suffix",
        "cronjob", "bare-pod", "app-kubernetes-name", "app-label", "world", "cidr-world", "host", "apiserver"])
def test_workload(tmp_path: Path, endpoint: dict[str, Any], workload: str) -> None:
    assert one_flow(tmp_path, flow_line(destination=endpoint))[0].destination.workload == workload


def test_workload_from_identity_is_not_shared_between_endpoints(tmp_path: Path) -> None:
    lines = [flow_line(source={"identity": 123401}), flow_line(source={"identity": 567801})]
    flows, _ = read_all(write_capture(tmp_path / "c.jsonl", lines))
    assert [f.source.workload for f in flows] == ["identity 123401", "identity 567801"]


@pytest.mark.parametrize(("source", "destination", "counted"), [
    ({"cluster_name": "a", "labels": ["k8s:app=x"]}, {"cluster_name": "b", "labels": ["k8s:app=y"]}, 0),
    ({"labels": ["k8s:app=x", f"{CLUSTER}a"]}, {"cluster_name": "b", "labels": ["k8s:app=y"]}, 1),
    ({"cluster_name": "a", "labels": ["k8s:app=x"]}, {"labels": ["k8s:app=y"]}, 1),
    ({"labels": ["k8s:app=x"]}, {"labels": ["k8s:app=y"]}, 1),
    ({"labels": ["reserved:world"]}, {"cluster_name": "b", "labels": ["k8s:app=y"]}, 0),
    ({"labels": ["reserved:host"]}, {"labels": ["reserved:world"]}, 0),
    ({"pod_name": "xwing"}, {"pod_name": "deathstar-7848d6c4d5-th9v2"}, 0),
    ({}, {}, 0),
], ids=["both-have-it", "source-lacks", "destination-lacks", "both-lack-one-flow", "reserved-source",
        "both-reserved", "no-labels", "empty-endpoints"])
def test_without_cluster_name(tmp_path: Path, source: dict[str, Any], destination: dict[str, Any],
                              counted: int) -> None:
    assert one_flow(tmp_path, flow_line(source=source, destination=destination))[1].without_cluster_name == counted


@pytest.mark.parametrize("field", ["ingress_allowed_by", "egress_allowed_by", "ingress_denied_by",
                                   "egress_denied_by"])
@pytest.mark.parametrize(("refs", "expected"), [
    ([{"name": "allow-web", "namespace": "shop", "kind": "CiliumNetworkPolicy", "revision": "3"}],
     (PolicyRef("CiliumNetworkPolicy", "shop", "allow-web"),)),
    ([{"name": "allow-web", "namespace": "shop",
       "labels": ["k8s:io.cilium.k8s.policy.name=allow-web", f"{DERIVED}CiliumNetworkPolicy"]}],
     (PolicyRef("CiliumNetworkPolicy", "shop", "allow-web"),)),
    ([{"name": "base", "labels": [f"{DERIVED}CiliumClusterwideNetworkPolicy"]}],
     (PolicyRef("CiliumClusterwideNetworkPolicy", "", "base"),)),
    ([{"name": "np", "namespace": "shop"}], (PolicyRef("", "shop", "np"),)),
    ([{"name": "a", "namespace": "x", "kind": "NetworkPolicy"},
      {"name": "b", "kind": "CiliumClusterwideNetworkPolicy"}],
     (PolicyRef("NetworkPolicy", "x", "a"), PolicyRef("CiliumClusterwideNetworkPolicy", "", "b"))),
    ([], ()),
], ids=["with-kind", "kind-from-label", "clusterwide-from-label", "no-kind", "two", "empty"])
def test_policy_refs(tmp_path: Path, field: str, refs: list[dict[str, Any]], expected: tuple[PolicyRef, ...]) -> None:
    flow = one_flow(tmp_path, flow_line(event_type={"type": 5}, **{field: refs}))[0]
    assert getattr(flow, field) == expected
    others = {"ingress_allowed_by", "egress_allowed_by", "ingress_denied_by", "egress_denied_by"} - {field}
    assert all(getattr(flow, other) == () for other in others)


# --- time span -----------------------------------------------------------------------------------------------------


def test_first_last_span_and_nodes(tmp_path: Path) -> None:
    lines = [
        flow_line(node="east/a", time="2024-05-01T10:00:30Z"),
        flow_line(node="east/b", time="2024-05-01T10:00:10Z"),
        flow_line(node="east/a", time="2024-05-01T10:00:05.5Z"),
        flow_line(node="east/a", time="not a time"),
        flow_line(node="east/b", time="2024-05-01T10:01:10Z"),
        flow_line(node="west/c", time="2024-05-01T10:00:20Z"),
        lost("3", time="2024-05-01T09:00:00Z"),
    ]
    flows, capture = read_all(write_capture(tmp_path / "c.jsonl", lines))
    assert len(flows) == 6 and flows[3].time is None
    base = epoch("2024-05-01T10:00:00Z")
    assert capture.first == pytest.approx(base + 5.5)
    assert capture.last == pytest.approx(base + 70)
    assert capture.span == pytest.approx(64.5)
    assert set(capture.nodes) == {"east/a", "east/b", "west/c"}
    assert capture.nodes["east/a"][:2] == pytest.approx([base + 5.5, base + 30])
    assert capture.nodes["east/b"] == pytest.approx([base + 10, base + 70, 2])
    assert capture.nodes["west/c"] == pytest.approx([base + 20, base + 20, 1])


def test_no_timestamps_means_no_span(tmp_path: Path) -> None:
    line = json.dumps({"flow": {"verdict": "FORWARDED"}, "node_name": "n"})
    flow, capture = one_flow(tmp_path, line)
    assert flow.time is None
    assert (capture.first, capture.last, capture.span, capture.nodes) == (None, None, 0.0, {})


# --- memory does not grow with the capture -------------------------------------------------------------------------

ENDPOINTS = [
    {"ID": 101, "cluster_name": "east", "pod_name": "web-6d88ffb646-4nbtg", "labels": ["k8s:app=web"]},
    {"cluster_name": "west", "pod_name": "db-0", "labels": ["k8s:app=db"]},
    {"labels": ["reserved:world"]},
    {"ID": 7, "pod_name": "agent-x7k2p", "labels": ["k8s:app=agent"]},
]
BASE = datetime(2024, 5, 1, tzinfo=timezone.utc)


def synthetic_lines(count: int) -> Iterator[str]:
    """Generated lazily, never held: a few endpoints repeated with varying ports, times and verdicts."""
    encoded = [json.dumps(e) for e in ENDPOINTS]
    for i in range(count):
        stamp = (BASE + timedelta(microseconds=i * 1500)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"
        if i % 997 == 0:
            yield '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"2","cpu":1}}\n'
            continue
        verdict = "DROPPED" if i % 7 == 0 else "FORWARDED"
        yield (f'{{"flow":{{"time":"{stamp}","verdict":"{verdict}","l4":{{"TCP":{{"destination_port":{i % 60000}}}}},'
               f'"source":{encoded[i % 4]},"destination":{encoded[(i + 1) % 4]},"event_type":{{"type":{4 + i % 2}}}}},'
               f'"node_name":"east/node-{i % 3}"}}\n')


def test_memory_does_not_grow_with_the_capture(tmp_path: Path) -> None:
    """A 200k-line capture (tens of MB) is read in a small, constant amount of memory.

    One traced pass: the peak after the first quarter of the lines is what a 4x smaller capture needs (its lines
    are the same), so the final peak is compared with it as well as with a fixed bound.
    """
    count = 200_000
    quarter = count // 4
    big = tmp_path / "big.jsonl"
    with big.open("w", encoding="utf-8") as out:
        out.writelines(synthetic_lines(count))
    assert big.stat().st_size > 40_000_000  # far more than the bound below
    read_all(write_capture(tmp_path / "warm.jsonl", list(synthetic_lines(10))))  # module caches and compiled regexes

    capture = Capture(str(big))
    flows = 0
    quarter_peak = 0
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for flow in read(str(big), capture):
            flows += 1
            if not quarter_peak and flow.line >= quarter:
                quarter_peak = tracemalloc.get_traced_memory()[1]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    lost_lines = len(range(0, count, 997))
    assert (flows, capture.flows, capture.lost_event_lines) == (count - lost_lines, count - lost_lines, lost_lines)
    assert (capture.events_lost, capture.bad_lines, capture.lines, capture.error) == (2 * lost_lines, 0, count, None)
    assert capture.span == pytest.approx((count - 1) * 0.0015, abs=0.01)
    assert sum(int(node[2]) for node in capture.nodes.values()) == flows
    assert 0 < quarter_peak <= peak
    assert peak < 20 * 1024 * 1024, f"peak {peak} bytes"
    assert peak < 2 * quarter_peak + 512 * 1024, f"peak {peak} bytes, {quarter_peak} after a quarter of the lines"
