"""Team-workflow outputs: the decision-file schema and validator, GitHub annotations, the patch file."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from tests.conftest import EXAMPLES, invoke, write_files

pytestmark = pytest.mark.usefixtures("in_tmp")

DECISIONS = EXAMPLES / "cilium-codemod.decisions.yaml"
POLICY = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints: [{matchLabels: {app: lb}}]
  ingressDeny:
    - fromEndpoints: [{matchLabels: {app: bad}}]
"""


def test_schema_is_printed_and_validates_the_example_decision_file() -> None:
    result = invoke("decisions", "schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator(schema).validate(YAML(typ="safe").load(DECISIONS.read_text()))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate({"version": 1, "default": "everywhere"})


def test_validate_accepts_a_good_file() -> None:
    result = invoke("decisions", "validate", str(DECISIONS))
    assert result.exit_code == 0
    assert result.stdout == f"{DECISIONS}: valid (8 decisions, default undecided)\n"


def test_validate_rejects_a_bad_file_with_file_line_and_field(in_tmp: Path) -> None:
    write_files(in_tmp, {"d.yaml": "version: 1\ndecisions:\n  - action: clusters\n    clusters: ['*']\n"})
    result = invoke("decisions", "validate", "d.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: d.yaml:4: decisions[0].clusters[0]: ")
    assert result.stderr.count("\n") == 1


def test_github_annotations(in_tmp: Path) -> None:
    write_files(in_tmp, {"p.yaml": POLICY, "d.yaml": "version: 1\ndecisions:\n  - {match: {deny: false}, "
                                                       "action: all-clusters, reason: 'lb: everywhere'}\n"})
    result = invoke("scan", "--format", "github", "--decisions", "d.yaml", "p.yaml")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "::notice file=p.yaml,line=7,title=implicit-cluster-selector [all-clusters]::shop/web "
        "spec.ingress[0].fromEndpoints[0]: fromEndpoints peer matches only the local cluster on Cilium 1.19 "
        "(names no cluster)",
        "::error file=p.yaml,line=9,title=implicit-cluster-selector [undecided]::shop/web "
        "spec.ingressDeny[0].fromEndpoints[0]: fromEndpoints peer of a deny rule stops denying remote clusters "
        "on Cilium 1.19 (names no cluster)",
    ]


def test_github_annotations_escape_and_report_errors(in_tmp: Path) -> None:
    write_files(in_tmp, {"a,b:c.yaml": POLICY.replace("ingressDeny", "egress").replace("fromEndpoints: [{"
                                                                                      "matchLabels: {app: bad}}]",
                                                                                      "toEndpoints: [{}]"),
                         "broken.yaml": "kind: NetworkPolicy\nspec: [\n"})
    result = invoke("scan", "--format", "github", ".")
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0].startswith("::warning file=a%2Cb%3Ac.yaml,line=7,title=implicit-cluster-selector::")
    assert lines[-1].startswith("::error file=broken.yaml,line=3,title=cilium-codemod::cannot parse: ")


def test_patch_file_holds_the_dry_run_diff_and_applies(in_tmp: Path) -> None:
    write_files(in_tmp, {"p.yaml": POLICY, "d.yaml": "version: 1\ndefault: all-clusters\n"})
    result = invoke("rewrite", "p.yaml", "--decisions", "d.yaml", "--patch", "out.patch")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "wrote the diff of 1 file to out.patch" in result.stderr
    patch = Path("out.patch").read_text(encoding="utf-8")
    assert patch == invoke("rewrite", "p.yaml", "--decisions", "d.yaml", "--color", "never").stdout
    assert "\x1b[" not in patch
    assert Path("p.yaml").read_text(encoding="utf-8") == POLICY  # a dry run: nothing written
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(["git", "apply", "out.patch"], check=True)
    assert "operator: Exists" in Path("p.yaml").read_text(encoding="utf-8")


def test_patch_does_not_go_with_write(in_tmp: Path) -> None:
    write_files(in_tmp, {"p.yaml": POLICY, "d.yaml": "version: 1\ndefault: all-clusters\n"})
    result = invoke("rewrite", "p.yaml", "--decisions", "d.yaml", "--patch", "out.patch", "--write")
    assert result.exit_code == 2
    assert "--patch" in result.stderr
    assert Path("p.yaml").read_text(encoding="utf-8") == POLICY


