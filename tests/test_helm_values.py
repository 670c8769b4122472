"""Helm values rules, before/after byte for byte, in every place values live: a bare values file, an
umbrella chart's `cilium:`, a Flux HelmRelease and an Argo CD Application. Each rewritten fixture must load
and show the new keys holding the old values; a second run changes nothing; comments are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CORPUS, invoke, write_files

Keys = tuple[str | int, ...]

CASES: list[tuple[str, str, str, str, list[tuple[Keys, Keys]]]] = [
    ("strict-mode-bare", "values.yaml", """\
# prod cluster
encryption:
  enabled: true
  type: wireguard
  strictMode:
    # pod traffic must be encrypted
    enabled: true            # strict!
    cidr: 10.0.0.0/8
    ingress:
      enabled: false
    allowRemoteNodeIdentities: false
hubble:
  enabled: true
""", """\
# prod cluster
encryption:
  enabled: true
  type: wireguard
  strictMode:
    egress:
      # pod traffic must be encrypted
      enabled: true            # strict!
      cidr: 10.0.0.0/8
      allowRemoteNodeIdentities: false
    ingress:
      enabled: false
hubble:
  enabled: true
""", [(("encryption", "strictMode", "enabled"), ("encryption", "strictMode", "egress", "enabled")),
      (("encryption", "strictMode", "cidr"), ("encryption", "strictMode", "egress", "cidr")),
      (("encryption", "strictMode", "allowRemoteNodeIdentities"),
       ("encryption", "strictMode", "egress", "allowRemoteNodeIdentities")),
      (("encryption", "strictMode", "ingress"), ("encryption", "strictMode", "ingress"))]),
    ("umbrella-four-space", "values-umbrella.yaml", """\
cilium:
    clustermesh:
        useAPIServer: true
        enableMCSAPISupport: true   # ServiceExport/ServiceImport
    encryption:
        strictMode:
            enabled: true
ingress-nginx:
    enabled: true
""", """\
cilium:
    clustermesh:
        useAPIServer: true
        mcsapi:
            enabled: true   # ServiceExport/ServiceImport
    encryption:
        strictMode:
            egress:
                enabled: true
ingress-nginx:
    enabled: true
""", [(("cilium", "clustermesh", "enableMCSAPISupport"), ("cilium", "clustermesh", "mcsapi", "enabled")),
      (("cilium", "encryption", "strictMode", "enabled"), ("cilium", "encryption", "strictMode", "egress", "enabled")),
      (("ingress-nginx",), ("ingress-nginx",))]),
    ("helmrelease-existing-egress", "cilium/helmrelease.yaml", """\
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cilium
  namespace: kube-system
spec:
  chart:
    spec:
      chart: cilium
      version: 1.18.6
  values:
    encryption:
      strictMode:
        allowRemoteNodeIdentities: true   # nodes talk in the clear
        egress:
          enabled: true
          cidr: 10.1.0.0/16
    clustermesh:
      policyDefaultLocalCluster: "false"
""", """\
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cilium
  namespace: kube-system
spec:
  chart:
    spec:
      chart: cilium
      version: 1.18.6
  values:
    encryption:
      strictMode:
        egress:
          enabled: true
          cidr: 10.1.0.0/16
          allowRemoteNodeIdentities: true   # nodes talk in the clear
    clustermesh:
      policyDefaultLocalCluster: false
""", [(("spec", "values", "encryption", "strictMode", "allowRemoteNodeIdentities"),
       ("spec", "values", "encryption", "strictMode", "egress", "allowRemoteNodeIdentities")),
      (("spec", "values", "encryption", "strictMode", "egress", "cidr"),
       ("spec", "values", "encryption", "strictMode", "egress", "cidr"))]),
    ("argocd-application", "apps/cilium.yaml", """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: cilium
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://helm.cilium.io
    chart: cilium
    targetRevision: 1.19.6
    helm:
      valuesObject:
        l2podAnnouncements:
          enabled: true
          interface: bond0.12   # the VLAN that faces the routers
        authentication:
          mutual:
            spire:
              enabled: true
              install:
                enabled: true
