"""Reading Hubble flow captures: `hubble observe -o jsonpb` / `-o json` lines, legacy bare-flow lines and the
Hubble exporter file, plain or gzip-compressed, from a file or stdin.

A capture can be many gigabytes, so flows are streamed one line at a time and only small per-flow records
leave this module. A line that is not a flow is counted (`lost_events`, `node_status`) or reported with its
line number (malformed); neither stops the read. Field names and meanings: `cilium-facts.md` §3.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any, TypeGuard

CLUSTER_LABEL = "k8s:io.cilium.k8s.policy.cluster="
NAMESPACE_LABEL = "k8s:io.kubernetes.pod.namespace="
POLICY_VERDICT = 5  # event_type.type of a policy-verdict event
ALLOWED = frozenset({"FORWARDED", "REDIRECTED"})
REFUSED = frozenset({"DROPPED", "AUDIT"})  # AUDIT: policy audit mode, would have been dropped
_FRACTION = re.compile(r"\.(\d+)")
_GZIP_MAGIC = b"\x1f\x8b"
MAX_REPORTED = 20  # malformed lines kept with their text; the rest are only counted


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """A policy named by `ingress_allowed_by` / `egress_allowed_by` and friends (kind is "" before 1.17)."""

    kind: str
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a flow, reduced to what selectors and reports need."""

    labels: tuple[str, ...]  # as Hubble prints them: "k8s:app=web", "reserved:world"
    namespace: str
    pod: str
    workload: str  # the owning workload, or the best name the flow offers
    cluster: str | None  # cluster_name, else the cluster label, else the observing node's cluster when local
    cluster_field: bool  # the cluster came from `cluster_name` (agents 1.16+)
    reserved: bool  # a reserved identity (world, host, remote-node …): not a pod of any cluster
    local: bool = False  # on the node that observed the event (Hubble sets its endpoint ID)


@dataclass(slots=True)
class Flow:
    line: int
    time: float | None  # seconds since the epoch
    verdict: str
    drop_reason: str
    event_type: int | None
    direction: str | None  # INGRESS / EGRESS, trusted only on policy verdicts and drops
    reply: bool | None  # None: the capture does not say
    node: str
    source: Endpoint
    destination: Endpoint
    protocol: str  # TCP, UDP, SCTP, ICMPv4, ICMPv6, or "" when the flow has no L4
    port: int  # destination port (ICMP: the type)
    observation: str = ""  # trace_observation_point of trace events: TO_ENDPOINT, FROM_ENDPOINT, TO_OVERLAY …
    syn: bool | None = None  # TCP: SYN set; None when the flow has no TCP flags
    ack: bool = False
    ingress_allowed_by: tuple[PolicyRef, ...] = ()
    egress_allowed_by: tuple[PolicyRef, ...] = ()
    ingress_denied_by: tuple[PolicyRef, ...] = ()
    egress_denied_by: tuple[PolicyRef, ...] = ()

    @property
    def policy_verdict(self) -> bool:
        return self.event_type == POLICY_VERDICT

    @property
    def trusted_direction(self) -> str | None:
        """The direction when Hubble's value for it is reliable (policy verdicts and drops), else None."""
        if self.policy_verdict or self.verdict in REFUSED:
            return self.direction
        return None


@dataclass
class BadLine:
    line: int
    message: str


@dataclass
class Capture:
    """What one capture held besides its flows: counts and time span, for the thin-evidence warnings."""

    name: str
    lines: int = 0
    flows: int = 0
    lost_event_lines: int = 0
    events_lost: int = 0
    node_status: int = 0  # node_status, agent_event and debug_event lines
    policy_verdicts: int = 0
    without_cluster_name: int = 0  # flows whose pod ends carry no `cluster_name` (agents before 1.16)
    bad_lines: int = 0
    bad: list[BadLine] = field(default_factory=list)
    error: str | None = None  # the capture could not be read (to the end)
    first: float | None = None
    last: float | None = None
    nodes: dict[str, list[float]] = field(default_factory=dict)  # node -> [first, last, flows]
    cut_off: bool = False  # the last line ends without a newline and does not parse: the capture was cut off
    endpoints: dict[tuple[object, ...], Endpoint] = field(default_factory=dict, repr=False)

    @property
    def span(self) -> float:
        return (self.last - self.first) if self.first is not None and self.last is not None else 0.0

    def seen(self, node: str, when: float | None) -> None:
        if when is None:
            return
        self.first = when if self.first is None else min(self.first, when)
        self.last = when if self.last is None else max(self.last, when)
        span = self.nodes.get(node)
        if span is None:
            self.nodes[node] = [when, when, 1]
        else:
            span[0], span[1], span[2] = min(span[0], when), max(span[1], when), span[2] + 1

    def malformed(self, line: int, message: str) -> None:
        self.bad_lines += 1
        if len(self.bad) < MAX_REPORTED:
            self.bad.append(BadLine(line, message))


