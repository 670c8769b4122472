"""`cilium-codemod rewrite`: byte-exact rewrites, idempotence, dry-run diffs that `git apply` accepts, and the
refusals and exit statuses around them.

Each case NAME has three hand-written fixtures under `fixtures/rewrite/`: `NAME.before.yaml` (or `.json`),
`NAME.after.yaml` (the exact bytes a careful human would produce, per `shared/docs/cilium-facts.md` §1.3 and the
rule that new lines follow the surrounding style) and `NAME.decisions.yaml`. The tool runs as a subprocess, with
its working folder set to a temporary folder so every path it prints is relative.
"""

from __future__ import annotations

import difflib
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rewrite"
BOM = b"\xef\xbb\xbf"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
EXISTS_LINE = "{key: io.cilium.k8s.policy.cluster, operator: Exists}"

# Every before/after case, named explicitly so that a missing fixture fails instead of silently shrinking the suite.
CASES = [
    "block_labels_all_clusters",
    "block_expressions_append",
    "flow_expressions",
    "flow_empty_item",
    "flow_list_empty",
    "flow_list_labels",
    "one_cluster_block_labels",
    "one_cluster_flow_labels",
    "one_cluster_no_labels",
    "several_clusters",
    "dash_not_indented",
    "indent_four",
    "comments_after_labels",
    "trailing_inline_comment",
    "eof_no_newline",
    "multi_document",
    "deny_rule",
    "specs_list",
    "knp_podselector",
    "knp_lone_namespace",
    "knp_empty_podselector",
    "wildcard_only_key",
    "wildcard_other_keys",
    "quoted_keys",
    "cluster_name_quoting",
    "json_policy",
    "alias_peer",
    "lb_ippool_v2alpha1",
]

# Cases of rules other than the cluster-selector ones.
OTHER_RULES = {"lb_ippool_v2alpha1"}

# Cases whose expected result only adds whole lines (block style).
PURE_INSERTION = {
    "block_labels_all_clusters", "block_expressions_append", "one_cluster_block_labels", "one_cluster_no_labels",
    "dash_not_indented", "indent_four", "comments_after_labels", "multi_document", "deny_rule", "specs_list",
    "knp_podselector", "knp_lone_namespace",
}

# Cases re-run with CRLF line endings, a UTF-8 BOM, and both.
LINE_ENDING_CASES = ["comments_after_labels", "eof_no_newline", "knp_lone_namespace"]


# --------------------------------------------------------------------------------------------------------------
# Helpers


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8")

    @property
    def err_lines(self) -> list[str]:
        return self.stderr.splitlines()


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE")}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra or {})
    return env