""", """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: cilium
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://helm.cilium.io
    chart: cilium
    targetRevision: 1.19.6
    helm:
      valuesObject:
        l2podAnnouncements:
          enabled: true
          interfacePattern: "^bond0\\\\.12$"   # the VLAN that faces the routers
        authentication:
          mutual:
            spire:
              enabled: true
              install:
                enabled: true
          enabled: true
""", [(("spec", "source", "helm", "valuesObject", "authentication", "mutual"),
       ("spec", "source", "helm", "valuesObject", "authentication", "mutual"))]),
]


CASES.append(("rke2-values-content", "rke2-cilium-config.yaml", """\
# RKE2 reads this from /var/lib/rancher/rke2/server/manifests
apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata:
  name: rke2-cilium
  namespace: kube-system
spec:
  valuesContent: |-
    kubeProxyReplacement: true
    encryption:
      enabled: true
      type: wireguard
      strictMode:
        enabled: true   # keep pods encrypted
        cidr: 10.42.0.0/16
    authentication:
      mutual:
        spire:
          enabled: true
---
apiVersion: v1
kind: ConfigMap
metadata: {name: after}
""", """\
# RKE2 reads this from /var/lib/rancher/rke2/server/manifests
apiVersion: helm.cattle.io/v1
kind: HelmChartConfig
metadata:
  name: rke2-cilium
  namespace: kube-system
spec:
  valuesContent: |-
    kubeProxyReplacement: true
    encryption:
      enabled: true
      type: wireguard
      strictMode:
        egress:
          enabled: true   # keep pods encrypted
          cidr: 10.42.0.0/16
    authentication:
      mutual:
        spire:
          enabled: true
      enabled: true