def parse_time(text: object) -> float | None:
    """RFC 3339 with up to nanoseconds (Hubble's format) to epoch seconds; None when absent or unreadable."""
    if not isinstance(text, str) or not text:
        return None
    value = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    value = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)
    try:
        when = datetime.fromisoformat(value)
        when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
        return when.timestamp()
    except (ValueError, OverflowError, OSError):  # unreadable, or out of the platform's range
        return None


def node_cluster(node_name: str) -> str:
    """Hubble names nodes `<cluster>/<node>`, except in a cluster named `default`."""
    cluster, slash, _ = node_name.partition("/")
    return cluster if slash else "default"


def _open(name: str) -> IO[bytes]:
    raw: IO[bytes] = sys.stdin.buffer if name == "-" else open(name, "rb")  # noqa: SIM115 (closed by caller)
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def read(name: str, capture: Capture) -> Iterator[Flow]:
    """Every flow of a capture file (`-` for stdin), counting what is not a flow into `capture`.

    A file that cannot be opened or a compressed stream that breaks off sets `capture.error`; the flows
    read until then still count.
    """
    try:
        stream = _open(name)
    except OSError as exc:
        capture.error = exc.strerror or str(exc)
        return
    number = 0
    try:
        for number, raw in enumerate(stream, start=1):
            flow = _line(raw, number, capture)
            if flow is not None:
                yield flow
    except (OSError, EOFError, zlib.error) as exc:
        capture.error = f"line {number + 1}: cannot read on ({exc or type(exc).__name__})"
    finally:
        capture.lines = max(capture.lines, number)
        if stream is not sys.stdin.buffer:
            stream.close()


def _line(raw: bytes, number: int, capture: Capture) -> Flow | None:
    if not raw.strip():
        return None
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError alike
        if not raw.endswith(b"\n"):
            capture.cut_off = True  # only the last line can lack its newline: `hubble observe` was stopped
        else:
            capture.malformed(number, f"not JSON ({_short(exc) or 'nested too deeply'})")
        return None
    if not isinstance(obj, dict):
        capture.malformed(number, "not a JSON object")
        return None
    if "flow" in obj:
        data, node = obj["flow"], obj.get("node_name")
    elif "lost_events" in obj:
        capture.lost_event_lines += 1
        capture.events_lost += _int(_dict(obj["lost_events"]).get("num_events_lost"), 1)
        return None
    elif "node_status" in obj or "agent_event" in obj or "debug_event" in obj:
        capture.node_status += 1  # other events of the exporter file and `hubble observe`
        return None
    elif "verdict" in obj or "source" in obj or "IP" in obj or "event_type" in obj:
        data, node = obj, None  # a legacy bare Flow line
    else:
        capture.malformed(number, "neither a flow nor a lost_events/node_status line")
        return None
    if not isinstance(data, dict):
        capture.malformed(number, "`flow` is not an object")
        return None
    try:
        flow = _flow(data, node, number, capture.endpoints)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        capture.malformed(number, f"unexpected flow shape ({_short(exc)})")
        return None
    capture.flows += 1
    capture.seen(flow.node, flow.time)
    if flow.policy_verdict:
        capture.policy_verdicts += 1
    if any(not e.reserved and e.labels and not e.cluster_field for e in (flow.source, flow.destination)):
        capture.without_cluster_name += 1
    return flow