def test_markdown_report_for_a_pull_request(in_tmp: Path) -> None:
    decisions = "version: 1\ndecisions:\n  - {match: {deny: false}, action: local, reason: 'lb | local'}\n"
    write_files(in_tmp, {"p.yaml": POLICY, "d.yaml": decisions})
    result = invoke("scan", "--format", "markdown", "--decisions", "d.yaml", "p.yaml")
    assert result.exit_code == 1
    assert result.stdout == (
        "## Cilium 1.19 local-cluster migration\n\n"
        "**2** selectors in **1** policy (1 file) rely on the implicit cluster default: 1 local, 1 undecided.\n\n"
        "> [!WARNING]\n"
        "> 1 deny peer: an implicit deny peer silently stops denying remote clusters on Cilium 1.19; "
        "`all-clusters` keeps the 1.18 behaviour.\n>\n"
        "> - `shop/web` `spec.ingressDeny[0].fromEndpoints[0]`: **undecided** (p.yaml:9)\n\n"
        "### Namespace `shop`\n\n"
        "| Policy | Selector | Action | Reason |\n|---|---|---|---|\n"
        "| `web` (CiliumNetworkPolicy) | `spec.ingress[0].fromEndpoints[0]`<br>p.yaml:7 | local | lb \\| local |\n"
        "| `web` (CiliumNetworkPolicy) | `spec.ingressDeny[0].fromEndpoints[0]` (deny)<br>p.yaml:9 | undecided |  |\n"
        "\n### Still to decide\n\n"
        "- [ ] `shop/web` `spec.ingressDeny[0].fromEndpoints[0]` (deny) — p.yaml:9\n")


def test_markdown_rewrite_folds_the_diff(in_tmp: Path) -> None:
    write_files(in_tmp, {"p.yaml": POLICY, "d.yaml": "version: 1\ndefault: all-clusters\n"})
    dry = invoke("rewrite", "--format", "markdown", "--decisions", "d.yaml", "p.yaml")
    assert dry.exit_code == 0
    assert "<details><summary>Proposed diff (1 file)</summary>\n\n```diff\n# p.yaml\n" in dry.stdout
    assert dry.stdout.endswith("```\n\n</details>\n")
    assert Path("p.yaml").read_text(encoding="utf-8") == POLICY
    written = invoke("rewrite", "--format", "markdown", "--write", "--decisions", "d.yaml", "p.yaml")
    assert written.exit_code == 0
    assert "<details><summary>Applied diff (1 file)</summary>" in written.stdout
    assert written.stdout.split("```diff\n")[1] == dry.stdout.split("```diff\n")[1]
    assert Path("p.yaml").read_text(encoding="utf-8") != POLICY


def _stderr_on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run the CLI with stderr on a pseudo-terminal and return what it wrote there."""

    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "codemod", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_only_and_never_under_pre_commit(in_tmp: Path) -> None:
    write_files(in_tmp, {f"many/p{i}.yaml": POLICY for i in range(220)})
    env = {k: v for k, v in os.environ.items() if k != "PRE_COMMIT"}
    shown = _stderr_on_a_terminal(["scan", "many"], in_tmp, env)
    assert "cilium-codemod" in shown and "220/220" in shown
    assert "220/220" not in _stderr_on_a_terminal(["scan", "many"], in_tmp, {**env, "PRE_COMMIT": "1"})
    piped = subprocess.run([sys.executable, "-m", "codemod", "scan", "many"], cwd=in_tmp, capture_output=True,
                           text=True, env=env)
    assert "220/220" not in piped.stderr


def test_rewrite_sarif_carries_fixes(in_tmp: Path) -> None:
    write_files(in_tmp, {"p.yaml": POLICY, "d.yaml": "version: 1\ndefault: all-clusters\n"})
    result = invoke("rewrite", "--format", "sarif", "--decisions", "d.yaml", "p.yaml")
    assert result.exit_code == 0
    results = json.loads(result.stdout)["runs"][0]["results"]
    assert len(results) == 2 and all(r["fixes"] for r in results)
    assert Path("p.yaml").read_text(encoding="utf-8") == POLICY  # a dry run
