"""`--format sarif`: one SARIF 2.1.0 log for code-scanning UIs (GitHub code scanning, the VS Code SARIF viewer).

One run: the tool with every loaded rule's metadata, one result per finding (level as in `--format github`),
files that could not be read or parsed as tool-execution notifications, and, where the run computed a rewrite
(`FileResult.new_text`, as `rewrite` does), that file's change as a `fix` on each finding the rewrite fixes.

Paths are the ones shown everywhere else: relative to the working folder (under `%SRCROOT%`), or absolute
`file://` URIs for files outside it. Regions are line/column, in Unicode code points (`columnKind`).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import Counter
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from codemod import __version__
from codemod.engine import FileResult, Run
from codemod.render.json import finding_data
from codemod.rule import Finding, Rule, load_rules
from codemod.sources import FileError, Skipped

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "cilium-codemod"
INFORMATION_URI = "https://github.com/cilium-codemod/cilium-codemod"
SRCROOT = "%SRCROOT%"
# The partialFingerprints key: bump the suffix only if what is hashed changes (that re-opens every alert once).
FINGERPRINT_KEY = "ciliumCodemod/v1"
TAGS = ["cilium", "clustermesh", "security"]

_FILE_ERROR, _FILE_SKIPPED = "file-error", "file-skipped"
_NOTIFICATIONS = [
    {"id": _FILE_ERROR, "name": "FileError",
     "shortDescription": {"text": "a file could not be read, parsed or safely rewritten; it is left untouched"},
     "defaultConfiguration": {"level": "error"}},
    {"id": _FILE_SKIPPED, "name": "FileSkipped",
     "shortDescription": {"text": "a file was skipped (a template, a symbolic link, not a regular file)"},
     "defaultConfiguration": {"level": "note"}},
]


def _md(text: str) -> str:
    return " ".join(text.split())


# Rule metadata beyond the interface (id, summary, fixable, needs_decision): what the finding means and how to
# fix it, as plain text and markdown, and how sure the rule is. Plugin rules get a description built from theirs.
_HELP: dict[str, tuple[str, str, str]] = {
    "implicit-cluster-selector": (
        "very-high",
        "A peer selector (fromEndpoints, toEndpoints, fromNodes, toNodes, fromRequires, toRequires, or a "
        "NetworkPolicy podSelector/namespaceSelector peer) that names no cluster. Cilium 1.19 defaults such "
        "selectors to the local cluster only, so in a ClusterMesh they stop matching remote clusters: allow rules "
        "lose remote peers, and deny rules silently stop denying remote clusters.",
        _md("""Decide, per selector, which clusters it is meant to match, in the decision file
            (`cilium-codemod decisions`), then run `cilium-codemod rewrite --decisions FILE --write`.
            `all-clusters` adds `{key: io.cilium.k8s.policy.cluster, operator: Exists}` to `matchExpressions`;
            `clusters` adds the named cluster(s) as a label or an `In` expression; `local` keeps the 1.19
            behaviour and changes nothing. An undecided selector of a deny rule is reported as an error: it no
            longer denies remote clusters on 1.19."""),
    ),
    "invalid-cluster-wildcard": (
        "very-high",
        'A cluster label whose value holds "*" (io.cilium.k8s.policy.cluster: "*"). Label values have no '
        "wildcard: the API server rejects the policy.",
        _md("""`cilium-codemod rewrite --write` repairs it into the all-clusters form, an
            `{key: io.cilium.k8s.policy.cluster, operator: Exists}` expression on the same key (prefix kept);
            no decision is needed."""),
    ),
    "requires-removed": (
        "very-high",
        "fromRequires/toRequires are removed in Cilium 1.19 (the CRD allows no items), so the API server "
        "rejects the policy.",
        _md("""Fix by hand: move each requirement into every peer selector of the rule (as `matchLabels` or
            `matchExpressions`), then delete `fromRequires`/`toRequires`. Their peers are also reported as
            implicit cluster selectors but never rewritten."""),
    ),
    "to-services-local": (
        "high",
        "A toServices peer with a pod selector becomes a generated toEndpoints peer at runtime, which on "
        "Cilium 1.19 matches only the local cluster; no label on the service can change that.",
        _md("""Fix by hand: replace the `toServices` peer with a `toEndpoints` peer selecting the service's
            pods, naming the cluster(s) explicitly (for all clusters:
            `{key: io.cilium.k8s.policy.cluster, operator: Exists}`)."""),
    ),
    "ipblock-peer": (
        "medium",
        "A NetworkPolicy ingress peer made of an ipBlock only. It cannot carry a cluster selector, and Cilium "
        "1.18/1.19-era agents also admit same-namespace local pods through it. Informational: it never holds "
        "the exit status at 1.",
        _md("""Review by hand whether admitting the policy's own-namespace local pods through the ipBlock is
            acceptable; nothing in the file can change it, so it is never rewritten."""),
    ),
}
_NOTE_RULES = {"ipblock-peer"}  # informational: findings of severity "info"


def report(run: Run, with_decision: bool, rules: list[Rule] | None = None) -> str:
    """The SARIF log as JSON text; `rules` defaults to every loaded rule (built-in and plugins)."""
    return json.dumps(sarif_log(run, with_decision, rules), indent=2, ensure_ascii=False) + "\n"


def sarif_log(run: Run, with_decision: bool, rules: list[Rule] | None = None) -> dict[str, Any]:
    rule_list = list(rules) if rules is not None else load_rules()
    index = {rule.id: i for i, rule in enumerate(rule_list)}
    driver: dict[str, Any] = {
        "name": TOOL_NAME, "version": __version__, "semanticVersion": __version__,
        "informationUri": INFORMATION_URI,
        "rules": [rule_descriptor(rule) for rule in rule_list],
        "notifications": _NOTIFICATIONS,
    }
    for f in run.findings:  # a finding of a rule not in the list (should not happen): still described
        if f.rule not in index:
            index[f.rule] = len(driver["rules"])
            driver["rules"].append(_fallback_descriptor(f.rule))
    results: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()
    for file_result in run.files:
        change = file_fix(file_result)
        fixed = sum(1 for f in file_result.findings if f.fix)
        for f in file_result.findings:
            fingerprint = _fingerprint(f)
            seen[fingerprint] += 1
            fix = {"description": {"text": _fix_description(f, fixed)}, **change} if change and f.fix else None
            results.append(result(f, index[f.rule], with_decision, f"{fingerprint}:{seen[fingerprint]}", fix))
    notifications = [_error_notification(e) for e in run.errors] + [_skip_notification(s) for s in run.skipped]
    invocation: dict[str, Any] = {"executionSuccessful": not run.errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    sarif_run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "defaultEncoding": "utf-8",
        "results": results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [sarif_run]}


def pascal_case(rule_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in rule_id.replace("_", "-").split("-") if part)


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    precision, description, fix_text = _HELP.get(rule.id) or _plugin_help(rule)
    help_text = f"{description}\n\nHow to fix: {fix_text}"
    help_markdown = f"**{rule.summary}**\n\n{description}\n\n**How to fix:** {fix_text}"
    return {
        "id": rule.id,
        "name": pascal_case(rule.id),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": description},
        "help": {"text": help_text.replace("`", ""), "markdown": help_markdown},
        "defaultConfiguration": {"level": "note" if rule.id in _NOTE_RULES else "warning"},
        "properties": {
            "tags": list(TAGS), "precision": precision,
            "fixable": bool(rule.fixable), "needsDecision": bool(rule.needs_decision),
        },
    }


def _plugin_help(rule: Rule) -> tuple[str, str, str]:
    if rule.fixable and rule.needs_decision:
        how = "record a decision in the decision file, then run `cilium-codemod rewrite --decisions FILE --write`."
    elif rule.fixable:
        how = "run `cilium-codemod rewrite --write`."
    else:
        how = "by hand; the tool reports it but does not rewrite it."
    return "high", rule.summary[:1].upper() + rule.summary[1:] + ".", how


def _fallback_descriptor(rule_id: str) -> dict[str, Any]:
    return {"id": rule_id, "name": pascal_case(rule_id), "shortDescription": {"text": rule_id},
            "defaultConfiguration": {"level": "warning"}, "properties": {"tags": list(TAGS)}}


def level(f: Finding) -> str:
    """As `--format github`: open findings warn, an undecided deny peer is an error (it silently stops denying
    remote clusters), decided and informational ones are notes."""
    if not f.left_open(fixing=False):
        return "note"
    return "error" if f.deny and f.undecided else "warning"


def policy_name(f: Finding) -> str:
    """`kind/namespace/name`, or `kind/name` without a namespace (clusterwide, or none in git)."""
    return f"{f.kind}/{f.namespace}/{f.name}" if f.namespace else f"{f.kind}/{f.name}"


def message(f: Finding, with_decision: bool) -> str:
    text = f"{f.policy} {f.path}: {f.message}"
    if with_decision and f.decision is not None:
        text += f" [decision: {f.decision.label}" + (f" ({f.decision.reason})" if f.decision.reason else "") + "]"
    return text


def artifact_location(file: str) -> dict[str, Any]:
    """The file as shown: a relative path under %SRCROOT% (percent-encoded), or a file URI when absolute."""
    windows = PureWindowsPath(file)
    if windows.drive and windows.is_absolute():
        return {"uri": windows.as_uri()}
    path = PurePosixPath(file)
    if path.is_absolute():
        return {"uri": path.as_uri()}
    return {"uri": quote(path.as_posix(), safe="/"), "uriBaseId": SRCROOT}


def _physical(file: str, line: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": artifact_location(file)}
    if line:
        physical["region"] = {"startLine": line}
    return physical


def _fingerprint(f: Finding) -> str:
    """Stable across runs while the finding stays put: rule, file, policy and selector path, never the line."""
    digest = hashlib.sha256()
    for part in (f.rule, f.file, policy_name(f), f.path):
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()


def result(f: Finding, rule_index: int, with_decision: bool, fingerprint: str,
           fix: dict[str, Any] | None) -> dict[str, Any]:
    policy = policy_name(f)
    # the same fields as --format json, less those SARIF already says in its own terms
    properties = {k: v for k, v in finding_data(f, with_decision).items()
                  if k not in ("rule", "file", "line", "message")}
    data: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f),
        "message": {"text": message(f, with_decision)},
        "locations": [{
            "physicalLocation": _physical(f.file, f.line),
            "logicalLocations": [
                {"name": f.name, "fullyQualifiedName": policy, "kind": "resource"},
                {"name": f.path, "fullyQualifiedName": f"{policy}:{f.path}", "kind": "object"},
            ],
        }],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        "properties": properties,
    }
    if fix is not None:
        data["fixes"] = [fix]
    return data


def _fix_description(f: Finding, fixed: int) -> str:
    """What this finding's rewrite does (as the dry-run diff explains it); the change is the file's whole
    rewrite, so it says when that also carries the fixes of other findings."""
    if f.decision is not None:
        what = f.decision.label + (f" ({f.decision.reason})" if f.decision.reason else "")
    else:
        what = f.message
    text = f"{f.policy} {f.path}: {what}"
    if fixed > 1:
        text += f" (applies all {fixed} fixes in {f.file} at once)"
    return text


def _lines(text: str) -> list[str]:
    """Lines with their newline, split on SARIF's default newline sequences (\\r\\n and \\n) only."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def file_fix(file_result: FileResult) -> dict[str, Any] | None:
    """The file's computed rewrite as one artifact change: a replacement per changed run of lines (a diff
    hunk without context), regions in the original text. None when the run computed no change."""
    if not file_result.changed:
        return None
    assert file_result.source is not None and file_result.new_text is not None
    old, new = _lines(file_result.source.text), _lines(file_result.new_text)
    replacements: list[dict[str, Any]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        replacement: dict[str, Any] = {"deletedRegion": _line_region(old, i1, i2)}
        if j2 > j1:
            replacement["insertedContent"] = {"text": "".join(new[j1:j2])}
        replacements.append(replacement)
    if not replacements:
        return None
    return {"artifactChanges": [{"artifactLocation": artifact_location(file_result.display),
                                 "replacements": replacements}]}


def _line_region(lines: list[str], start: int, end: int) -> dict[str, Any]:
    """Lines [start, end) (0-based) with their newlines; start == end is an insertion point before line
    `start`. A position past the last line is the end of the file: one past the last line's last character,
    its newline included (SARIF 2.1.0, 3.30.2)."""
    start_line, start_column = _position(lines, start)
    end_line, end_column = _position(lines, end)
    return {"startLine": start_line, "startColumn": start_column, "endLine": end_line, "endColumn": end_column}


def _position(lines: list[str], index: int) -> tuple[int, int]:
    if index < len(lines):
        return index + 1, 1
    if not lines:
        return 1, 1
    return len(lines), len(lines[-1]) + 1


def _error_notification(e: FileError) -> dict[str, Any]:
    return {
        "level": "error",
        "message": {"text": f"{e.file}:{e.line}: {e.message}" if e.line else f"{e.file}: {e.message}"},
        "locations": [{"physicalLocation": _physical(e.file, e.line)}],
        "descriptor": {"id": _FILE_ERROR, "index": 0},
    }


def _skip_notification(s: Skipped) -> dict[str, Any]:
    return {
        "level": "note",
        "message": {"text": f"{s.file}: skipped: {s.reason}"},
        "locations": [{"physicalLocation": _physical(s.file, None)}],
        "descriptor": {"id": _FILE_SKIPPED, "index": 1},
    }