---
apiVersion: v1
kind: ConfigMap
metadata: {name: after}
""", [(("spec", "valuesContent", "encryption", "strictMode", "enabled"),
       ("spec", "valuesContent", "encryption", "strictMode", "egress", "enabled")),
      (("spec", "valuesContent", "encryption", "strictMode", "cidr"),
       ("spec", "valuesContent", "encryption", "strictMode", "egress", "cidr"))]))


def at(data: Any, keys: Keys) -> Any:
    for key in keys:
        data = data[key]
        if isinstance(data, str) and "\n" in data:  # values written inside a string (valuesContent)
            data = yaml.safe_load(data)
    return data


def loaded(text: str) -> Any:
    return next(d for d in yaml.safe_load_all(text) if d is not None)


@pytest.mark.parametrize(("name", "file", "before", "after", "moves"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_values_rewrite(in_tmp: Path, name: str, file: str, before: str, after: str,
                        moves: list[tuple[Keys, Keys]], newline: str) -> None:
    (in_tmp / file).parent.mkdir(parents=True, exist_ok=True)
    (in_tmp / file).write_bytes(before.replace("\n", newline).encode())
    result = invoke("rewrite", ".", "--write")
    assert result.exit_code == 0, result.output
    assert (in_tmp / file).read_bytes() == after.replace("\n", newline).encode()
    old, new = loaded(before), loaded(after)
    for was, now in moves:
        assert at(new, now) == at(old, was), (was, now)
    again = invoke("rewrite", ".", "--check")
    assert again.exit_code == 0 and again.stdout == ""


def test_values_rewrite_keeps_every_comment(in_tmp: Path) -> None:
    for _, _, before, after, _ in CASES:
        comments = [line[line.index("#"):] for line in before.splitlines() if "#" in line]
        assert comments == [line[line.index("#"):] for line in after.splitlines() if "#" in line]


@pytest.mark.parametrize(("text", "message"), [
    ("encryption:\n  strictMode: {enabled: true, cidr: 10.0.0.0/8}\n",
     "encryption.strictMode.{enabled,cidr} belong under strictMode.egress since Cilium 1.19; 1.20 ignores the old "
     "place and strict mode switches off (flow style: move them by hand)"),
    ("encryption:\n  strictMode:\n    enabled: true\n    egress:\n      enabled: false\n",
     "strictMode sets enabled both at the old place and under egress: keep one (both render duplicate ConfigMap keys "
     "on 1.19; 1.20 ignores the old)"),
    ("clustermesh:\n  enableMCSAPISupport: true\n  mcsapi: {enabled: true}\n",
     "clustermesh.enableMCSAPISupport is clustermesh.mcsapi.enabled since Cilium 1.19 (removed in 1.20); "
     "mcsapi.enabled is set too: remove enableMCSAPISupport"),
    ("authentication:\n  enabled: false\n  mutual: {spire: {enabled: true}}\n",
     "SPIRE is enabled but mesh authentication is off: policies with authentication.mode: required drop their "
     "traffic (AUTH_REQUIRED)"),
    ("clustermesh:\n  apiserver:\n    tls:\n      client: {cert: abc, key: def}\n",
     "clustermesh.apiserver.tls.client.* is ignored since Cilium 1.19: the clustermesh-apiserver client certificate "
     "is no longer configurable"),
    ("clustermesh:\n  policyDefaultLocalCluster: false\n",
     "policyDefaultLocalCluster: false keeps Cilium 1.18's peer default (the escape hatch): take it out once every "
     "policy names its clusters"),
])
def test_reported_not_rewritten(in_tmp: Path, text: str, message: str) -> None:
    write_files(in_tmp, {"values.yaml": text})
    result = invoke("rewrite", "values.yaml", "--write")
    assert (in_tmp / "values.yaml").read_text() == text
    scanned = invoke("scan", "values.yaml")
    assert message in scanned.stdout
    assert result.exit_code == (0 if "escape hatch" in message else 1)


def test_values_are_found_only_where_they_live(in_tmp: Path) -> None:
    strict = "encryption:\n  strictMode:\n    enabled: true\n"
    write_files(in_tmp, {
        "config.yaml": strict,  # not named like values: not read as values
        "other-chart/helmrelease.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: "
                                        "{name: x}\nspec:\n  chart: {spec: {chart: ingress-nginx}}\n  values:\n"
                                        "    encryption: {strictMode: {enabled: true}}\n",
        "templated-values.yaml": "encryption:\n  strictMode:\n    enabled: {{ .Values.strict }}\n",
    })
    result = invoke("scan", ".")
    assert result.exit_code == 0, result.output
    assert "templated-values.yaml: skipped: template (Helm/Go/Jinja)" in result.stderr
    named = invoke("scan", ".", "--values", "config.yaml")
    assert named.exit_code == 1 and "config.yaml:3: strict-mode-egress-keys" in named.stdout


def test_a_full_copy_of_the_defaults_gets_only_changes_that_matter(in_tmp: Path) -> None:
    filler = "".join(f"key{i}: {i}\n" for i in range(120))
    text = filler + ("encryption:\n  strictMode:\n    enabled: false\n    cidr: ''\n"
                     "l2podAnnouncements:\n  interface: eth0\nnodePort:\n  enabled: false\n"
                     "clustermesh:\n  enableMCSAPISupport: false\n")
    write_files(in_tmp, {"values.yaml": text})
    assert invoke("scan", "values.yaml").exit_code == 0
    changed = text.replace("    enabled: false\n    cidr: ''", "    enabled: true\n    cidr: 10.0.0.0/8")
    write_files(in_tmp, {"values.yaml": changed})
    result = invoke("scan", "values.yaml", "--format", "json")
    assert result.exit_code == 1
    import json

    assert [f["rule"] for f in json.loads(result.stdout)["findings"]] == ["strict-mode-egress-keys"]


# ---------------------------------------------------------------- the shared corpus of real values files


def test_corpus_values_through_every_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file of corpus/helm-values, each named as values, through every rule: no crash and no error, the
    templates skipped with the reason, the findings counted, and no byte changed (what the corpus holds
    needs reporting, not rewriting: its strict-mode keys sit in full copies of the defaults)."""
    import json
    import shutil

    source = CORPUS / "helm-values"
    if not source.is_dir():
        pytest.skip("the shared corpus is not beside the project")
    work = tmp_path / "values"
    shutil.copytree(source, work)
    monkeypatch.chdir(work)
    files = sorted(p.name for p in work.iterdir() if p.name != "SOURCES.md")
    assert len(files) == 31
    options = [arg for name in files for arg in ("--values", name)]
    data = json.loads(invoke("scan", *files, *options, "--format", "json").stdout)
    assert data["errors"] == []
    assert sorted(s["file"] for s in data["skipped"]) == [
        "kubernetes-sigs__kubespray__roles__network_plugin__cilium__templates__values.yaml.j2",
        "monosense-io__k8s-gitops__bootstrap__helmfile.d__01-core.yaml.gotmpl"]
    found = sorted((f["rule"], f["file"].split("__")[0], f["path"]) for f in data["findings"])
    assert found == [
        ("helm-removed-keys", "JJGadgets", "nodePort.enabled"),
        ("helm-removed-keys", "JJGadgets", "nodePort.enabled"),
        ("helm-removed-keys", "JJGadgets", "nodePort.enabled"),
        ("helm-removed-keys", "JJGadgets", "nodePort.enabled"),
        ("helm-removed-keys", "aenix-io", "cilium.nodePort.enabled"),
        ("helm-removed-keys", "walnuts1018", "nodePort.enabled"),
    ]
    before = {name: (work / name).read_bytes() for name in files}
    rewrite = invoke("rewrite", *files, *options, "--write")
    assert rewrite.exit_code == 1 and "error" not in rewrite.stderr  # 1: the reported findings stay open
    assert {name: (work / name).read_bytes() for name in files} == before


