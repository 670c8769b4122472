"""Finding the files to look at, and reading them without losing a byte.

The walker honours `.git` and `.gitignore` the way users expect from ruff or black; a file named on the
command line is always taken, unless it is a symbolic link (never followed) or not a regular file.
Reading keeps what the writer must put back: a UTF-8 BOM and the line endings (CRLF stays CRLF), since
offsets and edits work on the decoded text without the BOM.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIXES = (".yaml", ".yml", ".json")
BOM = "\ufeff"
# Every kind the engine reads (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy and
# their lists) contains this word, so a file without it is passed over before any parsing.
POLICY_WORD = b"NetworkPolicy"
_TEMPLATE_TAG = re.compile(r"\{\{|\{%|\{#")
TEMPLATE_REASON = "template (Helm/Go/Jinja): not YAML until rendered"


@dataclass
class SourceFile:
    path: Path  # absolute
    display: str  # as shown to the user: relative to the working folder when under it
    raw: bytes
    text: str  # decoded, without the BOM
    bom: bool

    @property
    def newline(self) -> str:
        """The line ending the file uses (from its first line), for the lines we add."""
        end = self.text.find("\n")
        return "\r\n" if end > 0 and self.text[end - 1] == "\r" else "\n"

    def encode(self, text: str) -> bytes:
        return ((BOM if self.bom else "") + text).encode("utf-8")


@dataclass(frozen=True)
class Skipped:
    file: str
    reason: str


@dataclass(frozen=True)
class FileError:
    file: str
    line: int | None
    message: str


def display_path(path: Path) -> str:
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


def absolute(path: str | Path) -> Path:
    """An absolute, normalised path (`a/../b` is `b`) without following symbolic links."""
    return Path(os.path.abspath(path))


def discover(roots: list[str]) -> Iterator[Path | Skipped | FileError]:
    """Files to read, in a stable order; each file once, however it was spelled or how often named."""
    seen: set[Path] = set()
    for root in roots:
        path = absolute(root)
        if path.is_symlink() and path.is_dir():
            yield Skipped(root, "symbolic link to a folder (not followed)")
            continue
        found: Iterator[Path | FileError]
        if path.is_dir():
            found = _walk(path)
        elif path.exists() or path.is_symlink():
            found = iter([path])
        else:
            yield FileError(root, None, "no such file or folder")
            continue
        for item in found:
            if isinstance(item, FileError) or item not in seen:
                if isinstance(item, Path):
                    seen.add(item)
                yield item


def _repo_root(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _ignore_spec(folder: Path) -> Any | None:
    lines: list[str] = []
    for name in (".gitignore", ".git/info/exclude"):
        try:
            lines += (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
    if not lines:
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ignored(specs: list[tuple[Path, Any]], path: Path, is_dir: bool) -> bool:
    """Git's rule: the deepest .gitignore with a matching pattern decides, negations included."""
    for base, spec in reversed(specs):
        rel = path.relative_to(base).as_posix() + ("/" if is_dir else "")
        result = spec.check_file(rel)
        if result.include is not None:
            return bool(result.include)
    return False


def _walk(root: Path) -> Iterator[Path | FileError]:
    repo = _repo_root(root)
    specs: list[tuple[Path, Any]] = []
    if repo is not None:
        for folder in reversed([root, *root.parents]):
            if folder == root or not folder.is_relative_to(repo):
                continue
            spec = _ignore_spec(folder)
            if spec is not None:
                specs.append((folder, spec))
    yield from _walk_folder(root, specs)


def _walk_folder(folder: Path, specs: list[tuple[Path, Any]]) -> Iterator[Path | FileError]:
    spec = _ignore_spec(folder)
    if spec is not None:
        specs = [*specs, (folder, spec)]
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield FileError(display_path(folder), None, f"cannot read folder: {exc.strerror or exc}")
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            if entry.name == ".git" or _ignored(specs, path, True):
                continue
            yield from _walk_folder(path, specs)
        elif entry.name.endswith(SUFFIXES) and entry.is_file(follow_symlinks=False) \
                and not _ignored(specs, path, False):
            yield path  # regular files only: no symbolic links, FIFOs or devices


def read_source(path: Path, words: Iterable[bytes] = (POLICY_WORD,),
                always: bool = False) -> SourceFile | Skipped | FileError | None:
    """Read and decode one file; None when it holds none of `words` (the kinds the rules look at) and needs
    no further look, unless `always` (a Helm values file, known by its name)."""
    shown = display_path(path)
    if path.is_symlink():
        return Skipped(shown, "symbolic link (not followed)")
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return Skipped(shown, "not a regular file")
        raw = path.read_bytes()
    except OSError as exc:
        return FileError(shown, None, f"cannot read: {exc.strerror or exc}")
    if not always and not any(word in raw for word in words):
        return None
    bom = raw.startswith(BOM.encode("utf-8"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return FileError(shown, line, "not UTF-8 text")
    if bom:
        text = text[1:]
    if "\0" in text:
        return FileError(shown, text[: text.index("\0")].count("\n") + 1, "binary file (NUL byte)")
    return SourceFile(path, shown, raw, text, bom)


def has_template_tag(text: str) -> bool:
    return _TEMPLATE_TAG.search(text) is not None


def template_reason(text: str, in_scalar: Callable[[int], bool] | None = None) -> str | None:
    """Why a file is a Helm/Go/Jinja template that is not YAML until rendered, or None.

    A template tag counts unless it sits in a comment or, when the text parsed (`in_scalar` given), inside
    a scalar: `{{ ... }}` in a quoted string or a block scalar (Alertmanager templates, say) is YAML."""
    for match in _TEMPLATE_TAG.finditer(text):
        pos = match.start()
        if in_scalar is not None and in_scalar(pos):
            continue
        line_start = text.rfind("\n", 0, pos) + 1
        if any(text[h] == "#" and (h == line_start or text[h - 1] in " \t")
               and not (in_scalar is not None and in_scalar(h)) for h in range(line_start, pos)):
            continue  # in a comment
        return TEMPLATE_REASON
    return None


def write_atomically(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, fsync, then rename; the mode is kept (a new file
    gets the usual mode under the umask)."""
    import tempfile

    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
