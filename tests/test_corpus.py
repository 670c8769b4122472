"""End-to-end run over the shared real-world corpus: scan, rewrite, verify the rewrite byte by byte.

The corpus (`/work/shared/corpus`, see its SOURCES.md files) is copied into a temporary folder first; the
shared copy is never touched. Every check here is independent of the engine: an oracle written from
`cilium-facts.md` §1 re-derives the affected selectors with plain PyYAML, and the rewritten files are
compared with the originals line by line (difflib), comment by comment, and as data.

Run with `pytest -s tests/test_corpus.py` to see the figures for the closing note.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from codemod.cli import main

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
if not CORPUS.is_dir():  # pragma: no cover - only on machines without the shared corpus
    pytest.skip(f"shared corpus not found at {CORPUS}", allow_module_level=True)

SETS = ("wild", "cilium-examples")
SUFFIXES = (".yaml", ".yml", ".json")
DECISIONS = "version: 1\ndefault: all-clusters\n"
IMPLICIT = "implicit-cluster-selector"
TEMPLATE_REASON = "template (Helm/Go/Jinja): not YAML until rendered"

CLUSTER_KEY = "io.cilium.k8s.policy.cluster"
CILIUM_CLUSTER_KEYS = {CLUSTER_KEY, f"k8s:{CLUSTER_KEY}", f"any:{CLUSTER_KEY}"}
EXISTS = {"key": CLUSTER_KEY, "operator": "Exists"}
GROUPS = {"CiliumNetworkPolicy": "cilium.io/", "CiliumClusterwideNetworkPolicy": "cilium.io/",
          "NetworkPolicy": "networking.k8s.io/"}
CILIUM_SECTIONS = {
    "ingress": ("fromEndpoints", "fromNodes", "fromRequires"),
    "ingressDeny": ("fromEndpoints", "fromNodes", "fromRequires"),
    "egress": ("toEndpoints", "toNodes", "toRequires"),
    "egressDeny": ("toEndpoints", "toNodes", "toRequires"),
}
KNP_SECTIONS = {"ingress": "from", "egress": "to"}

# Corpus files used for the CRLF / BOM / JSON variants: aliases, shared anchors, flow `{}`, trailing
# comments, a file without a final newline, NetworkPolicies, `specs`, deny rules.
VARIANT_FILES = (
    "wild/JJGadgets__Biohazard__.archive__kube__deploy__apps__gts-robo__app__netpol.yaml",
    "wild/JJGadgets__Biohazard__kube__deploy__core__db__mosquitto__app__netpol.yaml",
    "wild/JJGadgets__Biohazard__kube__deploy__core__db__pg__clusters__template__netpol.yaml",
    "wild/Man-Sinh-Lee__learning-ebpf-and-cilium__hubble-grafana__jobs-app-attack.yml",
    "wild/Man-Sinh-Lee__learning-ebpf-and-cilium__hubble-grafana__allow-all-within-namespace.yaml",
    "wild/monosense-io__k8s-gitops__kubernetes__components__dragonfly__networkpolicy.yaml",
    "wild/JJGadgets__Biohazard__kube__deploy__apps__home-assistant__app__netpol.yaml",
    "cilium-examples/test/k8s/manifests/cnp-specs.yaml",
    "cilium-examples/examples/policies/kubernetes/namespace/isolate-namespaces.yaml",
)


# ---------------------------------------------------------------------------------------------------------
# Running the CLI.


def invoke(*args: str) -> Result:
    """Run the CLI in-process; any exception other than the final SystemExit is a crash."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"cilium-codemod {' '.join(args)} crashed: {result.exception!r}") \
            from result.exception
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.stderr[-2000:])
    return result


def scan_json(*paths: Path, decisions: Path) -> tuple[int, dict[str, Any]]:
    result = invoke("scan", "--format", "json", "--decisions", str(decisions), *map(str, paths))
    data: dict[str, Any] = json.loads(result.stdout)
    return result.exit_code, data


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------------------
# An independent oracle for §1 of the facts sheet, on plain PyYAML data.