def codemod(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Outcome:
    proc = subprocess.run([sys.executable, "-m", "codemod", *args], cwd=cwd, env=_env(env),
                          capture_output=True, timeout=120, check=False)
    return Outcome(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"))


def codemod_tty(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run with stdout on a pseudo-terminal (so `--color auto` sees a tty); returns (status, stdout)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "codemod", *args], cwd=cwd, env=_env(env),
                            stdout=slave, stderr=subprocess.DEVNULL)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO once the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(timeout=120), b"".join(chunks).decode("utf-8")


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def before_path(name: str) -> Path:
    found = sorted(FIXTURES.glob(f"{name}.before.*"))
    assert len(found) == 1, f"expected exactly one {name}.before.* fixture, found {found}"
    return found[0]


def fixture_suffix(name: str) -> str:
    return before_path(name).suffix


def after_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.after{fixture_suffix(name)}").read_bytes()


def decisions_file(name: str) -> Path:
    return FIXTURES / f"{name}.decisions.yaml"


def explain(actual: bytes, expected: bytes) -> str:
    diff = difflib.unified_diff([repr(x) for x in expected.splitlines(keepends=True)],
                                [repr(x) for x in actual.splitlines(keepends=True)],
                                "expected (hand-written)", "actual (tool)", lineterm="")
    return "\n".join(diff)


def assert_bytes(actual: bytes, expected: bytes) -> None:
    assert actual == expected, "\n" + explain(actual, expected)


def place(folder: Path, name: str, data: bytes, suffix: str = ".yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{suffix}"
    path.write_bytes(data)
    return path


def stat_key(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def age(path: Path) -> None:
    """Backdate a file so that any rewrite shows in its mtime."""
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))


Transform = Callable[[bytes], bytes]


def crlf(data: bytes) -> bytes:
    assert b"\r" not in data
    return data.replace(b"\n", b"\r\n")


def bom(data: bytes) -> bytes:
    return BOM + data


def crlf_bom(data: bytes) -> bytes:
    return bom(crlf(data))


def identity(data: bytes) -> bytes:
    return data


PLAIN: Transform = identity
VARIANTS: list[tuple[str, str, Transform]] = [(name, "lf", PLAIN) for name in CASES] + [
    (name, label, transform)
    for name in LINE_ENDING_CASES
    for label, transform in (("crlf", crlf), ("bom", bom), ("crlf+bom", crlf_bom))
]


# --------------------------------------------------------------------------------------------------------------
# The fixtures themselves


def test_every_fixture_belongs_to_a_case() -> None:
    befores = {p.name.split(".before.")[0] for p in FIXTURES.glob("*.before.*")}
    afters = {p.name.split(".after.")[0] for p in FIXTURES.glob("*.after.*")}
    refused = {"alias_reverse", "parse_error", "templated", "local_undecided"}
    assert afters == set(CASES)
    assert befores == set(CASES) | refused
    for name in CASES:
        assert decisions_file(name).is_file(), name
        assert before_path(name).read_bytes() != after_bytes(name), f"{name}: before and after are identical"


def test_fixtures_parse_and_pure_insertions_only_insert() -> None:
    """The hand-written afters are valid YAML (and JSON for .json); in the block-style cases they only add lines,
    so an expectation cannot be wrong in an unrelated place."""
    import yaml

    for name in CASES:
        before = before_path(name).read_text(encoding="utf-8")
        after = after_bytes(name).decode("utf-8")
        if fixture_suffix(name) == ".json":
            json.loads(after)
        assert len(list(yaml.safe_load_all(before))) == len(list(yaml.safe_load_all(after))), name
        assert name in OTHER_RULES or "io.cilium.k8s.policy.cluster" in after, name
        changed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines())
                   if line.startswith(("- ", "? "))]
        if name in PURE_INSERTION:
            assert changed == [], f"{name}: a pure-insertion case changes existing lines: {changed}"


# --------------------------------------------------------------------------------------------------------------
# Byte-exact rewrites


def check_case(tmp_path: Path, name: str, transform: Transform) -> None:
    suffix = fixture_suffix(name)
    before = transform(before_path(name).read_bytes())
    after = transform(after_bytes(name))

    # --write
    work = tmp_path / "write"
    target = place(work, name, before, suffix)
    shutil.copy(decisions_file(name), work / "decisions.yaml")
    first = codemod("rewrite", target.name, "--decisions", "decisions.yaml", "--write", cwd=work)
    assert first.code == 0, first.stderr
    if suffix == ".json":  # checked before the bytes, so invalid JSON and a style difference tell apart
        data = json.loads(target.read_bytes().decode("utf-8-sig"))
        peers = [data["spec"]["ingress"][0]["fromEndpoints"][0], data["spec"]["egress"][0]["toEndpoints"][0]]
        for peer in peers:
            assert peer["matchExpressions"] == [{"key": "io.cilium.k8s.policy.cluster", "operator": "Exists"}]
    assert_bytes(target.read_bytes(), after)

    # a second run changes nothing and writes nothing
    age(target)
    written = stat_key(target)
    second = codemod("rewrite", target.name, "--decisions", "decisions.yaml", "--write", cwd=work)
    assert second.code == 0, second.stderr
    assert_bytes(target.read_bytes(), after)
    assert stat_key(target) == written, "the second --write rewrote the file"
    assert f"rewrote {target.name} (" not in second.stderr
    check = codemod("rewrite", target.name, "--decisions", "decisions.yaml", "--check", cwd=work)
    assert check.code == 0, check.stderr
    assert stat_key(target) == written

    # the dry run leaves the file alone and prints a diff that `git apply` turns into the expected bytes
    dry = tmp_path / "dry"
    target = place(dry, name, before, suffix)
    shutil.copy(decisions_file(name), dry / "decisions.yaml")
    assert git("init", "-q", cwd=dry).returncode == 0
    age(target)
    untouched = stat_key(target)
    shown = codemod("rewrite", target.name, "--decisions", "decisions.yaml", cwd=dry)
    assert shown.code == 0, shown.stderr
    assert_bytes(target.read_bytes(), before)
    assert stat_key(target) == untouched
    assert f"diff --git a/{target.name} b/{target.name}" in shown.out
    patch = tmp_path / "dry-run.patch"
    patch.write_bytes(shown.stdout)
    checked = git("apply", "--check", str(patch), cwd=dry)
    assert checked.returncode == 0, checked.stderr + "\n" + shown.out
    applied = git("apply", str(patch), cwd=dry)
    assert applied.returncode == 0, applied.stderr
    assert_bytes(target.read_bytes(), after)


