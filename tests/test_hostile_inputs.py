"""Hostile input, as a table: each case puts one hostile file next to a policy that needs a rewrite, runs
`scan` and `rewrite --write` over the folder, and checks the exit status, that exactly one output line is
about the hostile file (naming it, and its line where there is one), that its bytes and mode are untouched
(or rewritten byte-exact, for the valid ones), and that the normal policy is still scanned and rewritten.

Symbolic links are never followed. Inside a folder that is walked they are silently ignored, like FIFOs
and devices; named on the command line they are reported as skipped (exit status unaffected).

Then the same for what only shows at write time (read-only files and folders, failing renames), for bad
decision files (which stop the run before any file is touched), for the size limit on every command and in
worker processes, and for `write_atomically` itself.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import codemod.sources
from codemod.cli import main
from codemod.sources import write_atomically
from tests.conftest import GOOD

DECISIONS = "version: 1\ndefault: all-clusters\n"

EXISTS = """\
          matchExpressions:
            - key: io.cilium.k8s.policy.cluster
              operator: Exists
"""

GOOD_ALL = GOOD + EXISTS
GOOD_FINDING = ("repo/good.yaml:8: implicit-cluster-selector b/g spec.ingress[0].fromEndpoints[0] fromEndpoints "
                "peer matches only the local cluster on Cilium 1.19 (names no cluster) [all-clusters]")

HEAD = "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: hostile, namespace: b}\n"
# A valid policy that needs a rewrite, for the inputs that are valid (BOM, CRLF) or fail only at write time.
POLICY = HEAD + "spec:\n  endpointSelector: {}\n  ingress:\n    - fromEndpoints:\n        - matchLabels: {app: y}\n"
POLICY_ALL = POLICY + EXISTS
POLICY_FINDING = (r":8: implicit-cluster-selector b/hostile spec\.ingress\[0\]\.fromEndpoints\[0\] fromEndpoints peer "
                  r"matches only the local cluster on Cilium 1\.19 \(names no cluster\) \[all-clusters\]")
REWROTE = r" \(1 change\)"  # after "rewrote repo/NAME"

MiB = 1024 * 1024
TOO_LARGE = r": error: too large: {size}, over the size limit of {limit} \(raise it with --max-file-size or " \
            r"CILIUM_CODEMOD_MAX_FILE_SIZE\)"
# PyYAML 6.0.4's parser stops at a nesting limit ("exceeded maximum nesting depth"); older ones let the
# composer hit Python's recursion limit ("nested too deeply").
TOO_DEEP = r"(:\d+)?: error: (nested too deeply|cannot parse: exceeded maximum nesting depth)"


def bomb(levels: int = 10, width: int = 9) -> str:
    """A billion laughs inside a policy: each anchor holds `width` aliases of the one before."""
    body = f"  l0: &a0 [{', '.join(['lol'] * width)}]\n"
    body += "".join(f"  l{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]\n" for i in range(1, levels))
    return HEAD + "spec:\n  endpointSelector: {}\n" + body + "  ingress:\n    - fromEndpoints: [{}]\n"


def mixed_endings(text: str) -> bytes:
    """Every other line ends in CRLF."""
    return "".join(line[:-1] + "\r\n" if i % 2 else line
                   for i, line in enumerate(text.splitlines(keepends=True))).encode()


def sops_yaml(spec: str) -> bytes:
    return (HEAD + spec + """\
sops:
    kms: []
    age:
        - recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBaZGVsTnNiZ2lLd1hRUmdi
            -----END AGE ENCRYPTED FILE-----
    lastmodified: "2025-06-01T10:00:00Z"
    mac: ENC[AES256_GCM,data:Rk1TKXn0hK2FWZ8Qb7Lx5Q==,iv:9mQ1xJ0r3eZk=,tag:Zp3nWQ==,type:str]
    encrypted_regex: ^(spec|matchLabels)$
    version: 3.9.1