@pytest.mark.parametrize("style", [">", ">-"], ids=["folded", "folded-strip"])
def test_values_content_only_as_a_literal_block(in_tmp: Path, style: str) -> None:
    """A folded string means something else than its lines: not read as values, rather than edited wrong."""
    text = ("apiVersion: helm.cattle.io/v1\nkind: HelmChartConfig\nmetadata: {name: rke2-cilium}\nspec:\n"
            f"  valuesContent: {style}\n    encryption:\n      strictMode:\n        enabled: true\n")
    write_files(in_tmp, {"c.yaml": text})
    assert invoke("scan", "c.yaml").exit_code == 0
    assert invoke("rewrite", "c.yaml", "--write").exit_code == 0
    assert (in_tmp / "c.yaml").read_text() == text


# ---------------------------------------------------------------- values and policies together

MIGRATED = ("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n"
            "  endpointSelector: {}\n  ingress:\n    - fromEndpoints:\n        - matchLabels: {app: web}\n"
            "          matchExpressions: [{key: io.cilium.k8s.policy.cluster, operator: Exists}]\n")


def test_escape_hatch_on_and_off(in_tmp: Path) -> None:
    write_files(in_tmp, {
        "values-east.yaml": "hubble:\n  enabled: true\n",
        "values-west.yaml": "clustermesh:\n  useAPIServer: true\n  policyDefaultLocalCluster: true\n",
        "cilium-hr.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: cilium}\n"
                          "spec:\n  chart: {spec: {chart: cilium}}\n  values:\n    clustermesh:\n"
                          "      policyDefaultLocalCluster: \"false\"\n",
    })
    assert invoke("rewrite", ".", "--escape-hatch", "on", "--write").exit_code == 0
    assert (in_tmp / "values-east.yaml").read_text() == \
        "hubble:\n  enabled: true\nclustermesh:\n  policyDefaultLocalCluster: false\n"
    assert (in_tmp / "values-west.yaml").read_text() == \
        "clustermesh:\n  useAPIServer: true\n  policyDefaultLocalCluster: false\n"
    assert (in_tmp / "cilium-hr.yaml").read_text().endswith("      policyDefaultLocalCluster: false\n")
    assert invoke("rewrite", ".", "--escape-hatch", "on", "--check").exit_code == 0  # nothing more to do
    assert invoke("rewrite", ".", "--escape-hatch", "off", "--write").exit_code == 0
    assert (in_tmp / "values-east.yaml").read_text() == "hubble:\n  enabled: true\nclustermesh: {}\n"
    assert (in_tmp / "values-west.yaml").read_text() == "clustermesh:\n  useAPIServer: true\n"
    assert "policyDefaultLocalCluster" not in (in_tmp / "cilium-hr.yaml").read_text()