@pytest.mark.parametrize(("name", "label", "transform"), VARIANTS,
                         ids=[f"{name}-{label}" for name, label, _ in VARIANTS])
def test_rewrite_case(tmp_path: Path, name: str, label: str, transform: Transform) -> None:
    check_case(tmp_path, name, transform)


# --------------------------------------------------------------------------------------------------------------
# Refusals: aliases, parse errors, templates


ALL_CLUSTERS = "version: 1\ndefault: all-clusters\n"


def test_anchor_on_peer_aliased_into_subject_is_refused(tmp_path: Path) -> None:
    """Adding the cluster to `&cart` would also change `endpointSelector: *cart` (the subject): refuse, exit 2."""
    reverse = place(tmp_path, "alias_reverse", before_path("alias_reverse").read_bytes())
    other = place(tmp_path, "other", before_path("block_labels_all_clusters").read_bytes())
    (tmp_path / "decisions.yaml").write_text(ALL_CLUSTERS)
    age(reverse)
    kept = stat_key(reverse)

    result = codemod("rewrite", reverse.name, other.name, "--decisions", "decisions.yaml", "--write", cwd=tmp_path)

    assert result.code == 2, result.stderr
    assert_bytes(reverse.read_bytes(), before_path("alias_reverse").read_bytes())
    assert stat_key(reverse) == kept
    assert_bytes(other.read_bytes(), after_bytes("block_labels_all_clusters"))
    errors = [line for line in result.err_lines if line.startswith(f"{reverse.name}:") and " error: " in line]
    assert len(errors) == 1, result.stderr
    match = re.fullmatch(rf"{re.escape(reverse.name)}:(\d+): error: \S.*", errors[0])
    assert match is not None, errors[0]
    # line 9 holds the anchored peer `- &cart`, line 12 the alias `endpointSelector: *cart`
    assert int(match.group(1)) in (9, 12), errors[0]


def test_anchor_on_peer_refused_in_dry_run_too(tmp_path: Path) -> None:
    reverse = place(tmp_path, "alias_reverse", before_path("alias_reverse").read_bytes())
    other = place(tmp_path, "other", before_path("block_labels_all_clusters").read_bytes())
    (tmp_path / "decisions.yaml").write_text(ALL_CLUSTERS)

    result = codemod("rewrite", reverse.name, other.name, "--decisions", "decisions.yaml", cwd=tmp_path)

    assert result.code == 2
    assert "diff --git a/other.yaml b/other.yaml" in result.out
    assert "alias_reverse" not in result.out  # neither diffed nor explained as a change
    assert any(line.startswith("alias_reverse.yaml:") and " error: " in line for line in result.err_lines), \
        result.stderr


