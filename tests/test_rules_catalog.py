"""The rule catalogue: `rules`, `explain`, `--select` / `--ignore` / `--target-version` on every command, and
a third-party rule installed as a package (a dist-info with an entry point, as pip lays it out)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codemod.rule import describe, load_rules
from tests.conftest import EXAMPLES, ROOT, invoke

BUILTIN_IDS = ["implicit-cluster-selector", "invalid-cluster-wildcard", "requires-removed", "to-services-local",
               "ipblock-peer", "kafka-l7-deprecated", "bgp-v1-removed", "lb-ippool-v2alpha1",
               "strict-mode-egress-keys", "helm-renamed-keys", "helm-removed-keys", "mesh-auth-default",
               "policy-default-local-cluster"]


def test_every_builtin_rule_describes_itself() -> None:
    infos = [describe(r) for r in load_rules()]
    assert [i.id for i in infos][:len(BUILTIN_IDS)] == BUILTIN_IDS
    for info in infos[:len(BUILTIN_IDS)]:
        assert info.severity in ("error", "warning", "info")
        assert info.versions and set(info.versions) <= {"1.19", "1.20"}
        assert len(info.explanation) > len(info.summary) and info.before.strip() and info.after.strip()


def test_rules_lists_id_severity_action_versions_and_summary() -> None:
    result = invoke("rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["RULE", "SEVERITY", "ACTION", "CILIUM", "SUMMARY"]
    assert lines[1].split()[:4] == ["implicit-cluster-selector", "warning", "rewrites", "(decision)"]
    assert any(x.split()[:4] == ["requires-removed", "error", "reports", "1.19,1.20"] for x in lines)
    data = json.loads(invoke("rules", "--format", "json").stdout)
    assert [d["id"] for d in data][:len(BUILTIN_IDS)] == BUILTIN_IDS
    assert data[0] == {"id": "implicit-cluster-selector", "summary": data[0]["summary"], "severity": "warning",
                       "rewrites": True, "needs_decision": True, "versions": ["1.19", "1.20"],
                       "kinds": ["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy"],
                       "origin": "built-in"}


def test_target_version_picks_the_set() -> None:
    only_119 = json.loads(invoke("rules", "--format", "json", "--target-version", "1.19").stdout)
    only_120 = json.loads(invoke("rules", "--format", "json", "--target-version", "1.20").stdout)
    assert "ipblock-peer" in [d["id"] for d in only_119]
    assert "ipblock-peer" not in [d["id"] for d in only_120]


def test_explain_prints_the_long_form_with_an_example() -> None:
    result = invoke("explain", "invalid-cluster-wildcard")
    assert result.exit_code == 0
    assert result.stdout.startswith('invalid-cluster-wildcard: a "*" cluster label value is invalid')
    assert "severity: error; rewrites; Cilium 1.19, 1.20" in result.stdout
    assert "Before:\n    fromEndpoints:\n" in result.stdout and "After:\n" in result.stdout
    assert '      io.cilium.k8s.policy.cluster: "*"' in result.stdout
    unknown = invoke("explain", "no-such-rule")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: unknown rule no-such-rule (known: ")


@pytest.mark.parametrize(("options", "rules"), [
    ((), {"implicit-cluster-selector", "to-services-local", "ipblock-peer"}),
    (("--select", "to-services-local"), {"to-services-local"}),
    (("--select", "to-services-local,ipblock-peer"), {"to-services-local", "ipblock-peer"}),
    (("--select", "to-services-local", "--select", "ipblock-peer"), {"to-services-local", "ipblock-peer"}),
    (("--ignore", "implicit-cluster-selector"), {"to-services-local", "ipblock-peer"}),
    (("--target-version", "1.20"), {"implicit-cluster-selector", "to-services-local"}),
])
def test_select_ignore_and_target_on_scan(options: tuple[str, ...], rules: set[str]) -> None:
    result = invoke("scan", str(EXAMPLES), "--format", "json", *options)
    assert {f["rule"] for f in json.loads(result.stdout)["findings"]} == rules


@pytest.mark.parametrize("command", [
    ("scan", str(EXAMPLES)), ("rewrite", str(EXAMPLES)), ("decisions", "init", str(EXAMPLES)),
    ("hook", "check", str(EXAMPLES / "base/shop/checkout.yaml")),
    ("hook", "fix", str(EXAMPLES / "base/shop/checkout.yaml")),
])
def test_every_rule_command_takes_the_options_and_refuses_unknown_rules(command: tuple[str, ...]) -> None:
    result = invoke(*command, "--select", "no-such-rule")
    assert result.exit_code == 2
    assert "unknown rule no-such-rule (known: " in result.stderr
    ignored = invoke(*command, "--ignore", "implicit-cluster-selector,to-services-local,ipblock-peer")
    assert ignored.exit_code == 0, ignored.output


def test_rewrite_with_only_one_rule_changes_only_what_it_fixes(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("""\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: a}
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints:
        - matchLabels: {app: web, io.cilium.k8s.policy.cluster: "*"}
    - fromEndpoints:
        - matchLabels: {app: api}
