"""The pre-commit hooks, run by pre-commit itself from this repository, on a throwaway repo built from examples/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, invoke, write_files

GIT = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture
def gitops(tmp_path: Path) -> Path:
    repo = tmp_path / "gitops"
    shutil.copytree(EXAMPLES, repo)
    (repo / "cilium-codemod.decisions.yaml").unlink()
    head = run(["git", "rev-parse", "HEAD"], ROOT).stdout.strip()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {head}\n    hooks:\n"
        "      - id: cilium-codemod-fix\n      - id: cilium-codemod-check\n", encoding="utf-8")
    run(["git", "init", "-q"], repo)
    run(["git", "add", "-A"], repo)
    assert run([*GIT, "commit", "-qm", "init"], repo).returncode == 0
    return repo


def test_pre_commit_fails_then_passes_once_decided_and_fixed(gitops: Path, tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.fail("the hooks test needs this repository as a git checkout (pre-commit installs from a commit)")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    pre_commit = [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"]

    first = run(pre_commit, gitops, env)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "cilium-codemod check" in first.stdout and "undecided: shop/payments spec.ingressDeny" in first.stdout

    decisions = (EXAMPLES / "cilium-codemod.decisions.yaml").read_text(encoding="utf-8")
    (gitops / "cilium-codemod.decisions.yaml").write_text(
        decisions.replace("default: undecided", "default: local"), encoding="utf-8")
    run(["git", "add", "-A"], gitops)
    second = run(pre_commit, gitops, env)
    assert second.returncode == 1  # the fix hook rewrote files: pre-commit fails that run, as with any fixer
    assert "files were modified by this hook" in second.stdout
    assert "operator: Exists" in (gitops / "base/shop/payments.yaml").read_text(encoding="utf-8")

    run(["git", "add", "-A"], gitops)
    third = run(pre_commit, gitops, env)
    assert third.returncode == 0, third.stdout + third.stderr


@pytest.mark.usefixtures("in_tmp")
def test_hook_check_and_fix_in_process(in_tmp: Path) -> None:
    policy = (EXAMPLES / "base/shop/payments.yaml").read_text(encoding="utf-8")
    write_files(in_tmp, {"p.yaml": policy, "cilium-codemod.decisions.yaml": "version: 1\ndefault: all-clusters\n"})
    (in_tmp / ".git").mkdir()  # the repository root, where the default decision file is looked for
    check = invoke("hook", "check", "p.yaml")
    assert check.exit_code == 1
    assert check.stdout == ("p.yaml: 2 decided changes not applied "
                            "(run the cilium-codemod-fix hook, or cilium-codemod rewrite --write)\n")
    fix = invoke("hook", "fix", "p.yaml")
    assert fix.exit_code == 1 and "rewrote p.yaml (2 changes)" in fix.stderr
    assert invoke("hook", "check", "p.yaml").exit_code == 0
    assert invoke("hook", "fix", "p.yaml").exit_code == 0
    assert invoke("hook", "check").exit_code == 0  # no files: nothing to do
    (in_tmp / "cilium-codemod.decisions.yaml").unlink()
    undecided = invoke("hook", "check", "p.yaml")
    assert undecided.exit_code == 0  # every selector is explicit now, with or without a decision file