def test_alias_expanded_at_peer_keeps_subject(tmp_path: Path) -> None:
    """The subject `endpointSelector: &sel {...}` is byte-identical after the peer aliases were expanded."""
    target = place(tmp_path, "alias_peer", before_path("alias_peer").read_bytes())
    shutil.copy(decisions_file("alias_peer"), tmp_path / "decisions.yaml")
    result = codemod("rewrite", target.name, "--decisions", "decisions.yaml", "--write", cwd=tmp_path)
    assert result.code == 0, result.stderr
    text = target.read_text(encoding="utf-8")
    assert "  endpointSelector: &sel {matchLabels: {app: cart}}\n" in text
    assert "*sel" not in text
    import yaml

    data = yaml.safe_load(text)
    assert data["spec"]["endpointSelector"] == {"matchLabels": {"app": "cart"}}
    expected_peer = {"matchLabels": {"app": "cart"},
                     "matchExpressions": [{"key": "io.cilium.k8s.policy.cluster", "operator": "Exists"}]}
    assert data["spec"]["ingress"][0]["fromEndpoints"] == [expected_peer]
    assert data["spec"]["egress"][0]["toEndpoints"] == [expected_peer]


def test_parse_error_is_reported_and_others_still_rewritten(tmp_path: Path) -> None:
    broken = place(tmp_path, "parse_error", before_path("parse_error").read_bytes())
    other = place(tmp_path, "other", before_path("block_labels_all_clusters").read_bytes())
    (tmp_path / "decisions.yaml").write_text(ALL_CLUSTERS)
    age(broken)
    kept = stat_key(broken)

    result = codemod("rewrite", broken.name, other.name, "--decisions", "decisions.yaml", "--write", cwd=tmp_path)

    assert result.code == 2, result.stderr
    assert_bytes(broken.read_bytes(), before_path("parse_error").read_bytes())
    assert stat_key(broken) == kept
    assert_bytes(other.read_bytes(), after_bytes("block_labels_all_clusters"))
    errors = [line for line in result.err_lines if line.startswith(f"{broken.name}:")]
    assert len(errors) == 1, result.stderr
    assert re.fullmatch(rf"{re.escape(broken.name)}:1[34]: error: \S.*", errors[0]), errors[0]


def test_template_is_skipped_untouched(tmp_path: Path) -> None:
    templated = place(tmp_path, "templated", before_path("templated").read_bytes())
    other = place(tmp_path, "other", before_path("block_labels_all_clusters").read_bytes())
    (tmp_path / "decisions.yaml").write_text(ALL_CLUSTERS)
    age(templated)
    kept = stat_key(templated)

    result = codemod("rewrite", templated.name, other.name, "--decisions", "decisions.yaml", "--write",
                     cwd=tmp_path)

    assert result.code == 0, result.stderr
    assert_bytes(templated.read_bytes(), before_path("templated").read_bytes())
    assert stat_key(templated) == kept
    assert_bytes(other.read_bytes(), after_bytes("block_labels_all_clusters"))
    assert any(line.startswith(f"{templated.name}: skipped:") and "template" in line for line in result.err_lines), \
        result.stderr


# --------------------------------------------------------------------------------------------------------------
# local / undecided: nothing changes and nothing is written


@pytest.mark.parametrize(("decisions", "status", "left"), [
    ("version: 1\ndefault: local\n", 0, 0),
    ("version: 1\ndefault: undecided\n", 1, 2),
    ("version: 1\n", 1, 2),
    ("version: 1\ndecisions:\n  - match: {direction: ingress}\n    action: local\n", 1, 1),
], ids=["local", "undecided", "default-undecided", "local-and-undecided"])
def test_local_and_undecided_write_nothing(tmp_path: Path, decisions: str, status: int, left: int) -> None:
    original = before_path("local_undecided").read_bytes()
    target = place(tmp_path, "frontend", original)
    (tmp_path / "decisions.yaml").write_text(decisions)
    age(target)
    kept = stat_key(target)

    written = codemod("rewrite", target.name, "--decisions", "decisions.yaml", "--write", cwd=tmp_path)
    assert written.code == status, written.stderr
    assert stat_key(target) == kept, "the file was written although nothing changes"
    assert_bytes(target.read_bytes(), original)
    assert f"rewrote {target.name} (" not in written.stderr

    dry = codemod("rewrite", target.name, "--decisions", "decisions.yaml", cwd=tmp_path)
    assert dry.code == status
    assert dry.out == ""
    check = codemod("rewrite", target.name, "--decisions", "decisions.yaml", "--check", cwd=tmp_path)
    assert check.code == status
    assert stat_key(target) == kept
    undecided_lines = [line for line in written.err_lines if line.startswith(f"{target.name}:")]
    assert len(undecided_lines) == left, written.stderr


