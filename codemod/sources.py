"""Finding the files to look at, and reading them without losing a byte.

The walker honours `.git` and `.gitignore` the way users expect from ruff or black; a file named on the
command line is always taken, unless it is a symbolic link (never followed) or not a regular file.
Reading keeps what the writer must put back: a UTF-8 BOM and the line endings (CRLF stays CRLF), since
offsets and edits work on the decoded text without the BOM. A file larger than the size limit is refused
from its size alone, before a byte is read; a SOPS-encrypted file is skipped before it is parsed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

SUFFIXES = (".yaml", ".yml", ".json")
BOM = "\ufeff"
# Every kind the engine reads (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, NetworkPolicy and
# their lists) contains this word, so a file without it is passed over before any parsing.
POLICY_WORD = b"NetworkPolicy"
_TEMPLATE_TAG = re.compile(r"\{\{|\{%|\{#")
TEMPLATE_REASON = "template (Helm/Go/Jinja): not YAML until rendered"
SOPS_REASON = "SOPS-encrypted: editing it would break its MAC"
# SOPS keeps the keys and encrypts the values, and adds a top-level `sops` mapping with the `mac` of the whole
# document and the time it was last encrypted (YAML: `sops:` at the start of a line; JSON: `"sops": {`).
_SOPS_KEY = re.compile(r'^sops:[ \t]*(?:#.*)?$|"sops"[ \t]*:[ \t]*\{', re.MULTILINE)
_SOPS_MAC = re.compile(r'\bmac"?[ \t]*:[ \t]*["\']?ENC\[AES256_GCM,')

DEFAULT_MAX_FILE_SIZE = 32 * 1024 * 1024  # bytes; --max-file-size, CILIUM_CODEMOD_MAX_FILE_SIZE
MAX_FILE_SIZE_ENV = "CILIUM_CODEMOD_MAX_FILE_SIZE"
_SIZE = re.compile(r"(\d+(?:\.\d+)?)[ \t]*([kmg]i?b|b)?", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
# Byte-order marks of encodings other than UTF-8, longest first (UTF-32 LE starts like UTF-16 LE).
_OTHER_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32", "utf-32"), (b"\x00\x00\xfe\xff", "UTF-32", "utf-32"),
               (b"\xff\xfe", "UTF-16", "utf-16"), (b"\xfe\xff", "UTF-16", "utf-16"))


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


class Skipped(NamedTuple):
    file: str
    reason: str


class FileError(NamedTuple):
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
    overlap = len(roots) > 1  # one root's walk never meets a file twice (links are not followed)
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
        if not overlap:
            yield from found
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
        path = folder / entry.name  # half the cost of parsing entry.path
        if entry.is_dir(follow_symlinks=False):
            if entry.name == ".git" or _ignored(specs, path, True):
                continue
            yield from _walk_folder(path, specs)
        elif entry.name.endswith(SUFFIXES) and entry.is_file(follow_symlinks=False) \
                and not _ignored(specs, path, False):
            yield path  # regular files only: no symbolic links, FIFOs or devices


def parse_size(value: str) -> int:
    """A size as users write it: `1048576` (bytes), `512KiB`, `200MB`, `1.5GiB` (kB, MB, GB are powers of
    1000; KiB, MiB, GiB powers of 1024; case ignored). ValueError when it is not one, or not above zero."""
    match = _SIZE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not a size: give bytes (1048576) or a number with a unit "
                         "(512KiB, 200MB, 1GiB)")
    size = int(float(match.group(1)) * _UNITS[(match.group(2) or "b").lower()])
    if size <= 0:
        raise ValueError(f"{value!r}: the size limit must be above zero")
    return size


def format_size(size: int) -> str:
    """`32 MiB`, `200 MB`, `1.5 KiB`, `700 bytes`: exact in the unit the number was likely given in."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024), ("GB", 1000**3), ("MB", 1000**2),
                         ("kB", 1000)):
        if size >= factor and size % factor == 0:
            return f"{size // factor:,} {unit}"
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:,.1f} {unit}"
    return f"{size:,} byte{'' if size == 1 else 's'}"


def too_large(size: int, limit: int) -> str:
    return (f"too large: {format_size(size)}, over the size limit of {format_size(limit)} (raise it with "
            f"--max-file-size or {MAX_FILE_SIZE_ENV})")


def read_source(path: Path, words: Iterable[bytes] = (POLICY_WORD,), always: bool = False,
                max_size: int = DEFAULT_MAX_FILE_SIZE) -> SourceFile | Skipped | FileError | None:
    """Read and decode one file; None when it holds none of `words` (the kinds the rules look at) and needs
    no further look, unless `always` (a Helm values file, known by its name). A file above `max_size` bytes
    is an error decided from its size, never read."""
    shown = display_path(path)
    if path.is_symlink():
        return Skipped(shown, "symbolic link (not followed)")
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return Skipped(shown, "not a regular file")
        if info.st_size > max_size:
            return FileError(shown, None, too_large(info.st_size, max_size))
        with path.open("rb") as handle:
            raw = handle.read(info.st_size + 1)
            if len(raw) > info.st_size:  # it grew since: read on, but never more than the limit
                raw += handle.read(max(0, max_size + 1 - len(raw)))
    except OSError as exc:
        return FileError(shown, None, f"cannot read: {exc.strerror or exc}")
    if len(raw) > max_size:
        return FileError(shown, None, too_large(len(raw), max_size))
    for mark, name, codec in _OTHER_BOMS:
        if raw.startswith(mark):
            if not always and not any(word.decode() in raw.decode(codec, "replace") for word in words):
                return None
            return FileError(shown, None, f"{name} text: save it as UTF-8")
    if not always and not any(word in raw for word in words):
        return None
    if b"\0" in raw:
        return FileError(shown, raw[: raw.index(b"\0")].count(b"\n") + 1, "binary file (NUL byte)")
    bom = raw.startswith(BOM.encode("utf-8"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return FileError(shown, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}): save it as UTF-8")
    if bom:
        text = text[1:]
    if is_sops_encrypted(text):
        return Skipped(shown, SOPS_REASON)
    return SourceFile(path, shown, raw, text, bom)


def is_sops_encrypted(text: str) -> bool:
    """Whether the text is a SOPS-encrypted file: a top-level `sops` key, and a MAC encrypted with AES-GCM.
    Its values are ciphertext and its MAC covers them all, so it is never parsed as a policy or rewritten."""
    return "ENC[AES256_GCM," in text and "lastmodified" in text and _SOPS_KEY.search(text) is not None \
        and _SOPS_MAC.search(text) is not None


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


def write_atomically(path: Path, data: bytes, sync: bool = True) -> None:
    """Write through a temporary file in the same folder, fsync, rename, then fsync the folder (so the rename
    itself survives a crash; a batch of writes passes `sync=False` and calls `sync_folder` once per
    folder at the end); the mode is kept (a new file gets the usual mode under the umask). A file the
    user may not write is refused, not replaced; on any failure the temporary file is removed and the old
    file is left as it was."""
    import tempfile

    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    else:  # renaming over it would succeed in a writable folder: honour the file's own permission
        if not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, "the file is read-only", str(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        # a read-only folder: say so, rather than name a temporary file the user never heard of
        raise type(exc)(exc.errno, f"cannot create a file in its folder ({exc.strerror})", str(path.parent)) from None
    try:
        try:
            handle = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            raise
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """fsync a folder, making a rename in it durable; some filesystems (and Windows) refuse: nothing is lost
    but that guarantee."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