""").encode()


SOPS_JSON = json.dumps({
    "apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy", "metadata": {"name": "hostile", "namespace": "b"},
    "spec": "ENC[AES256_GCM,data:c3BlYw==,iv:aXY=,tag:dGFn,type:str]",
    "sops": {"kms": None, "lastmodified": "2025-06-01T10:00:00Z",
             "mac": "ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]", "version": "3.9.1"},
}, indent=4).encode()

Make = Callable[[Path, pytest.MonkeyPatch], None]


@dataclass(frozen=True)
class Case:
    file: str  # the hostile file, below repo/
    data: bytes | None = None  # its bytes, or None when `make` creates it
    status: int = 2  # of scan and of rewrite --write
    line: str | None = None  # regex: the one line about the file, after "repo/FILE"; None: no line at all
    rewrite_line: str | None = None  # when rewrite --write prints another one than scan
    after: bytes | None = None  # its bytes after rewrite --write, for valid input that is rewritten
    make: Make | None = None  # (tmp, monkeypatch) -> None, when `data` is not enough
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    paths: tuple[str, ...] = ("repo",)


def sparse(size: int) -> Make:
    def make(tmp: Path, _: pytest.MonkeyPatch) -> None:
        with (tmp / "repo" / "big.yaml").open("wb") as handle:
            handle.truncate(size)

    return make


def link(target: str, name: str = "link.yaml") -> Make:
    def make(tmp: Path, _: pytest.MonkeyPatch) -> None:
        (tmp / "outside").mkdir(exist_ok=True)
        (tmp / "outside" / "policy.yaml").write_text(POLICY, encoding="utf-8")
        (tmp / "repo" / name).symlink_to(target)

    return make


def loop(tmp: Path, _: pytest.MonkeyPatch) -> None:
    (tmp / "repo" / "a.yaml").symlink_to("b.yaml")
    (tmp / "repo" / "b.yaml").symlink_to("a.yaml")


def unreadable(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod 000 does not stop root, so the refusal is simulated where the file is opened."""
    path = tmp / "repo" / "secret.yaml"
    path.write_text(POLICY, encoding="utf-8")
    path.chmod(0)
    real = Path.open

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "secret.yaml":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", refuse)