def test_decided_part_is_written_while_undecided_part_keeps_status_1(tmp_path: Path) -> None:
    original = before_path("local_undecided").read_bytes().decode("utf-8")
    target = place(tmp_path, "frontend", original.encode())
    (tmp_path / "decisions.yaml").write_text(
        "version: 1\ndecisions:\n  - match: {direction: ingress}\n    action: all-clusters\n")
    expected = original.replace(
        "            app: ingress-nginx\n",
        "            app: ingress-nginx\n"
        "          matchExpressions:\n"
        "            - key: io.cilium.k8s.policy.cluster\n"
        "              operator: Exists\n").encode()
    assert expected != original.encode()

    written = codemod("rewrite", target.name, "--decisions", "decisions.yaml", "--write", cwd=tmp_path)
    assert written.code == 1, written.stderr
    assert_bytes(target.read_bytes(), expected)
    left = [line for line in written.err_lines if line.startswith(f"{target.name}:")]
    assert len(left) == 1 and "spec.egress[0].toEndpoints[0]" in left[0], written.stderr

    age(target)
    kept = stat_key(target)
    again = codemod("rewrite", target.name, "--decisions", "decisions.yaml", "--write", cwd=tmp_path)
    assert again.code == 1
    assert stat_key(target) == kept
    check = codemod("rewrite", target.name, "--decisions", "decisions.yaml", "--check", cwd=tmp_path)
    assert check.code == 1  # by design: the undecided egress peer is still on the TODO list


# --------------------------------------------------------------------------------------------------------------
# The dry-run output


EXPLAINED_DECISIONS = """\
version: 1
decisions:
  - match:
      deny: true
    action: all-clusters
    reason: deny rules must keep covering the remote cluster
  - match:
      name: vault
    action: local
    reason: the operator runs next to vault
  - match:
      name: payments
    action: clusters
    clusters: [east, west]
    reason: active/active
  - match:
      name: api
    action: all-clusters
    reason: the web tier runs in both clusters
"""