def test_escape_hatch_reported_as_removable_once_every_policy_names_its_clusters(in_tmp: Path) -> None:
    write_files(in_tmp, {"values.yaml": "clustermesh:\n  policyDefaultLocalCluster: false\n",
                         "policy.yaml": MIGRATED})
    result = invoke("scan", ".")
    assert result.exit_code == 1
    assert "policyDefaultLocalCluster: false is no longer needed: every policy scanned names its clusters; " \
           "remove it (rewrite --escape-hatch off)" in result.stdout
    write_files(in_tmp, {"policy.yaml": MIGRATED.replace("\n          matchExpressions: [{key: "
                                                         "io.cilium.k8s.policy.cluster, operator: Exists}]", "")})
    still = invoke("scan", ".", "--ignore", "implicit-cluster-selector")
    assert "no longer needed" not in still.stdout  # without the cluster-default rule nothing is known
    pending = invoke("scan", ".")
    assert "no longer needed" not in pending.stdout and "keeps Cilium 1.18's peer default" in pending.stdout


def test_policies_requiring_authentication_need_mesh_auth_on(in_tmp: Path) -> None:
    policy = MIGRATED + "      authentication:\n        mode: required\n"
    write_files(in_tmp, {"policy.yaml": policy})
    alone = invoke("scan", ".")
    assert alone.exit_code == 1
    assert "policy.yaml:10: mesh-auth-default a/p spec.ingress[0].authentication.mode authentication.mode: required " \
           "drops this traffic (AUTH_REQUIRED)" in alone.stdout
    write_files(in_tmp, {"values.yaml": "authentication:\n  enabled: true\n"})
    assert invoke("scan", ".").exit_code == 0
    write_files(in_tmp, {"values.yaml": "authentication:\n  mutual: {spire: {enabled: true}}\n"})
    with_spire = invoke("scan", ".")
    assert "AUTH_REQUIRED" not in with_spire.stdout  # the values' own finding adds authentication.enabled
    assert "authentication.enabled is unset" in with_spire.stdout


def test_bundled_helm_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from tests.conftest import ROOT

    shutil.copytree(ROOT / "examples" / "helm", tmp_path / "helm")
    monkeypatch.chdir(tmp_path)
    before = {p.name: p.read_text() for p in (tmp_path / "helm").glob("*.yaml")}
    result = invoke("rewrite", "helm", "--write")
    assert result.exit_code == 1  # nodePort.enabled is reported, not rewritten
    assert "rewrote 3 files (6 changes: 2 helm-renamed-keys, 1 mesh-auth-default, 1 policy-default-local-cluster, " \
           "2 strict-mode-egress-keys); 1 finding left: 1 helm-removed-keys" in result.stderr
    prod = yaml.safe_load((tmp_path / "helm" / "values-prod.yaml").read_text())
    old = yaml.safe_load(before["values-prod.yaml"])
    assert prod["encryption"]["strictMode"] == {"egress": old["encryption"]["strictMode"]}
    assert prod["clustermesh"]["mcsapi"] == {"enabled": True}
    rke2 = yaml.safe_load(yaml.safe_load((tmp_path / "helm" / "rke2-cilium-config.yaml").read_text())["spec"][
        "valuesContent"])
    assert rke2["clustermesh"]["policyDefaultLocalCluster"] is False
    assert rke2["encryption"]["strictMode"]["egress"] == {"enabled": True, "cidr": "10.42.0.0/16"}
    assert invoke("rewrite", "helm", "--check").stdout == ""


def test_removed_keys_follow_the_target_version(in_tmp: Path) -> None:
    write_files(in_tmp, {"values.yaml": "nodePort:\n  enabled: true\npreflight:\n  tofqdnsPreCache: /var/cache\n"})
    everything = invoke("scan", "values.yaml")
    assert "nodePort.enabled is ignored since Cilium 1.19" in everything.stdout
    assert "preflight.tofqdnsPreCache is ignored since Cilium 1.20" in everything.stdout
    to_119 = invoke("scan", "values.yaml", "--target-version", "1.19")
    assert "nodePort.enabled" in to_119.stdout and "tofqdnsPreCache" not in to_119.stdout


# ---------------------------------------------------------------- review findings, each pinned

POLICY_IMPLICIT = ("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: a}\nspec:\n"
                   "  endpointSelector: {}\n  ingress:\n    - fromEndpoints: [{matchLabels: {app: a}}]\n")