CASES = {
    # --- syntax -----------------------------------------------------------------------------------------
    "tab-indentation": Case("tabs.yaml", (HEAD + "spec:\n\tendpointSelector: {}\n").encode(),
                            line=r":5: error: cannot parse: tab character in the indentation \(YAML indents with "
                            r"spaces only\)"),
    "duplicate-keys": Case("dup.yaml", (HEAD + "spec:\n  endpointSelector: {}\n  endpointSelector: {}\n").encode(),
                           line=":6: error: duplicate key 'endpointSelector'"),
    "unclosed-quote": Case("quote.yaml", (HEAD + 'spec:\n  endpointSelector: {matchLabels: {app: "x}}\n').encode(),
                           line=":5: error: cannot parse: while scanning a quoted scalar: found unexpected end of "
                           "stream"),
    "billion-laughs": Case("bomb.yaml", bomb().encode(),
                           line=r":15: error: cannot parse: aliases such as \*a8 expand the document to [\d,]+ nodes "
                           r"\(excessive aliasing, which Kubernetes refuses too\)"),
    "10000-open-brackets": Case("deep.yaml", (HEAD + "spec: " + "[" * 10_000 + "\n").encode(), line=TOO_DEEP),
    "10000-nested-brackets": Case("deep.yaml", (HEAD + "spec:\n  x: " + "[" * 10_000 + "]" * 10_000 + "\n").encode(),
                                  line=TOO_DEEP),
    "nested-block-mappings": Case("deep.yaml", (HEAD + "spec:\n" + "".join(
        "  " * (i + 1) + f"k{i}:\n" for i in range(1_500))).encode(), line=TOO_DEEP),
    # --- encodings and line endings -----------------------------------------------------------------------
    "latin-1": Case("latin1.yaml", (HEAD + "spec:\n  endpointSelector: {matchLabels: {app: caf\xe9}}\n").encode(
        "latin-1"), line=r":5: error: not UTF-8 text \(byte 0xe9\): save it as UTF-8"),
    "utf-16-le-bom": Case("utf16le.yaml", POLICY.encode("utf-16-le").join([b"\xff\xfe", b""]),
                          line=": error: UTF-16 text: save it as UTF-8"),
    "utf-16-be-bom": Case("utf16be.yaml", POLICY.encode("utf-16-be").join([b"\xfe\xff", b""]),
                          line=": error: UTF-16 text: save it as UTF-8"),
    "utf-32-le-bom": Case("utf32.yaml", POLICY.encode("utf-32"), line=": error: UTF-32 text: save it as UTF-8"),
    "utf-8-bom": Case("bom.yaml", b"\xef\xbb\xbf" + POLICY.encode(), status=0, line=POLICY_FINDING,
                      rewrite_line=REWROTE, after=b"\xef\xbb\xbf" + POLICY_ALL.encode()),
    "crlf": Case("crlf.yaml", POLICY.replace("\n", "\r\n").encode(), status=0, line=POLICY_FINDING,
                 rewrite_line=REWROTE, after=POLICY_ALL.replace("\n", "\r\n").encode()),
    # Each line keeps its ending; the lines added after a CRLF line end in CRLF.
    "mixed-line-endings": Case("mixed.yaml", mixed_endings(POLICY), status=0, line=POLICY_FINDING,
                               rewrite_line=REWROTE,
                               after=mixed_endings(POLICY) + EXISTS.replace("\n", "\r\n").encode()),
    "nul-byte": Case("nul.yaml", (POLICY + "  x: a\0b\n").encode(), line=r":9: error: binary file \(NUL byte\)"),
    "binary-with-policy-word": Case("blob.yaml", b"\x89PNG\r\n\x1a\n\0\0\xffCiliumNetworkPolicy\xfe\0",
                                    line=r":3: error: binary file \(NUL byte\)"),
    # A file that holds no policy kind is passed over unparsed, binary or not.
    "binary-without-policy-word": Case("blob.yaml", bytes(range(256)) * 4, status=0),
    # --- size -----------------------------------------------------------------------------------------------
    "200MiB-sparse-default-limit": Case("big.yaml", make=sparse(200 * MiB),
                                        line=TOO_LARGE.format(size="200 MiB", limit="32 MiB")),
    "200MiB-sparse-option-200MB": Case("big.yaml", make=sparse(200 * MiB), args=("--max-file-size", "200MB"),
                                       line=TOO_LARGE.format(size="200 MiB", limit="200 MB")),
    "small-limit-option": Case("padded.yaml", (POLICY + "#" * 1500 + "\n").encode(),
                               args=("--max-file-size", "1KiB"),
                               line=TOO_LARGE.format(size="1.6 KiB", limit="1 KiB")),
    "small-limit-env": Case("padded.yaml", (POLICY + "#" * 1500 + "\n").encode(),
                            env={"CILIUM_CODEMOD_MAX_FILE_SIZE": "1024"},
                            line=TOO_LARGE.format(size="1.6 KiB", limit="1 KiB")),
    # --- nothing to do --------------------------------------------------------------------------------------
    "empty-file": Case("empty.yaml", b"", status=0),
    "comment-only-documents": Case("comments.yaml", b"# a CiliumNetworkPolicy, one day\n---\n# nothing\n---\n",
                                   status=0),
    # --- SOPS -----------------------------------------------------------------------------------------------
    "sops-yaml-encrypted-spec": Case("sops.yaml", sops_yaml(
        "spec: ENC[AES256_GCM,data:Zm9v,iv:YmFy,tag:YmF6,type:str]\n"), status=0,
        line=": skipped: SOPS-encrypted: editing it would break its MAC"),
    # encrypted_regex left the whole policy readable, selector and all: still never rewritten
    "sops-yaml-readable-policy": Case("sops.yaml", sops_yaml(POLICY.removeprefix(HEAD)), status=0,
                                      line=": skipped: SOPS-encrypted: editing it would break its MAC"),
    "sops-json": Case("sops.json", SOPS_JSON, status=0,
                      line=": skipped: SOPS-encrypted: editing it would break its MAC"),
    # --- symbolic links: ignored inside a walked folder, skipped when named ----------------------------------
    "link-to-file-outside": Case("link.yaml", make=link("../outside/policy.yaml"), status=0),
    "link-to-folder-outside": Case("link.yaml", make=link("../outside"), status=0),
    "link-loop": Case("a.yaml", make=loop, status=0),
    "link-to-parent": Case("up.yaml", make=link("..", "up.yaml"), status=0),
    "named-link-to-file-outside": Case("link.yaml", make=link("../outside/policy.yaml"), status=0,
                                       paths=("repo", "repo/link.yaml"),
                                       line=r": skipped: symbolic link \(not followed\)"),
    "named-link-to-folder-outside": Case("link.yaml", make=link("../outside"), status=0,
                                         paths=("repo", "repo/link.yaml"),
                                         line=r": skipped: symbolic link to a folder \(not followed\)"),
    "named-link-loop": Case("a.yaml", make=loop, status=0, paths=("repo", "repo/a.yaml"),
                            line=r": skipped: symbolic link \(not followed\)"),
    "named-link-to-parent": Case("up.yaml", make=link("..", "up.yaml"), status=0, paths=("repo", "repo/up.yaml"),
                                 line=r": skipped: symbolic link to a folder \(not followed\)"),
    # --- permissions ----------------------------------------------------------------------------------------
    "unreadable-simulated": Case("secret.yaml", make=unreadable, line=": error: cannot read: Permission denied"),
}

SECONDS = 5.0  # per command, for every case: the alias bomb and the 200 MiB file included
PEAK_BYTES = 64 * MiB  # Python allocations per command (tracemalloc): a 200 MiB read would show


def fingerprint(path: Path) -> tuple[object, ...]:
    """What must not change: the kind, mode and content of the file (or the link itself), never read whole."""
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return ("link", os.readlink(path))
    digest = hashlib.sha256()
    with open(path, "rb") as handle:  # not Path.open, which a case may have patched
        for chunk in iter(lambda: handle.read(MiB), b""):
            digest.update(chunk)
    return (stat.S_IMODE(info.st_mode), info.st_size, digest.hexdigest())