def _short(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0][:120]


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: object, default: int = 0) -> int:
    """proto3 JSON writes 64-bit integers as strings."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return default
    return default


def _flow(data: dict[str, Any], node_name: object, number: int,
          cache: dict[tuple[object, ...], Endpoint]) -> Flow:
    node = data.get("node_name") or node_name or ""
    if not isinstance(node, str):
        raise TypeError("node_name is not a string")
    on_node = node_cluster(node) if node else None
    event = data.get("event_type")
    event_type = _int(_dict(event).get("type"), -1) if event is not None else None
    l4 = _dict(data.get("l4"))
    protocol, port = _l4(l4)
    flags = _dict(_dict(l4.get("TCP")).get("flags"))
    reply = data.get("is_reply")
    if not isinstance(reply, bool):
        reply = True if data.get("reply") is True else None
    return Flow(
        line=number,
        time=parse_time(data.get("time")),
        verdict=str(data.get("verdict") or "VERDICT_UNKNOWN"),
        drop_reason=str(data.get("drop_reason_desc") or ""),
        event_type=event_type if event_type != -1 else None,
        direction=_direction(data.get("traffic_direction")),
        reply=reply,
        node=node,
        source=_endpoint(_dict(data.get("source")), on_node, cache),
        destination=_endpoint(_dict(data.get("destination")), on_node, cache),
        protocol=protocol,
        port=port,
        observation=str(data.get("trace_observation_point") or ""),
        syn=bool(flags.get("SYN")) if flags else None,
        ack=bool(flags.get("ACK")),
        ingress_allowed_by=_refs(data.get("ingress_allowed_by")),
        egress_allowed_by=_refs(data.get("egress_allowed_by")),
        ingress_denied_by=_refs(data.get("ingress_denied_by")),
        egress_denied_by=_refs(data.get("egress_denied_by")),
    )


def _direction(value: object) -> str | None:
    return value if value in ("INGRESS", "EGRESS") else None


def _l4(l4: dict[str, Any]) -> tuple[str, int]:
    for protocol in ("TCP", "UDP", "SCTP"):
        if protocol in l4:
            return protocol, _int(_dict(l4[protocol]).get("destination_port"))
    for protocol in ("ICMPv4", "ICMPv6"):
        if protocol in l4:
            return protocol, _int(_dict(l4[protocol]).get("type"))
    return "", 0


ENDPOINT_CACHE = 20_000  # distinct endpoints remembered per capture; a capture repeats far fewer


def _endpoint(data: dict[str, Any], on_node: str | None, cache: dict[tuple[object, ...], Endpoint]) -> Endpoint:
    labels = data.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise TypeError("labels is not a list of strings")
    cluster_name = data.get("cluster_name") or None
    local = bool(data.get("ID"))  # an endpoint ID is set only for endpoints on the observing node
    workloads = data.get("workloads") or []
    if not isinstance(workloads, list):
        raise TypeError("workloads is not a list")
    owner = workloads[0].get("name") if workloads and isinstance(workloads[0], dict) else None
    key = (tuple(labels), data.get("namespace"), data.get("pod_name"), cluster_name, local and on_node, owner,
           data.get("identity"))
    cached = cache.get(key)
    if cached is not None:
        return cached
    reserved = any(x.startswith("reserved:") for x in labels)
    cluster = cluster_name if _cluster_name(cluster_name) else None
    if cluster is None:
        cluster = next((x[len(CLUSTER_LABEL):] for x in labels if x.startswith(CLUSTER_LABEL)
                        and _cluster_name(x[len(CLUSTER_LABEL):])), None)
    if cluster is None and local and not reserved and _cluster_name(on_node):
        cluster = on_node
    namespace = str(data.get("namespace") or "")
    if not namespace:
        namespace = next((x[len(NAMESPACE_LABEL):] for x in labels if x.startswith(NAMESPACE_LABEL)), "")
    pod = str(data.get("pod_name") or "")
    endpoint = Endpoint(tuple(labels), namespace, pod, _workload(owner, pod, labels, data), cluster,
                        isinstance(cluster_name, str), reserved, local)
    if len(cache) >= ENDPOINT_CACHE:
        cache.clear()
    cache[key] = endpoint
    return endpoint


_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")  # a label value, not empty


def _cluster_name(value: object) -> TypeGuard[str]:
    """A cluster name as the CRD accepts it: anything else (empty, `*`) places the endpoint nowhere."""
    return isinstance(value, str) and _CLUSTER_NAME.match(value) is not None


_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"  # the alphabet of Kubernetes' generated name suffixes (no vowels)
_POD_SUFFIXES = (
    re.compile(rf"^(.+)-\d{{8,10}}-{_SAFE}{{5}}$"),  # CronJob: <name>-<scheduled minute>-<pod hash>
    re.compile(rf"^(.+)-{_SAFE}{{5,10}}-{_SAFE}{{5}}$"),  # Deployment: <name>-<replicaset hash>-<pod hash>
    re.compile(r"^(.+)-\d+$"),  # StatefulSet
    re.compile(rf"^(.+)-{_SAFE}{{5}}$"),  # DaemonSet, Job
)


def _workload(owner: object, pod: str, labels: Any, data: dict[str, Any]) -> str:
    """The workload a connection is reported under: Hubble's `workloads` (1.16+), else a name guessed from
    the pod, the usual app labels, or the reserved identity."""
    if isinstance(owner, str) and owner:
        return owner
    if pod:
        for pattern in _POD_SUFFIXES:
            m = pattern.match(pod)
            if m:
                return m.group(1)
        return pod
    for label in labels:
        for key in ("k8s:app.kubernetes.io/name=", "k8s:app="):
            if label.startswith(key):
                return str(label[len(key):])
    reserved: list[str] = sorted(str(x)[len("reserved:"):] for x in labels if str(x).startswith("reserved:"))
    if reserved:
        return ([name for name in reserved if name != "world"] or reserved)[0]
    identity = data.get("identity")
    return f"identity {identity}" if identity else "unknown"


def _refs(value: object) -> tuple[PolicyRef, ...]:
    if not isinstance(value, list):
        return ()
    refs = []
    for item in value:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("kind") or "")
        if not kind:
            prefix = "k8s:io.cilium.k8s.policy.derived-from="
            kind = next((x[len(prefix):] for x in item.get("labels") or () if str(x).startswith(prefix)), "")
        refs.append(PolicyRef(kind, str(item.get("namespace") or ""), str(item.get("name") or "")))
    return tuple(refs)