def test_escape_hatch_stays_while_a_selector_is_undecided(in_tmp: Path) -> None:
    write_files(in_tmp, {"values.yaml": "clustermesh:\n  policyDefaultLocalCluster: false\n",
                         "p.yaml": POLICY_IMPLICIT})
    blocked = invoke("rewrite", ".", "--escape-hatch", "off", "--write")
    assert blocked.exit_code == 1
    assert (in_tmp / "values.yaml").read_text() == "clustermesh:\n  policyDefaultLocalCluster: false\n"
    assert "escape hatch kept; undecided selectors that rely on the default: 1" in blocked.stderr
    write_files(in_tmp, {"d.yaml": "version: 1\ndefault: all-clusters\n"})
    done = invoke("rewrite", ".", "--escape-hatch", "off", "--decisions", "d.yaml", "--write")
    assert done.exit_code == 0, done.output
    assert (in_tmp / "values.yaml").read_text() == "clustermesh: {}\n"


def test_only_cilium_values_are_values(in_tmp: Path) -> None:
    write_files(in_tmp, {
        "charts/grafana/values.yaml": "replicas: 2\n",
        "umbrella/values.yaml": "grafana:\n  enabled: true\nprometheus:\n  enabled: true\n",
        "charts/broken/values.yaml": "a: [1\n",
        "infra/cilium/values.yaml": "operator:\n  replicas: 1\n",
        "values-net.yaml": "kubeProxyReplacement: true\n",
    })
    result = invoke("rewrite", ".", "--escape-hatch", "on", "--write")
    assert result.exit_code == 0, result.output
    assert (in_tmp / "charts/grafana/values.yaml").read_text() == "replicas: 2\n"
    assert "policyDefaultLocalCluster" not in (in_tmp / "umbrella/values.yaml").read_text()
    assert "charts/broken/values.yaml: skipped: not YAML (read only because its name looks like Helm values)" \
        in result.stderr
    assert (in_tmp / "infra/cilium/values.yaml").read_text().endswith("policyDefaultLocalCluster: false\n")
    assert (in_tmp / "values-net.yaml").read_text().endswith("policyDefaultLocalCluster: false\n")


@pytest.mark.parametrize(("text", "after"), [
    ("clustermesh:\n  enableMCSAPISupport: yes\n", "clustermesh:\n  mcsapi:\n    enabled: true\n"),
    ("clustermesh:\n  enableMCSAPISupport: \"false\"\n", "clustermesh:\n  mcsapi:\n    enabled: false\n"),
    ("clustermesh:\n  enableMCSAPISupport: true\n  mcsapi:\n", "clustermesh:\n  mcsapi: {enabled: true}\n"),
    ("clustermesh:\n  policyDefaultLocalCluster: \"False\"\n", "clustermesh:\n  policyDefaultLocalCluster: false\n"),
    ("authentication:\n  mutual: {spire: {enabled: True}}\n",
     "authentication:\n  mutual: {spire: {enabled: True}}\n  enabled: true\n"),
], ids=["yes", "quoted-false", "null-mcsapi", "quoted-False", "True"])
def test_booleans_as_helm_reads_them(in_tmp: Path, text: str, after: str) -> None:
    write_files(in_tmp, {"values.yaml": text})
    assert invoke("rewrite", "values.yaml", "--write").exit_code == 0
    assert (in_tmp / "values.yaml").read_text() == after


@pytest.mark.parametrize(("text", "message"), [
    ("clustermesh:\n  policyDefaultLocalCluster: FALSE\n", "keeps Cilium 1.18's peer default (the escape hatch)"),
    ("clustermesh:\n  enableMCSAPISupport: true\n  mcsapi: false\n",
     "mcsapi is not a mapping here: set mcsapi.enabled by hand"),
    ("encryption:\n  strictMode:\n    enabled: true\n    egress: {}\n",
     "(egress is written empty or in flow style: move them under it by hand)"),
    ("defaults: &d\n  enabled: true\nencryption:\n  strictMode:\n    <<: *d\n    cidr: 10.0.0.0/8\n",
     "encryption.strictMode.enabled comes from a YAML merge key (<<)"),
])
def test_review_reports(in_tmp: Path, text: str, message: str) -> None:
    write_files(in_tmp, {"values.yaml": text})
    assert message in invoke("scan", "values.yaml").stdout
    invoke("rewrite", "values.yaml", "--write")
    assert (in_tmp / "values.yaml").read_text() == text