def bounded(args: list[str], env: dict[str, str]) -> Result:
    """The CLI in-process, in bounded time and memory."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
        took = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert took < SECONDS, f"{args[0]} took {took:.1f} s"
    assert peak < PEAK_BYTES, f"{args[0]} allocated {peak / MiB:.0f} MiB at its peak"
    return result


def lines_about(result: Result, shown: str) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines()
            if re.search(rf"(^|\s){re.escape(shown)}([:\s]|$)", line)]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hostile_file(in_tmp: Path, monkeypatch: pytest.MonkeyPatch, case: Case) -> None:
    repo = in_tmp / "repo"
    repo.mkdir()
    (repo / "good.yaml").write_text(GOOD, encoding="utf-8")
    (in_tmp / "d.yaml").write_text(DECISIONS, encoding="utf-8")
    hostile = repo / case.file
    if case.data is not None:
        hostile.write_bytes(case.data)
    if case.make is not None:
        case.make(in_tmp, monkeypatch)
    before = fingerprint(hostile)
    outside = {p: fingerprint(p) for p in (in_tmp / "outside").rglob("*")} if (in_tmp / "outside").exists() else {}
    shown = f"repo/{case.file}"

    scan = bounded(["scan", "--decisions", "d.yaml", *case.args, *case.paths], case.env)
    assert scan.exit_code == case.status, scan.output
    about = lines_about(scan, shown)
    if case.line is None:
        assert about == [], scan.output
    else:
        assert len(about) == 1 and re.fullmatch(re.escape(shown) + case.line, about[0]), about
    assert GOOD_FINDING in scan.stdout.splitlines()

    rewrite = bounded(["rewrite", "--write", "--decisions", "d.yaml", *case.args, *case.paths], case.env)
    assert rewrite.exit_code == case.status, rewrite.output
    about = lines_about(rewrite, shown)
    expected = case.rewrite_line or case.line
    if expected is None:
        assert about == [], rewrite.output
    else:
        prefix = "rewrote " if case.rewrite_line else ""
        assert len(about) == 1 and re.fullmatch(prefix + re.escape(shown) + expected, about[0]), about
    assert "rewrote repo/good.yaml (1 change)" in rewrite.stderr.splitlines()
    assert (repo / "good.yaml").read_text(encoding="utf-8") == GOOD_ALL

    if case.after is not None:
        assert hostile.read_bytes() == case.after
        assert stat.S_IMODE(hostile.stat().st_mode) == before[0]
    else:
        assert fingerprint(hostile) == before
    assert {p: fingerprint(p) for p in outside} == outside  # nothing reached through a link
    assert not [p for p in in_tmp.rglob("*.tmp")]


# Write time ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WriteCase:
    file: str  # below repo/: a valid policy that needs a rewrite
    line: str  # regex, after "repo/FILE"
    make: Make  # sets up the failure


def refuse_replace(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.replace

    def replace(src: str, dst: str | Path) -> None:
        if Path(dst).name == "ro.yaml":
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def refuse_temporary_file(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tempfile.mkstemp

    def mkstemp(*args: object, dir: str | Path | None = None, **kwargs: object) -> tuple[int, str]:
        if dir is not None and Path(dir).name == "locked":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))
        return real(*args, dir=dir, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def fail_fsync(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fails while the temporary file is synced: the old file must stay, the temporary one go."""
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISREG(os.fstat(fd).st_mode) and os.fstat(fd).st_size == len(POLICY_ALL):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def read_only_for_the_user(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod 0444; root may write anyway, so os.access answers as it would for its owner."""
    for path in (tmp / "repo" / "ro.yaml", tmp / "ro.yaml"):
        if path.exists():
            path.chmod(0o444)
    real = os.access

    def access(p: str | Path, mode: int, **kwargs: bool) -> bool:
        if Path(p).name == "ro.yaml" and mode & os.W_OK:
            return False
        return real(p, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)


WRITE_CASES = {
    "read-only-file": WriteCase("ro.yaml", ": error: not written: the file is read-only", read_only_for_the_user),
    "rename-refused": WriteCase("ro.yaml", f": error: not written: {os.strerror(errno.EPERM)}", refuse_replace),
    "read-only-folder": WriteCase("locked/p.yaml", r": error: not written: cannot create a file in its folder "
                                  rf"\({os.strerror(errno.EACCES)}\)", refuse_temporary_file),
    "fsync-fails": WriteCase("p.yaml", f": error: not written: {os.strerror(errno.EIO)}", fail_fsync),
}


@pytest.mark.parametrize("case", WRITE_CASES.values(), ids=WRITE_CASES.keys())
def test_write_time_failure(in_tmp: Path, monkeypatch: pytest.MonkeyPatch, case: WriteCase) -> None:
    repo = in_tmp / "repo"
    (repo / case.file).parent.mkdir(parents=True)
    (repo / "good.yaml").write_text(GOOD, encoding="utf-8")
    (repo / case.file).write_text(POLICY, encoding="utf-8")
    (in_tmp / "d.yaml").write_text(DECISIONS, encoding="utf-8")
    case.make(in_tmp, monkeypatch)
    before = fingerprint(repo / case.file)
    shown = f"repo/{case.file}"

    scan = bounded(["scan", "--decisions", "d.yaml", "repo"], {})
    assert scan.exit_code == 0, scan.output
    rewrite = bounded(["rewrite", "--write", "--decisions", "d.yaml", "repo"], {})
    assert rewrite.exit_code == 2, rewrite.output
    about = [line for line in lines_about(rewrite, shown) if " error: " in line]
    assert len(about) == 1 and re.fullmatch(re.escape(shown) + case.line, about[0]), rewrite.output
    assert fingerprint(repo / case.file) == before
    assert (repo / "good.yaml").read_text(encoding="utf-8") == GOOD_ALL
    assert sorted(p.name for p in repo.rglob("*") if p.is_file()) == sorted(["good.yaml", Path(case.file).name])


def test_decisions_update_of_a_read_only_file_is_a_clean_error(
        in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "repo").mkdir()
    (in_tmp / "repo" / "good.yaml").write_text(GOOD, encoding="utf-8")
    text = "version: 1\ndecisions: []\n"
    (in_tmp / "ro.yaml").write_text(text, encoding="utf-8")
    read_only_for_the_user(in_tmp, monkeypatch)
    result = CliRunner().invoke(main, ["decisions", "init", "repo", "--update", "ro.yaml"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == "error: cannot write ro.yaml: the file is read-only\n"
    assert (in_tmp / "ro.yaml").read_text(encoding="utf-8") == text
    assert [p.name for p in in_tmp.iterdir() if p.is_file()] == ["ro.yaml"]


# Real permissions, in a child process: as a user, or as root without the capabilities that let root read and
# write any file (setpriv); chattr +i where the filesystem and capabilities allow it --------------------------

def _as_plain_user() -> list[str] | None:
    """A command prefix that runs a child without permission overrides, or None when there is none."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--inh-caps=-dac_override,-dac_read_search",
              "--bounding-set=-dac_override,-dac_read_search", "--"]
    with tempfile.NamedTemporaryFile() as probe:
        os.chmod(probe.name, 0)
        done = subprocess.run([*prefix, "cat", probe.name], capture_output=True, check=False)
    return prefix if done.returncode != 0 else None