def explained_run(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> Outcome:
    for name in ("deny_rule", "several_clusters", "block_labels_all_clusters", "wildcard_other_keys"):
        place(tmp_path, name, before_path(name).read_bytes())
    (tmp_path / "decisions.yaml").write_text(EXPLAINED_DECISIONS)
    return codemod("rewrite", "block_labels_all_clusters.yaml", "deny_rule.yaml", "several_clusters.yaml",
                   "wildcard_other_keys.yaml", "--decisions", "decisions.yaml", *extra, cwd=tmp_path, env=env)


def header_blocks(out: str) -> dict[str, list[str]]:
    """The `#` lines right before each file's `diff --git`, keyed by the file the diff is for."""
    blocks: dict[str, list[str]] = {}
    pending: list[str] = []
    for line in out.splitlines():
        if line.startswith("#"):
            pending.append(line)
        elif line.startswith("diff --git a/"):
            name = line.split(" b/", 1)[1]
            blocks[name] = pending
            pending = []
    assert pending == [], f"# lines after the last diff: {pending}"
    return blocks


def test_dry_run_explains_every_change_before_its_diff(tmp_path: Path) -> None:
    result = explained_run(tmp_path)
    assert result.code == 0, result.stderr
    assert ANSI.search(result.out) is None  # not a terminal, --color auto
    blocks = header_blocks(result.out)
    assert sorted(blocks) == ["block_labels_all_clusters.yaml", "deny_rule.yaml", "several_clusters.yaml",
                              "wildcard_other_keys.yaml"]

    def explained(file: str, *words: str) -> None:
        lines = blocks[file]
        assert any(file in line for line in lines), lines
        assert any(all(word in line for word in words) for line in lines), (words, lines)

    explained("block_labels_all_clusters.yaml", "shop/api", "spec.ingress[0].fromEndpoints[0]", "all-clusters",
              "the web tier runs in both clusters")
    explained("deny_rule.yaml", "secrets/vault", "spec.ingressDeny[0].fromEndpoints[0]", "all-clusters",
              "deny rules must keep covering the remote cluster")
    explained("deny_rule.yaml", "secrets/vault", "spec.egressDeny[0].toEndpoints[0]", "all-clusters",
              "deny rules must keep covering the remote cluster")
    explained("several_clusters.yaml", "shop/payments", "spec.ingress[0].fromEndpoints[0]", "east", "west",
              "active/active")
    explained("several_clusters.yaml", "shop/payments", "spec.ingress[0].fromEndpoints[1]", "east", "west",
              "active/active")
    explained("wildcard_other_keys.yaml", "shop/admin", "spec.ingress[0].fromEndpoints[0]")
    explained("wildcard_other_keys.yaml", "shop/admin", "spec.ingress[0].fromEndpoints[1]")
    # the `local` allow peer of vault changes nothing, so it is not presented as a change
    assert not any("spec.ingress[0].fromEndpoints[0]" in line for line in blocks["deny_rule.yaml"])

    # the whole multi-file dry run applies, commentary and all
    assert git("init", "-q", cwd=tmp_path).returncode == 0
    patch = tmp_path.parent / f"{tmp_path.name}.patch"
    patch.write_bytes(result.stdout)
    applied = git("apply", str(patch), cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    for name in ("deny_rule", "several_clusters", "block_labels_all_clusters", "wildcard_other_keys"):
        assert_bytes((tmp_path / f"{name}.yaml").read_bytes(), after_bytes(name))


def test_color_always_adds_ansi_and_nothing_else(tmp_path: Path) -> None:
    coloured = explained_run(tmp_path, "--color", "always")
    plain = explained_run(tmp_path, "--color", "never")
    assert coloured.code == plain.code == 0
    assert ANSI.search(coloured.out) is not None
    assert ANSI.search(plain.out) is None
    assert ANSI.sub("", coloured.out) == plain.out
    added = [line for line in coloured.out.splitlines() if ANSI.sub("", line).startswith("+ ")]
    assert added and all(ANSI.match(line) for line in added), added


def test_no_color_wins_over_auto_on_a_terminal(tmp_path: Path) -> None:
    for name in ("block_labels_all_clusters",):
        place(tmp_path, name, before_path(name).read_bytes())
    shutil.copy(decisions_file("block_labels_all_clusters"), tmp_path / "decisions.yaml")
    args = ("rewrite", "block_labels_all_clusters.yaml", "--decisions", "decisions.yaml", "--color", "auto")

    status, on_tty = codemod_tty(*args, cwd=tmp_path)
    assert status == 0
    assert ANSI.search(on_tty) is not None, "control: --color auto on a terminal should colour the diff"
    assert "+          matchExpressions:" in ANSI.sub("", on_tty)

    status, no_color = codemod_tty(*args, cwd=tmp_path, env={"NO_COLOR": "1"})
    assert status == 0
    assert ANSI.search(no_color) is None
    assert "+          matchExpressions:" in no_color


# --------------------------------------------------------------------------------------------------------------
# Exit statuses


def test_check_exits_1_when_changes_are_pending(tmp_path: Path) -> None:
    original = before_path("block_labels_all_clusters").read_bytes()
    target = place(tmp_path, "api", original)
    shutil.copy(decisions_file("block_labels_all_clusters"), tmp_path / "decisions.yaml")
    age(target)
    kept = stat_key(target)
    result = codemod("rewrite", target.name, "--decisions", "decisions.yaml", "--check", cwd=tmp_path)
    assert result.code == 1, result.stderr
    assert_bytes(target.read_bytes(), original)
    assert stat_key(target) == kept
    assert "api.yaml" in result.stderr


def test_dry_run_exits_0_when_everything_is_decided(tmp_path: Path) -> None:
    target = place(tmp_path, "api", before_path("block_labels_all_clusters").read_bytes())
    shutil.copy(decisions_file("block_labels_all_clusters"), tmp_path / "decisions.yaml")
    result = codemod("rewrite", target.name, "--decisions", "decisions.yaml", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert "+          matchExpressions:" in result.out


# the line named is the offending field when there is one (`clusters`), else the entry
@pytest.mark.parametrize(("decisions", "line"), [
    ("version: 1\ndecisions:\n  - match: {name: api}\n    action: clusters\n", 3),
    ("version: 1\ndecisions:\n  - match: {name: api}\n    action: clusters\n    clusters: [\"*\"]\n", 5),
    ("version: 1\ndecisions:\n  - match: {name: api}\n    action: all-clusters\n    clusters: [east]\n", 5),
    ("version: 1\ndecisions:\n  - match: {name: api, colour: blue}\n    action: local\n", 3),
    ("version: 1\ndefault: clusters\n", 2),
    ("version: 1\ndecisions:\n  - match: {name: api\n    action: local\n", 4),
], ids=["clusters-missing", "wildcard-cluster", "clusters-with-all", "unknown-field", "bad-default", "bad-yaml"])
def test_bad_decision_file_exits_2_before_touching_anything(tmp_path: Path, decisions: str, line: int) -> None:
    original = before_path("block_labels_all_clusters").read_bytes()
    target = place(tmp_path, "api", original)
    (tmp_path / "decisions.yaml").write_text(decisions)
    age(target)
    kept = stat_key(target)

    for mode in (("--write",), (), ("--check",)):
        result = codemod("rewrite", target.name, "--decisions", "decisions.yaml", *mode, cwd=tmp_path)
        assert result.code == 2, (mode, result.stderr)
        assert result.out == ""
        assert_bytes(target.read_bytes(), original)
        assert stat_key(target) == kept
        assert result.err_lines, "no error message"
        assert result.err_lines[0].startswith(f"error: decisions.yaml:{line}: "), result.stderr


def test_rewrite_example_repo_dry_run_applies(tmp_path: Path) -> None:
    """The shipped example repo: the dry run of the whole folder is a patch git applies, and writing it gives
    the same bytes; undecided peers keep the status at 1."""
    examples = Path(__file__).resolve().parent.parent / "examples" / "gitops"
    if not examples.is_dir():
        pytest.skip("examples/gitops is not present")
    repo_a = tmp_path / "a"
    repo_b = tmp_path / "b"
    shutil.copytree(examples, repo_a, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(examples, repo_b, ignore=shutil.ignore_patterns("__pycache__"))
    assert git("init", "-q", cwd=repo_a).returncode == 0
    dry = codemod("rewrite", ".", "--decisions", "cilium-codemod.decisions.yaml", cwd=repo_a)
    assert dry.code == 1, dry.stderr
    assert "diff --git" in dry.out
    patch = tmp_path / "examples.patch"
    patch.write_bytes(dry.stdout)
    applied = git("apply", str(patch), cwd=repo_a)
    assert applied.returncode == 0, applied.stderr
    written = codemod("rewrite", ".", "--decisions", "cilium-codemod.decisions.yaml", "--write", cwd=repo_b)
    assert written.code == 1, written.stderr
    changed = 0
    for path in sorted(repo_b.rglob("*.yaml")):
        rel = path.relative_to(repo_b)
        assert_bytes((repo_a / rel).read_bytes(), path.read_bytes())
        changed += (examples / rel).read_bytes() != path.read_bytes()
    assert changed >= 1