def _policies(node: object, path: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    if not isinstance(node, dict):
        return
    kind = node.get("kind")
    if not isinstance(kind, str):
        return
    if kind == "List" or (kind.endswith("List") and kind[:-4] in GROUPS):
        items = node.get("items")
        if isinstance(items, list):
            for i, item in enumerate(items):
                yield from _policies(item, f"{path}items[{i}].")
        return
    api = node.get("apiVersion")
    if kind in GROUPS and (api is None or str(api).startswith(GROUPS[kind])):
        yield kind, path, node


def _selector_keys(selector: object) -> list[tuple[str, object]]:
    keys: list[tuple[str, object]] = []
    if not isinstance(selector, dict):
        return keys
    labels = selector.get("matchLabels")
    if isinstance(labels, dict):
        keys += [(str(k), v) for k, v in labels.items()]
    expressions = selector.get("matchExpressions")
    if isinstance(expressions, list):
        keys += [(str(e["key"]), None) for e in expressions if isinstance(e, dict) and e.get("key") is not None]
    return keys


def oracle_implicit(doc: object) -> list[tuple[str, str]]:
    """(policy kind, data path) of every peer selector that relies on the implicit cluster default."""
    found: list[tuple[str, str]] = []
    for kind, base, policy in _policies(doc, ""):
        rules: list[tuple[str, dict[str, Any]]] = []
        if isinstance(policy.get("spec"), dict):
            rules.append((f"{base}spec", policy["spec"]))
        if kind != "NetworkPolicy" and isinstance(policy.get("specs"), list):
            rules += [(f"{base}specs[{i}]", r) for i, r in enumerate(policy["specs"]) if isinstance(r, dict)]
        for rule_path, rule in rules:
            sections = ({s: (f,) for s, f in KNP_SECTIONS.items()} if kind == "NetworkPolicy"
                        else CILIUM_SECTIONS)
            for section, fields in sections.items():
                entries = rule.get(section)
                if not isinstance(entries, list):
                    continue
                for i, entry in enumerate(entries):
                    if not isinstance(entry, dict):
                        continue
                    for name in fields:
                        peers = entry.get(name)
                        if not isinstance(peers, list):
                            continue
                        for j, peer in enumerate(peers):
                            if not isinstance(peer, dict):
                                continue
                            path = f"{rule_path}.{section}[{i}].{name}[{j}]"
                            if kind == "NetworkPolicy":
                                if peer.get("podSelector") is None and peer.get("namespaceSelector") is None:
                                    continue  # ipBlock
                                keys = _selector_keys(peer.get("podSelector"))
                                if any(k == CLUSTER_KEY and (v is None or v not in ("", None)) for k, v in keys):
                                    continue
                            else:
                                keys = _selector_keys(peer)
                                if any(k.startswith("reserved:") or k in CILIUM_CLUSTER_KEYS for k, _ in keys):
                                    continue
                            found.append((kind, path))
    return found


def parse_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        parts.append(int(index) if index else name)
    return parts


def plain(data: object) -> object:
    """An alias-free copy (PyYAML shares aliased objects; the rewrite may expand them)."""
    return json.loads(json.dumps(data, default=str))


def expected_after(old_doc: object, changes: list[tuple[str, str]]) -> object:
    """The old document with an all-clusters Exists expression added at every (kind, path)."""
    doc = plain(old_doc)
    for kind, path in changes:
        node: Any = doc
        for part in parse_path(path):
            node = node[part]
        if kind == "NetworkPolicy":
            if node.get("podSelector") is None:
                node["podSelector"] = {}
            node = node["podSelector"]
        if node.get("matchExpressions") is None:
            node["matchExpressions"] = []
        node["matchExpressions"].append(dict(EXISTS))
    return doc


def duplicate_keys(text: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for root in yaml.compose_all(text, Loader=yaml.SafeLoader):
        stack: list[yaml.Node | None] = [root]
        seen_nodes: set[int] = set()
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen_nodes:
                continue
            seen_nodes.add(id(node))
            if isinstance(node, yaml.MappingNode):
                keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
                found += [(k, node.start_mark.line + 1) for k, n in Counter(keys).items() if n > 1]
                stack += [v for _, v in node.value]
            elif isinstance(node, yaml.SequenceNode):
                stack += list(node.value)
    return found


# ---------------------------------------------------------------------------------------------------------
# Text comparison helpers.


def comments(text: str) -> list[str]:
    """Comment texts: from an unquoted `#` at line start or after whitespace to the end of the line.

    A quote only opens a scalar where YAML allows one (after `: `, `- `, `[`, `{`, `,` or at line start),
    so the apostrophe in `client's` does not hide a comment."""
    out: list[str] = []
    for line in text.splitlines():
        quote: str | None = None
        prev = ""  # last non-space character outside quotes
        i = 0
        while i < len(line):
            ch = line[i]
            if quote == '"':
                if ch == "\\":
                    i += 1
                elif ch == '"':
                    quote = None
            elif quote == "'":
                if ch == "'" and line[i + 1:i + 2] == "'":
                    i += 1  # '' is an escaped quote
                elif ch == "'":
                    quote = None
            elif ch in "'\"" and prev in ("", ":", "-", "[", "{", ",", "?"):
                quote = ch
            elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
                out.append(line[i:].rstrip())
                break
            if quote is None and not ch.isspace():
                prev = ch
            i += 1
    return out


def pure_insertion(old: str, new: str) -> bool:
    """Whether `new` is `old` with text inserted (at one or more places) and nothing removed."""
    if len(new) < len(old):
        return False
    prefix = 0
    while prefix < len(old) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < len(old) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    if prefix + suffix == len(old):
        return True
    ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    return all(tag in ("equal", "insert") for tag, *_ in ops)


_ALIAS = re.compile(r"\*([^\s,\[\]{}]+)")


def alias_expansion(old: str, new: str, anchors: dict[str, object]) -> bool:
    """Whether `new` is `old` with one alias `*name` replaced by a flow copy of the anchored selector plus
    the all-clusters expression (the only safe way to change one use of a shared node)."""
    for match in _ALIAS.finditer(old):
        prefix, suffix = old[:match.start()], old[match.end():]
        if not (new.startswith(prefix) and new.endswith(suffix)) or match.group(1) not in anchors:
            continue
        middle = new[len(prefix):len(new) - len(suffix)]
        try:
            value = yaml.safe_load(middle)
        except yaml.YAMLError:
            continue
        target = plain(anchors[match.group(1)])
        if isinstance(target, dict):
            target = copy.deepcopy(target)
            target.setdefault("matchExpressions", [])
            if target["matchExpressions"] is None:
                target["matchExpressions"] = []
            target["matchExpressions"].append(dict(EXISTS))
            if plain(value) == target:
                return True
    return False


class _AnchorLoader(yaml.SafeLoader):
    """Remembers every anchored node (the composer forgets them after each document)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.anchored: dict[str, yaml.Node] = {}

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        anchor = None if isinstance(event, yaml.AliasEvent) else getattr(event, "anchor", None)
        node = super().compose_node(parent, index)  # type: ignore[arg-type]
        if anchor and node is not None:
            self.anchored[anchor] = node
        return node


def anchored_values(text: str) -> dict[str, object]:
    """Anchor name → loaded value (the last definition in the file wins)."""
    loader = _AnchorLoader(text)
    try:
        while loader.check_node():
            loader.get_node()
        return {name: loader.construct_object(node, deep=True) for name, node in loader.anchored.items()}
    finally:
        loader.dispose()


@dataclass
class LineReport:
    inserted: int = 0  # new lines that are not old lines
    extended: list[tuple[str, str]] = field(default_factory=list)  # (old, new): pure in-line insertion
    expanded: list[tuple[str, str]] = field(default_factory=list)  # (old, new): alias expanded in place
    changed: list[str] = field(default_factory=list)  # old lines replaced or deleted otherwise


def compare_lines(old_text: str, new_text: str) -> LineReport:
    old, new = old_text.splitlines(), new_text.splitlines()
    anchors: dict[str, object] | None = None
    report = LineReport()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "insert":
            report.inserted += j2 - j1
        elif tag == "delete":
            report.changed += old[i1:i2]
        elif tag == "replace":
            j = j1
            matched = 0
            for line in old[i1:i2]:
                for k in range(j, j2):
                    if pure_insertion(line, new[k]):
                        report.extended.append((line, new[k]))
                        break
                    if "*" in line:
                        anchors = anchors if anchors is not None else anchored_values(old_text)
                        if alias_expansion(line, new[k], anchors):
                            report.expanded.append((line, new[k]))
                            break
                else:
                    report.changed.append(line)
                    continue
                matched += 1
                j = k + 1
            report.inserted += (j2 - j1) - matched
    return report


def line_endings(data: bytes) -> Counter[str]:
    crlf = data.count(b"\r\n")
    return Counter({"crlf": crlf, "lf": data.count(b"\n") - crlf, "cr": data.count(b"\r") - crlf})


# ---------------------------------------------------------------------------------------------------------
# The run every test looks at: copy, scan, rewrite --write, then all the second passes.


@dataclass
class CorpusRun:
    root: Path
    decisions: Path
    roots: list[Path]
    before: dict[Path, bytes]
    scan_before: dict[str, Any]
    scan_before_exit: int
    rewrite: Result
    after: dict[Path, bytes]
    second_write: Result
    after_second: dict[Path, bytes]
    check: Result
    dry_run: Result
    scan_after: dict[str, Any]
    scan_after_exit: int
    inspect_before: Result
    inspect_after: Result

    def rel(self, shown: str) -> str:
        path = Path(shown)
        return (path.relative_to(self.root) if path.is_absolute() else path).as_posix()

    @property
    def changed(self) -> list[Path]:
        return [p for p, data in self.after.items() if self.before.get(p) != data]

    @property
    def refused(self) -> set[str]:
        """Files the rewrite left alone with an error (all-or-nothing per file)."""
        return {self.rel(line.split(":", 1)[0]) for line in self.rewrite.stderr.splitlines()
                if ": error: " in line}


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory) -> CorpusRun:
    root = tmp_path_factory.mktemp("corpus")
    roots = []
    for name in SETS:
        shutil.copytree(CORPUS / name, root / name)
        roots.append(root / name)
    decisions = root / "decisions.yaml"
    decisions.write_text(DECISIONS, encoding="utf-8")
    before = snapshot(root)
    exit_before, scan_before = scan_json(*roots, decisions=decisions)
    inspect_before = invoke("scan", "--format", "inspect-json", *map(str, roots))
    rewrite = invoke("rewrite", "--write", "--decisions", str(decisions), *map(str, roots))
    after = snapshot(root)
    second = invoke("rewrite", "--write", "--decisions", str(decisions), *map(str, roots))
    after_second = snapshot(root)
    check = invoke("rewrite", "--check", "--decisions", str(decisions), *map(str, roots))
    dry_run = invoke("rewrite", "--color", "never", "--decisions", str(decisions), *map(str, roots))
    exit_after, scan_after = scan_json(*roots, decisions=decisions)
    inspect_after = invoke("scan", "--format", "inspect-json", *map(str, roots))
    return CorpusRun(root, decisions, roots, before, scan_before, exit_before, rewrite, after, second,
                     after_second, check, dry_run, scan_after, exit_after, inspect_before, inspect_after)


def corpus_files(run: CorpusRun) -> list[Path]:
    return [p for p in run.before if p.suffix in SUFFIXES and p != run.decisions]


# ---------------------------------------------------------------------------------------------------------
# The tests.


def _expected_exit(data: dict[str, Any]) -> int:
    """The documented status: 2 on any error, else 1 while a counting finding is left, else 0."""
    if data["errors"]:
        return 2
    counting = [f for f in data["findings"]  # a decided selector does not count; any other finding does
                if f.get("severity", "warning") != "info"
                and (f["rule"] != IMPLICIT or f.get("decision") == "undecided")]
    return 1 if counting else 0


def test_no_crash_and_exit_codes(corpus_run: CorpusRun) -> None:
    assert corpus_run.scan_before_exit == _expected_exit(corpus_run.scan_before)
    assert corpus_run.scan_after_exit == _expected_exit(corpus_run.scan_after)
    assert corpus_run.rewrite.exit_code == (2 if corpus_run.refused else _expected_exit(corpus_run.scan_after))
    assert corpus_run.second_write.exit_code == corpus_run.rewrite.exit_code
    # Refusals are deliberate (all-or-nothing per file), never a read or parse failure.
    for line in corpus_run.rewrite.stderr.splitlines():
        if ": error: " in line:
            assert ": error: not rewritten: " in line, line
    # The shared corpus is untouched.
    for path, data in corpus_run.before.items():
        if path != corpus_run.decisions:
            assert (CORPUS / path.relative_to(corpus_run.root)).read_bytes() == data


def test_skips_and_errors_are_only_templates_or_unparseable(corpus_run: CorpusRun) -> None:
    data = corpus_run.scan_before
    for skipped in data["skipped"]:
        path = corpus_run.root / corpus_run.rel(skipped["file"])
        assert skipped["reason"] == TEMPLATE_REASON, skipped
        text = path.read_text(encoding="utf-8")
        assert "{{" in text or "{%" in text, skipped
    for error in data["errors"]:
        path = corpus_run.root / corpus_run.rel(error["file"])
        with pytest.raises(yaml.YAMLError):
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))


def test_scan_agrees_with_independent_oracle(corpus_run: CorpusRun) -> None:
    """Every implicit selector the facts sheet defines, and nothing else, in every file the tool reads."""
    data = corpus_run.scan_before
    not_read = {corpus_run.rel(s["file"]) for s in data["skipped"]} | {corpus_run.rel(e["file"])
                                                                       for e in data["errors"]}
    tool = {(corpus_run.rel(f["file"]), f["document"], f["path"]) for f in data["findings"] if f["rule"] == IMPLICIT}
    oracle: set[tuple[str, int, str]] = set()
    for path in corpus_files(corpus_run):
        rel = path.relative_to(corpus_run.root).as_posix()
        if rel in not_read:
            continue
        for index, doc in enumerate(yaml.safe_load_all(corpus_run.before[path].decode("utf-8"))):
            oracle |= {(rel, index, p) for _, p in oracle_implicit(doc)}
    assert sorted(tool - oracle) == [], "reported but not affected"
    assert sorted(oracle - tool) == [], "affected but not reported"
    assert all(f["decision"] == "all-clusters" for f in data["findings"] if f["rule"] == IMPLICIT)


# Checked by hand against cilium-facts.md §1 (file, path) → reported?
HAND_CHECKED = {
    # "reserved.world" (dotted) is an ordinary key: affected.
    ("cilium-examples/test/k8s/manifests/guestbook-policy-web.yaml", "spec.ingress[0].fromEndpoints[0]"): True,
    # k8s:io.cilium.k8s.policy.cluster In [cluster2] in matchExpressions: explicit.
    ("cilium-examples/examples/policies/kubernetes/clustermesh/cross-cluster-any-namespace-policy.yaml",
     "spec.egress[0].toEndpoints[0]"): False,
    # fromNodes is a peer.
    ("cilium-examples/test/k8s/manifests/cnp-from-nodes.yaml", "spec.ingress[0].fromNodes[0]"): True,
    # specs[i] rules.
    ("cilium-examples/test/k8s/manifests/cnp-specs.yaml", "specs[1].ingress[0].fromEndpoints[0]"): True,
    # "k8s:"-prefixed namespace/app keys name no cluster: affected; the In [green, blue] peer is explicit.
    ("wild/isovalent__cilium-up-and-running__chapter09__frontend-policy.yaml", "spec.egress[0].toEndpoints[0]"): True,
    ("wild/isovalent__cilium-up-and-running__chapter09__frontend-policy.yaml", "spec.egress[1].toEndpoints[0]"): False,
    # The subject endpointSelector naming a cluster does not make the peer explicit.
    ("wild/acend__cilium-basics-training__content__en__docs__09__03__cnp-cm.yaml", "spec.egress[0].toEndpoints[0]"):
        True,
    # NetworkPolicy peer with only a namespaceSelector: the cluster goes into a new podSelector.
    ("cilium-examples/test/k8s/manifests/netpol-namespace-selector.yaml", "spec.ingress[0].from[0]"): True,
    # NetworkPolicy peer with an Exists expression already: explicit; the DNS peer beside it is not.
    ("cilium-examples/cilium-cli/connectivity/builder/manifests/client-egress-to-echo-knp.yaml",
     "spec.egress[0].to[0]"): False,
    ("cilium-examples/cilium-cli/connectivity/builder/manifests/client-egress-to-echo-knp.yaml",
     "spec.egress[1].to[0]"): True,
    # fromRequires selectors are peers too (and the field is reported as removed).
    ("cilium-examples/examples/policies/l3/requires/requires.yaml", "specs[0].ingress[0].fromRequires[0]"): True,
}


def test_hand_checked_sample(corpus_run: CorpusRun) -> None:
    reported = {(corpus_run.rel(f["file"]), f["path"]) for f in corpus_run.scan_before["findings"]
                if f["rule"] == IMPLICIT}
    assert {key: key in reported for key in HAND_CHECKED} == HAND_CHECKED
    deny = [f for f in corpus_run.scan_before["findings"] if f["rule"] == IMPLICIT and f["deny"]]
    assert deny and all(".egressDeny[" in f["path"] or ".ingressDeny[" in f["path"] for f in deny)


def test_rewrite_keeps_every_original_line(corpus_run: CorpusRun) -> None:
    problems: dict[str, list[str]] = {}
    for path in corpus_run.changed:
        old = corpus_run.before[path].decode("utf-8")
        new = corpus_run.after[path].decode("utf-8")
        report = compare_lines(old, new)
        if report.changed:
            problems[path.relative_to(corpus_run.root).as_posix()] = report.changed
        assert old.endswith("\n") == new.endswith("\n"), f"final newline changed in {path.name}"
        assert line_endings(corpus_run.after[path])["crlf"] == 0
    assert problems == {}


def test_rewrite_keeps_every_comment(corpus_run: CorpusRun) -> None:
    lost: dict[str, list[str]] = {}
    for path in corpus_run.changed:
        old = Counter(comments(corpus_run.before[path].decode("utf-8")))
        new = Counter(comments(corpus_run.after[path].decode("utf-8")))
        if old - new:
            lost[path.name] = sorted((old - new).elements())
    assert lost == {}


def test_rewrite_means_old_data_plus_exists_expressions(corpus_run: CorpusRun) -> None:
    """Independent of the engine's own verification: PyYAML data of every changed file equals the old data
    with the all-clusters expression added at exactly the selectors the scan reported; no duplicate keys."""
    by_file: dict[str, dict[int, list[tuple[str, str]]]] = {}
    for f in corpus_run.scan_before["findings"]:
        if f["rule"] == IMPLICIT and f["fixable"]:  # fromRequires/toRequires peers are reported, not rewritten
            by_file.setdefault(corpus_run.rel(f["file"]), {}).setdefault(f["document"], []).append(
                (f["kind"], f["path"]))
    for path in corpus_files(corpus_run):
        rel = path.relative_to(corpus_run.root).as_posix()
        if path not in corpus_run.changed:
            assert rel not in by_file or rel in corpus_run.refused, f"{rel}: findings but not rewritten"
            continue
        new_text = corpus_run.after[path].decode("utf-8")
        assert duplicate_keys(new_text) == [], rel
        old_docs = list(yaml.safe_load_all(corpus_run.before[path].decode("utf-8")))
        new_docs = list(yaml.safe_load_all(new_text))
        assert len(old_docs) == len(new_docs), rel
        for index, (old, new) in enumerate(zip(old_docs, new_docs, strict=True)):
            assert plain(new) == expected_after(old, by_file.get(rel, {}).get(index, [])), f"{rel} doc {index}"


def test_rewrite_is_idempotent(corpus_run: CorpusRun) -> None:
    assert corpus_run.after_second == corpus_run.after, "a second rewrite --write changed files"
    assert "rewrote 0 files" in corpus_run.second_write.stderr
    # --check: nothing would change; only report-only findings keep the exit status at 1.
    assert "would rewrite 0 files (0 changes)" in corpus_run.check.stderr
    assert not re.search(r"^would rewrite (?!0 files)", corpus_run.check.stderr, re.M)
    left = corpus_run.scan_after["findings"]
    assert {f["rule"] for f in left if f["fixable"]} <= ({IMPLICIT} if corpus_run.refused else set())
    assert all(not f["fixable"] for f in left if f["rule"] != IMPLICIT)  # what is left can only be reported
    # Implicit selectors left unfixable are exactly those in fromRequires/toRequires (removed in 1.19).
    assert all("Requires[" in f["path"] for f in left if f["rule"] == IMPLICIT and not f["fixable"])
    counting = [f for f in left if f.get("severity", "warning") != "info"]
    assert corpus_run.check.exit_code == (1 if counting else 0)
    # A dry run on the rewritten tree prints no diff at all.
    assert corpus_run.dry_run.stdout == ""


def test_rescan_finds_no_implicit_selector_left(corpus_run: CorpusRun) -> None:
    left = [f for f in corpus_run.scan_after["findings"] if f["rule"] == IMPLICIT and f["fixable"]]
    not_refused = [f for f in left if corpus_run.rel(f["file"]) not in corpus_run.refused]
    assert not_refused == []
    def unfixable(findings: list[dict[str, Any]]) -> Counter[str]:
        return Counter(f["rule"] for f in findings if not (f["rule"] == IMPLICIT and f["fixable"]))

    before = unfixable(corpus_run.scan_before["findings"])
    after = unfixable(corpus_run.scan_after["findings"])
    assert after == before  # the report-only findings stay exactly as they were


INSPECT_KINDS = {"ciliumNetworkPolicies": "CiliumNetworkPolicy", "networkPolicies": "NetworkPolicy",
                 "ciliumClusterWideNetworkPolicies": "CiliumClusterwideNetworkPolicy"}


def check_inspect_shape(result: Result) -> dict[str, dict[str, bool]]:
    data: dict[str, dict[str, bool]] = json.loads(result.stdout)
    assert set(data) <= set(INSPECT_KINDS)
    assert all(data.values()), "empty maps must be omitted"
    assert result.stdout == json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    for group, verdicts in data.items():
        for key, affected in verdicts.items():
            assert isinstance(affected, bool)
            assert key.count("/") == 1, key
            if group == "ciliumClusterWideNetworkPolicies":
                assert key.startswith("/"), key
    return data


def test_inspect_json(corpus_run: CorpusRun) -> None:
    before = check_inspect_shape(corpus_run.inspect_before)
    assert set(before) == set(INSPECT_KINDS)  # the corpus has all three kinds
    affected = {(f["kind"], f"{f['namespace'] or ''}/{f['name']}") for f in corpus_run.scan_before["findings"]
                if f["rule"] == IMPLICIT}
    assert {(INSPECT_KINDS[g], k) for g, v in before.items() for k, a in v.items() if a} == affected
    after = check_inspect_shape(corpus_run.inspect_after)
    assert {g: set(v) for g, v in after.items()} == {g: set(v) for g, v in before.items()}
    still = {(INSPECT_KINDS[g], k) for g, v in after.items() for k, a in v.items() if a}
    refused = {(f["kind"], f"{f['namespace'] or ''}/{f['name']}") for f in corpus_run.scan_after["findings"]
               if f["rule"] == IMPLICIT}
    assert still == refused


# ---------------------------------------------------------------------------------------------------------
# Variants the corpus lacks: CRLF line endings, a UTF-8 BOM, JSON manifests.


def _variant_sources() -> list[Path]:
    found = [CORPUS / name for name in VARIANT_FILES if (CORPUS / name).is_file()]
    assert len(found) >= 5, "the variant files moved; update VARIANT_FILES"
    return found


def test_crlf_and_bom_variants(tmp_path: Path) -> None:
    """CRLF stays CRLF on every line (added ones too), a BOM stays, and the result is the LF rewrite's."""
    decisions = tmp_path / "decisions.yaml"
    decisions.write_text(DECISIONS, encoding="utf-8")
    variants: dict[str, tuple[bool, bool]] = {"lf": (False, False), "crlf": (True, False),
                                              "bom": (False, True), "bom-crlf": (True, True)}
    sources = _variant_sources()
    for name, (crlf, bom) in variants.items():
        folder = tmp_path / name
        folder.mkdir()
        for source in sources:
            data = source.read_bytes()
            if crlf:
                data = data.replace(b"\n", b"\r\n")
            if bom:
                data = b"\xef\xbb\xbf" + data
            (folder / source.name).write_bytes(data)
    before = snapshot(tmp_path)
    result = invoke("rewrite", "--write", "--decisions", str(decisions), *(str(tmp_path / n) for n in variants))
    assert result.exit_code in (0, 1), result.stderr
    after = snapshot(tmp_path)
    for source in sources:
        reference = after[tmp_path / "lf" / source.name]
        assert reference != before[tmp_path / "lf" / source.name], f"{source.name}: nothing rewritten"
        for name, (crlf, bom) in variants.items():
            path = tmp_path / name / source.name
            data = after[path]
            assert data.startswith(b"\xef\xbb\xbf") == bom, f"{name}/{source.name}: BOM changed"
            assert data.count(b"\xef\xbb\xbf") == int(bom), f"{name}/{source.name}: BOM duplicated"
            endings = line_endings(data)
            if crlf:
                assert endings["lf"] == 0 and endings["cr"] == 0, f"{name}/{source.name}: {endings}"
            else:
                assert endings["crlf"] == 0 and endings["cr"] == 0, f"{name}/{source.name}: {endings}"
            normal = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")
            assert normal == reference, f"{name}/{source.name} differs from the LF rewrite"
    again = invoke("rewrite", "--check", "--decisions", str(decisions), *(str(tmp_path / n) for n in variants))
    assert "would rewrite 0 files (0 changes)" in again.stderr


def _json_policies() -> list[tuple[str, object]]:
    """Policies from the variant files as plain data, one per entry."""
    out: list[tuple[str, object]] = []
    for source in _variant_sources():
        for index, doc in enumerate(yaml.safe_load_all(source.read_text(encoding="utf-8"))):
            if any(True for _ in _policies(doc, "")) and oracle_implicit(doc):
                out.append((f"{source.stem}-{index}", plain(doc)))
    return out


def test_json_variants(tmp_path: Path) -> None:
    """Pretty, compact and `kind: List` JSON manifests: still strict JSON after the rewrite, with exactly the
    intended change, and a second pass changes nothing."""
    decisions = tmp_path / "decisions.yaml"
    decisions.write_text(DECISIONS, encoding="utf-8")
    folder = tmp_path / "json"
    folder.mkdir()
    docs = _json_policies()
    assert len(docs) >= 5
    expected: dict[Path, object] = {}
    for name, doc in docs:
        changes = oracle_implicit(doc)
        for style, text in (("pretty", json.dumps(doc, indent=2) + "\n"),
                            ("compact", json.dumps(doc, separators=(",", ":"))),
                            ("tabs", json.dumps(doc, indent="\t") + "\n")):
            path = folder / f"{name}.{style}.json"
            path.write_text(text, encoding="utf-8")
            expected[path] = expected_after(doc, changes)
    listing = {"apiVersion": "v1", "kind": "List", "items": [doc for _, doc in docs]}
    path = folder / "all.list.json"
    path.write_text(json.dumps(listing, indent=2) + "\n", encoding="utf-8")
    expected[path] = expected_after(listing, oracle_implicit(listing))
    result = invoke("rewrite", "--write", "--decisions", str(decisions), str(folder))
    assert result.exit_code in (0, 1), result.stderr
    problems: dict[str, str] = {}
    for path, want in expected.items():
        text = path.read_text(encoding="utf-8")
        try:
            got = json.loads(text)
        except json.JSONDecodeError as exc:
            problems[path.name] = f"not JSON any more: {exc}"
            continue
        if got != want:
            problems[path.name] = "wrong data"
    assert problems == {}, result.stderr
    again = invoke("rewrite", "--check", "--decisions", str(decisions), str(folder))
    assert "would rewrite 0 files (0 changes)" in again.stderr


# ---------------------------------------------------------------------------------------------------------
# The figures for the closing note (pytest -s).


def test_summary(corpus_run: CorpusRun) -> None:
    run = corpus_run
    files = corpus_files(run)
    data = run.scan_before
    not_read = {run.rel(s["file"]): s["reason"] for s in data["skipped"]}
    not_read |= {run.rel(e["file"]): e["reason"] for e in data["errors"]}
    holding = 0
    for path in files:
        rel = path.relative_to(run.root).as_posix()
        if rel in not_read or b"NetworkPolicy" not in run.before[path]:
            continue
        docs = list(yaml.safe_load_all(run.before[path].decode("utf-8")))
        holding += any(True for doc in docs for _ in _policies(doc, ""))
    rules = Counter(f["rule"] for f in data["findings"])
    implicit = [f for f in data["findings"] if f["rule"] == IMPLICIT]
    reports = {p: compare_lines(run.before[p].decode("utf-8"), run.after[p].decode("utf-8")) for p in run.changed}
    lost = sum(sum((Counter(comments(run.before[p].decode("utf-8")))
                    - Counter(comments(run.after[p].decode("utf-8")))).values()) for p in run.changed)
    refused = [f for f in run.scan_after["findings"] if f["rule"] == IMPLICIT and f["fixable"]]
    by_design = [f for f in run.scan_after["findings"] if f["rule"] == IMPLICIT and not f["fixable"]]
    replaced = sum(len(r.extended) + len(r.expanded) + len(r.changed) for r in reports.values())
    lines = [
        "",
        "=== cilium-codemod over corpus/wild + corpus/cilium-examples ===",
        f"files in corpus (yaml/yml/json): {len(files)} "
        f"({', '.join(f'{s}: {sum(1 for p in files if p.relative_to(run.root).parts[0] == s)}' for s in SETS)})",
        f"files read that hold policies:   {holding}",
        f"implicit selectors found:        {len(implicit)} in {len({f['file'] for f in implicit})} files "
        f"({Counter(f['kind'] for f in implicit)}; deny: {sum(1 for f in implicit if f.get('deny'))})",
        f"other findings per rule:         {dict(sorted((r, n) for r, n in rules.items() if r != IMPLICIT))}",
        f"files changed:                   {len(run.changed)}",
        f"lines inserted:                  {sum(r.inserted for r in reports.values())}",
        f"lines extended in place (flow):  {sum(len(r.extended) for r in reports.values())}",
        f"aliases expanded in place:       {sum(len(r.expanded) for r in reports.values())}",
        f"old lines replaced/deleted (all): {replaced}",
        f"lines changed outside insertions: {sum(len(r.changed) for r in reports.values())}",
        f"comments lost:                   {lost}",
        f"implicit selectors refused:      {len(refused)}",
        *(f"  refused: {run.rel(f['file'])}:{f['line']} {f['path']}" for f in refused),
        f"left as reported (fromRequires/toRequires, removed in 1.19): {len(by_design)}",
        *(f"  left: {run.rel(f['file'])}:{f['line']} {f['path']}" for f in by_design),
        f"skipped / errors:                {len(data['skipped'])} / {len(data['errors'])}",
        *(f"  {reason}: {name}" for name, reason in sorted(not_read.items())),
        *(f"  rewrite error: {line}" for line in run.rewrite.stderr.splitlines() if ": error: " in line),
    ]
    print("\n".join(lines))