def _chattr(flag: str, *paths: Path) -> bool:
    chattr = shutil.which("chattr")
    return chattr is not None and os.geteuid() == 0 and subprocess.run(
        [chattr, flag, *map(str, paths)], capture_output=True, check=False).returncode == 0


@dataclass(frozen=True)
class RealCase:
    file: str
    command: str  # scan, or rewrite (--write)
    line: str
    lock: Callable[[Path], None]
    unlock: Callable[[Path], None]
    needs: str  # "user": no permission overrides; "chattr": root that may set the immutable flag


REAL_CASES = {
    "unreadable-file": RealCase("secret.yaml", "scan", r": error: cannot read: Permission denied",
                                lambda p: p.chmod(0), lambda p: p.chmod(0o644), "user"),
    "read-only-file": RealCase("ro.yaml", "rewrite", ": error: not written: the file is read-only",
                               lambda p: p.chmod(0o444), lambda p: p.chmod(0o644), "user"),
    "read-only-folder": RealCase("locked/p.yaml", "rewrite", r": error: not written: cannot create a file in its "
                                 r"folder \(Permission denied\)", lambda p: p.parent.chmod(0o555),
                                 lambda p: p.parent.chmod(0o755), "user"),
    "immutable-file": RealCase("ro.yaml", "rewrite", ": error: not written: the file is read-only",
                               lambda p: None, lambda p: None, "chattr"),
    "immutable-folder": RealCase("locked/p.yaml", "rewrite", r": error: not written: cannot create a file in its "
                                 r"folder \(Operation not permitted\)", lambda p: None, lambda p: None, "chattr"),
}