""")
    (tmp_path / "d.yaml").write_text("version: 1\ndefault: all-clusters\n")
    both = invoke("rewrite", str(tmp_path / "p.yaml"), "--decisions", str(tmp_path / "d.yaml"))
    only = invoke("rewrite", str(tmp_path / "p.yaml"), "--decisions", str(tmp_path / "d.yaml"),
                  "--select", "invalid-cluster-wildcard")
    def added(out: str) -> int:
        return sum(1 for x in out.splitlines() if x.startswith("+") and "operator: Exists" in x)

    assert added(both.stdout) == 2
    assert added(only.stdout) == 1 and "implicit-cluster-selector" not in only.stdout


# ---------------------------------------------------------------- a third-party rule, installed


def install_example_plugin(site: Path) -> None:
    """Lay out examples/plugin as an installed distribution: the package, and a dist-info whose
    entry_points.txt registers the rule (what `pip install examples/plugin` writes)."""
    plugin = ROOT / "examples" / "plugin"
    shutil.copytree(plugin / "cilium_codemod_example", site / "cilium_codemod_example")
    info = site / "cilium_codemod_example_rule-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cilium-codemod-example-rule\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[cilium_codemod.rules]\npolicy-description = cilium_codemod_example:PolicyDescription\n")


def run_cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "codemod", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=False)


def test_a_third_party_rule_package_is_listed_explained_and_run(tmp_path: Path) -> None:
    install_example_plugin(tmp_path)
    listed = run_cli(tmp_path, "rules")
    assert listed.returncode == 0, listed.stderr
    row = next(x for x in listed.stdout.splitlines() if x.startswith("policy-description"))
    assert row.split()[:4] == ["policy-description", "info", "reports", "1.19,1.20"]
    assert row.endswith("a Cilium policy rule without a description [cilium-codemod-example-rule]")
    explained = run_cli(tmp_path, "explain", "policy-description")
    assert "from cilium-codemod-example-rule" in explained.stdout and "Before:" in explained.stdout
    scanned = run_cli(tmp_path, "scan", "examples/gitops", "--select", "policy-description", "--format", "json")
    found = json.loads(scanned.stdout)["findings"]
    assert {f["rule"] for f in found} == {"policy-description"}
    assert {(f["file"], f["path"]) for f in found} >= {("examples/gitops/base/shop/checkout.yaml", "spec"),
                                                       ("examples/gitops/base/shop/payments.yaml", "spec")}
    assert all(f["severity"] == "info" for f in found)
    assert scanned.returncode == 0  # info findings never hold the exit status at 1
    ignored = run_cli(tmp_path, "scan", "examples/gitops", "--ignore", "policy-description", "--format", "json")
    assert "policy-description" not in {f["rule"] for f in json.loads(ignored.stdout)["findings"]}


def test_selection_edge_cases(tmp_path: Path) -> None:
    spaced = invoke("scan", str(EXAMPLES), "--format", "json", "--select", "to-services-local, ipblock-peer")
    assert {f["rule"] for f in json.loads(spaced.stdout)["findings"]} == {"to-services-local", "ipblock-peer"}
    nothing = invoke("scan", str(EXAMPLES), "--select", "ipblock-peer", "--ignore", "ipblock-peer")
    assert nothing.exit_code == 2 and "no rule left to run" in nothing.stderr
    needs = invoke("rewrite", str(EXAMPLES), "--select", "implicit-cluster-selector")
    assert needs.exit_code == 2 and "give --decisions" in needs.stderr


def test_a_broken_or_clashing_plugin_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    info = tmp_path / "broken_rules-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-rules\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[cilium_codemod.rules]\nbroken = no_such_module:Rule\n"
                                           "again = rules.ipblock_peer:IpBlockPeer\n")
    result = run_cli(tmp_path, "scan", "examples/gitops", "--select", "ipblock-peer")
    assert result.returncode == 0, result.stderr
    assert "warning: rule plugin broken (broken-rules) cannot be loaded: ModuleNotFoundError" in result.stderr
    assert "warning: rule plugin again (broken-rules) reuses the id ipblock-peer; it is not loaded" in result.stderr


def test_plugin_versions_may_be_one_string() -> None:
    class One:
        id, summary, fixable, needs_decision, versions = "one", "s", False, False, "1.20"

        def check(self, policy: object, context: object) -> list[object]:
            return []

    assert describe(One()).versions == ("1.20",)  # type: ignore[arg-type]
