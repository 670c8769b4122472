"""`rewrite --interactive`, driven through a pseudo-terminal like a person at the keyboard."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import invoke, write_files

POLICY = """\
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  endpointSelector: {}
  ingress:
    - fromEndpoints:
        - matchLabels: {app: a}
        - matchLabels: {app: b}
        - matchLabels: {app: c}
"""
ALL = "version: 1\ndefault: all-clusters\n"
EXISTS = ("\n          matchExpressions:\n            - key: io.cilium.k8s.policy.cluster\n"
          "              operator: Exists\n")


def drive(cwd: Path, keys: str, *args: str) -> tuple[int, str]:
    """Run `rewrite --interactive` on a pseudo-terminal, typing one key at each prompt."""
    leader, follower = pty.openpty()
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    process = subprocess.Popen([sys.executable, "-m", "codemod", "rewrite", "--interactive", *args], cwd=cwd,
                               stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)

    def read(timeout: float) -> bytes | None:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(leader, 4096) or None
        except OSError:
            return None

    output, pending, deadline = b"", list(keys), time.monotonic() + 60
    while time.monotonic() < deadline:
        chunk = read(0.2)
        if chunk is None or (not chunk and process.poll() is not None):
            break
        output += chunk
        if pending and output.rstrip().endswith(b"?]?"):
            key = pending.pop(0).encode()
            # A key typed before the prompt puts the terminal in raw mode is flushed: type it until it shows.
            for _ in range(20):
                time.sleep(0.1)
                os.write(leader, key)
                echoed = read(1.0)
                if echoed is None:
                    break
                if echoed:
                    output += echoed
                    break
    process.wait(timeout=30)
    os.close(leader)
    return process.returncode, output.decode("utf-8", "replace").replace("\r\n", "\n")


def test_yes_no_and_all(tmp_path: Path) -> None:
    write_files(tmp_path, {"p.yaml": POLICY, "d.yaml": ALL})
    code, shown = drive(tmp_path, "yna", "--decisions", "d.yaml", "p.yaml")
    assert code == 0, shown
    assert shown.count("Apply this change [y,n,a,d,q,?]?") == 3  # after `a`, the last change is not asked
    assert "#   shop/web spec.ingress[0].fromEndpoints[0]: all-clusters" in shown
    text = (tmp_path / "p.yaml").read_text(encoding="utf-8")
    assert "{app: a}" + EXISTS in text and "{app: b}\n        - matchLabels: {app: c}" + EXISTS in text


def test_quit_keeps_what_was_accepted(tmp_path: Path) -> None:
    write_files(tmp_path, {"p.yaml": POLICY, "d.yaml": ALL})
    code, shown = drive(tmp_path, "yq", "--decisions", "d.yaml", "p.yaml")
    assert shown.count("Apply this change") == 2
    text = (tmp_path / "p.yaml").read_text(encoding="utf-8")
    assert text.count("operator: Exists") == 1 and "{app: a}" + EXISTS in text
    assert code == 0, shown


def test_d_records_a_local_decision(tmp_path: Path) -> None:
    write_files(tmp_path, {"p.yaml": POLICY, "d.yaml": ALL + "decisions:\n  - {match: {name: x}, action: local}\n"})
    code, shown = drive(tmp_path, "dnn", "--decisions", "d.yaml", "p.yaml")
    assert "recorded: shop/web spec.ingress[0].fromEndpoints[0]: local, in d.yaml" in shown
    assert (tmp_path / "p.yaml").read_text(encoding="utf-8") == POLICY
    decisions = (tmp_path / "d.yaml").read_text(encoding="utf-8")
    assert decisions.index('path: "spec.ingress[0].fromEndpoints[0]"') < decisions.index("{match: {name: x}")
    assert 'path: "spec.ingress[0].fromEndpoints[0]"\n    action: local\n' in decisions
    assert code == 0, shown
    # the recorded decision now wins: a plain rewrite leaves that selector alone
    dry = invoke("rewrite", "--decisions", str(tmp_path / "d.yaml"), str(tmp_path / "p.yaml"))
    assert "fromEndpoints[0]" not in dry.stdout and "fromEndpoints[1]" in dry.stdout


def test_refuses_without_a_terminal(tmp_path: Path) -> None:
    write_files(tmp_path, {"p.yaml": POLICY, "d.yaml": ALL})
    result = subprocess.run([sys.executable, "-m", "codemod", "rewrite", "--interactive", "--decisions", "d.yaml",
                             "p.yaml"], cwd=tmp_path, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert "--interactive needs a terminal" in result.stderr
    assert (tmp_path / "p.yaml").read_text(encoding="utf-8") == POLICY


def test_d_on_a_decision_file_that_cannot_be_written_says_so(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from codemod import interactive, todo
    from codemod.rule import Finding

    def refuse(*_: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(todo, "record", refuse)
    finding = Finding("implicit-cluster-selector", "p.yaml", 0, 9, "CiliumNetworkPolicy", "shop", "web",
                      "spec.ingress[0].fromEndpoints[0]", "relies on the default")
    interactive._record_local("d.yaml", finding)
    out = capsys.readouterr().out
    assert out == "cannot record the decision in d.yaml: Permission denied; skipped\n"