@pytest.mark.parametrize("case", REAL_CASES.values(), ids=REAL_CASES.keys())
def test_real_permissions(tmp_path: Path, case: RealCase) -> None:
    repo = tmp_path / "repo"
    hostile = repo / case.file
    hostile.parent.mkdir(parents=True)
    (repo / "good.yaml").write_text(GOOD, encoding="utf-8")
    hostile.write_text(POLICY, encoding="utf-8")
    (tmp_path / "d.yaml").write_text(DECISIONS, encoding="utf-8")
    prefix: list[str] = []
    target = hostile if case.file == "ro.yaml" else hostile.parent
    if case.needs == "user":
        found = _as_plain_user()
        if found is None:
            pytest.skip("running as root, and setpriv cannot drop the capabilities that override permissions")
        prefix = found
        tmp_path.chmod(0o755)  # the child may be another user
        case.lock(hostile)
    elif not _chattr("+i", target):
        pytest.skip("chattr +i needs root with CAP_LINUX_IMMUTABLE on a filesystem that supports it")
    try:
        before = fingerprint(hostile) if case.command == "rewrite" else None
        args = ["scan"] if case.command == "scan" else ["rewrite", "--write"]
        done = subprocess.run([*prefix, sys.executable, "-m", "codemod", *args, "--decisions", "d.yaml", "repo"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
                              env={**os.environ, "PYTHONPATH": str(Path(codemod.sources.__file__).parents[1]),
                                   "CILIUM_CODEMOD_NO_CACHE": "1"})
        after = fingerprint(hostile) if case.command == "rewrite" else None
    finally:
        if case.needs == "chattr":
            _chattr("-i", target)
        case.unlock(hostile)
    assert done.returncode == 2, done.stderr
    shown = f"repo/{case.file}"
    # a file not written also keeps its finding listed as left: one error line, and that finding
    about = [line for line in (done.stdout + done.stderr).splitlines() if shown in line and " error: " in line]
    assert len(about) == 1 and re.fullmatch(re.escape(shown) + case.line, about[0]), done.stderr
    if before is not None:
        assert after == before
        assert (repo / "good.yaml").read_text(encoding="utf-8") == GOOD_ALL
    else:
        assert GOOD_FINDING in done.stdout.splitlines()
    assert not list(repo.rglob("*.tmp"))


# Decision files --------------------------------------------------------------------------------------------

def quote_it(line: int, field: str, word: str, boolean: str) -> str:
    return (rf":{line}: {re.escape(field)}: an unquoted {word} is the boolean {boolean} to YAML 1\.1 readers; "
            rf'quote it: "{word}"')


BAD_DECISIONS = {
    "clusters-not-a-list": ("version: 1\ndecisions:\n  - action: clusters\n    clusters: east\n",
                            r":4: decisions\[0\]\.clusters: 'east' is not of type 'array' \(write a list: \[east\]\)"),
    "version-a-string": ('version: "1"\ndefault: all-clusters\n', ":1: version: 1 was expected"),
    "unknown-top-level-key": ("version: 1\ndefault: all-clusters\nbogus: 1\n", ":3: bogus: unknown field"),
    "unknown-entry-key": ("version: 1\ndecisions:\n  - action: local\n    colour: red\n",
                          r":4: decisions\[0\]\.colour: unknown field"),
    "cluster-named-no-unquoted": ("version: 1\ndecisions:\n  - action: clusters\n    clusters: [east, no]\n",
                                  quote_it(4, "decisions[0].clusters[1]", "no", "false")),
    "cluster-named-on-block-list": ("version: 1\ndecisions:\n  - action: clusters\n    clusters:\n      - on\n",
                                    quote_it(5, "decisions[0].clusters[0]", "on", "true")),
    "cluster-named-N-in-flow-mapping": ("version: 1\ndecisions:\n  - {action: clusters, clusters: [N]}\n",
                                        quote_it(3, "decisions[0].clusters[0]", "N", "false")),
    "name-yes-unquoted": ("version: 1\ndecisions:\n  - match: {name: yes}\n    action: local\n",
                          quote_it(3, "decisions[0].match.name", "yes", "true")),
    "reason-off-unquoted": ("version: 1\ndecisions:\n  - action: local\n    reason: off  # for now\n",
                            quote_it(4, "decisions[0].reason", "off", "false")),
    "deny-yes": ("version: 1\ndecisions:\n  - match: {deny: yes}\n    action: all-clusters\n",
                 r":3: decisions\[0\]\.match\.deny: 'yes' is not of type 'boolean' \(write true\)"),
    "cluster-0755-unquoted": ("version: 1\ndecisions:\n  - action: clusters\n    clusters: [0755]\n",
                              r":4: decisions\[0\]\.clusters\[0\]: 755 is not of type 'string' \(YAML reads this "
                              r"unquoted value as a number, boolean or null: quote it\)"),
    "anchor-on-an-unquoted-no": ("version: 1\ndecisions:\n  - {action: clusters, clusters: [&c no]}\n"
                                 "  - {action: clusters, clusters: [*c]}\n",
                                 quote_it(3, "decisions[0].clusters[0]", "no", "false")),
}


@pytest.mark.parametrize(("text", "line"), BAD_DECISIONS.values(), ids=BAD_DECISIONS.keys())
def test_bad_decision_file_stops_the_run_before_any_file_is_touched(in_tmp: Path, text: str, line: str) -> None:
    (in_tmp / "repo").mkdir()
    (in_tmp / "repo" / "good.yaml").write_text(GOOD, encoding="utf-8")
    (in_tmp / "d.yaml").write_text(text, encoding="utf-8")
    for args in (["scan"], ["rewrite", "--write"]):
        result = bounded([*args, "--decisions", "d.yaml", "repo"], {"CILIUM_CODEMOD_NO_CACHE": "1"})
        assert result.exit_code == 2
        assert result.stdout == ""
        assert re.fullmatch("error: d.yaml" + line + "\n", result.stderr), result.stderr
        assert (in_tmp / "d.yaml").read_text(encoding="utf-8") == text
        assert (in_tmp / "repo" / "good.yaml").read_text(encoding="utf-8") == GOOD


GOOD_DENY = GOOD.replace("metadata: {name: g,", "metadata: {name: deny,").replace("ingress:", "ingressDeny:")

ANCHORED_DECISIONS = {
    # anchors and aliases are legal YAML: resolved, so each file means what its expanded twin says
    "anchored-cluster-list": (
        "version: 1\ndecisions:\n  - match: {name: g}\n    action: clusters\n    clusters: &both [east, west]\n"
        "  - match: {name: deny}\n    action: clusters\n    clusters: *both\n",
        "version: 1\ndecisions:\n  - match: {name: g}\n    action: clusters\n    clusters: [east, west]\n"
        "  - match: {name: deny}\n    action: clusters\n    clusters: [east, west]\n"),
    "anchored-entry-and-merge-key": (
        "version: 1\ndecisions:\n  - &east {match: {name: g}, action: clusters, clusters: [east]}\n"
        "  - {<<: *east, match: {name: deny}}\n",
        "version: 1\ndecisions:\n  - {match: {name: g}, action: clusters, clusters: [east]}\n"
        "  - {match: {name: deny}, action: clusters, clusters: [east]}\n"),
    "quoted-yaml-1.1-words": (
        'version: 1\ndecisions:\n  - {match: {name: "yes"}, action: local}\n'
        "  - action: clusters\n    clusters: &c ['no', \"on\", east]\n",
        "version: 1\ndecisions:\n  - {match: {name: 'yes'}, action: local}\n"
        "  - action: clusters\n    clusters: ['no', 'on', east]\n"),
}


@pytest.mark.parametrize(("anchored", "expanded"), ANCHORED_DECISIONS.values(), ids=ANCHORED_DECISIONS.keys())
def test_decision_file_anchors_and_aliases_are_resolved(in_tmp: Path, anchored: str, expanded: str) -> None:
    for name, text in (("anchored", anchored), ("expanded", expanded)):
        (in_tmp / name).mkdir()
        (in_tmp / name / "good.yaml").write_text(GOOD, encoding="utf-8")
        (in_tmp / name / "deny.yaml").write_text(GOOD_DENY, encoding="utf-8")
        (in_tmp / f"{name}.d.yaml").write_text(text, encoding="utf-8")
        result = bounded(["rewrite", "--write", "--decisions", f"{name}.d.yaml", name], {})
        assert result.exit_code == 0, result.output
    for file in ("good.yaml", "deny.yaml"):
        after = (in_tmp / "anchored" / file).read_text(encoding="utf-8")
        assert after == (in_tmp / "expanded" / file).read_text(encoding="utf-8")
        assert after != (GOOD if file == "good.yaml" else GOOD_DENY)


# The size limit: its spelling, every command that reads manifests, and worker processes ---------------------

@pytest.mark.parametrize(("given", "size"), [
    ("1048576", 1048576), ("512KiB", 512 * 1024), ("200MB", 200_000_000), ("1.5GiB", 3 * 1024**3 // 2),
    ("64 kb", 64_000), ("2mib", 2 * MiB), ("10B", 10),
])
def test_size_spellings(given: str, size: int) -> None:
    assert codemod.sources.parse_size(given) == size


@pytest.mark.parametrize("given", ["", "12XB", "-5", "0", "0.1B", "1e6", "MB", "1 2MB"])
def test_bad_size_is_a_usage_error(in_tmp: Path, given: str) -> None:
    (in_tmp / "good.yaml").write_text(GOOD, encoding="utf-8")
    tries: list[tuple[list[str], dict[str, str]]] = [(["--max-file-size", given], {})]
    if given:  # an empty variable counts as unset, as for every click option
        tries.append(([], {"CILIUM_CODEMOD_MAX_FILE_SIZE": given}))
    for args, env in tries:
        result = CliRunner().invoke(main, ["scan", *args, "good.yaml"], env=env)
        assert result.exit_code == 2
        assert "Invalid value for '--max-file-size'" in result.stderr
        assert "is not a size" in result.stderr or "must be above zero" in result.stderr


def test_option_wins_over_environment(in_tmp: Path) -> None:
    (in_tmp / "good.yaml").write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(main, ["scan", "--max-file-size", "1MiB", "good.yaml"],
                                env={"CILIUM_CODEMOD_MAX_FILE_SIZE": "10"})
    assert result.exit_code == 1, result.output
    assert result.stderr == ""


def test_a_raised_limit_lets_the_file_in(in_tmp: Path) -> None:
    (in_tmp / "big.yaml").write_text(POLICY + "#" * 1500 + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["scan", "--max-file-size", "2KiB", "big.yaml"],
                                env={"CILIUM_CODEMOD_MAX_FILE_SIZE": "1KiB"}, catch_exceptions=False)
    assert (result.exit_code, result.stderr) == (1, "")
    assert result.stdout.startswith("big.yaml:8: implicit-cluster-selector b/hostile ")


LIMIT_ERROR = ("big.yaml: error: too large: 1.6 KiB, over the size limit of 1 KiB (raise it with --max-file-size "
               "or CILIUM_CODEMOD_MAX_FILE_SIZE)")


@pytest.mark.parametrize("command", [
    ["scan"], ["rewrite", "--write", "--decisions", "d.yaml"], ["hook", "check", "--decisions", "d.yaml"],
    ["hook", "fix", "--decisions", "d.yaml"], ["decisions", "init"],
    ["rewrite", "--decisions", "d.yaml", "--escape-hatch", "off"],
], ids=["scan", "rewrite", "hook-check", "hook-fix", "decisions-init", "rewrite-escape-hatch-off"])
@pytest.mark.parametrize("how", ["option", "environment"])
def test_size_limit_on_every_command_that_reads_manifests(in_tmp: Path, command: list[str], how: str) -> None:
    (in_tmp / "good.yaml").write_text(GOOD, encoding="utf-8")
    (in_tmp / "big.yaml").write_text(POLICY + "#" * 1500 + "\n", encoding="utf-8")
    (in_tmp / "d.yaml").write_text(DECISIONS, encoding="utf-8")
    args, env = (["--max-file-size", "1KiB"], {}) if how == "option" else ([], {"CILIUM_CODEMOD_MAX_FILE_SIZE": "1KiB"})
    before = (in_tmp / "big.yaml").read_bytes()
    result = CliRunner().invoke(main, [*command, *args, "big.yaml", "good.yaml"], env=env, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert [line for line in result.output.splitlines() if "big.yaml" in line] == [LIMIT_ERROR]
    assert (in_tmp / "big.yaml").read_bytes() == before


def test_size_limit_reaches_worker_processes(in_tmp: Path) -> None:
    repo = in_tmp / "repo"
    repo.mkdir()
    for i in range(80):
        (repo / f"p{i:02}.yaml").write_text(GOOD.replace("name: g,", f"name: g{i},"), encoding="utf-8")
    (repo / "big.yaml").write_text(POLICY + "#" * 1500 + "\n", encoding="utf-8")
    (in_tmp / "d.yaml").write_text(DECISIONS, encoding="utf-8")
    for jobs in ("1", "2"):
        result = CliRunner().invoke(main, ["scan", "--jobs", jobs, "--max-file-size", "1KiB", "--decisions",
                                           "d.yaml", "repo"], catch_exceptions=False)
        assert result.exit_code == 2
        assert result.stderr == "repo/" + LIMIT_ERROR + "\n"
        assert result.stdout.endswith("(80 policies in 80 files, 1 error).\n")
    result = CliRunner().invoke(main, ["rewrite", "--write", "--jobs", "2", "--decisions", "d.yaml", "repo"],
                                env={"CILIUM_CODEMOD_MAX_FILE_SIZE": "1KiB"}, catch_exceptions=False)
    assert result.exit_code == 2
    assert "repo/" + LIMIT_ERROR in result.stderr.splitlines()
    assert result.stderr.endswith("rewrote 80 files (80 changes: 80 all-clusters); 0 findings left; 1 error\n")


def test_help_documents_the_limit() -> None:
    for command in (["scan"], ["rewrite"], ["hook", "check"], ["hook", "fix"], ["decisions", "init"]):
        text = " ".join(CliRunner().invoke(main, [*command, "--help"]).stdout.split())
        assert "--max-file-size SIZE" in text and "CILIUM_CODEMOD_MAX_FILE_SIZE" in text and "32MiB" in text


# write_atomically ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600, 0o444])
def test_write_keeps_the_mode_and_leaves_no_temporary_file(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"old\n")
    path.chmod(mode)
    if not os.access(path, os.W_OK):
        pytest.skip("a read-only file is refused when the user may not write it")
    write_atomically(path, b"new\n")
    assert path.read_bytes() == b"new\n"
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["p.yaml"]


def test_write_syncs_the_folder_after_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_atomically(tmp_path / "p.yaml", b"new\n")
    assert synced == ["file", "folder"]


def test_a_folder_that_refuses_fsync_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    write_atomically(tmp_path / "p.yaml", b"new\n")
    assert (tmp_path / "p.yaml").read_bytes() == b"new\n"


@pytest.mark.parametrize("failing", ["fsync", "chmod", "replace", "interrupt"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"old\n")
    path.chmod(0o640)

    def fail(*args: object, **kwargs: object) -> None:
        if failing == "interrupt":
            raise KeyboardInterrupt
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "replace" if failing == "interrupt" else failing, fail)
    with pytest.raises(KeyboardInterrupt if failing == "interrupt" else OSError):
        write_atomically(path, b"new\n")
    monkeypatch.undo()
    assert path.read_bytes() == b"old\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["p.yaml"]
