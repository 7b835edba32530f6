"""The on-disk kernel cache: compiled vmfbs keyed by everything that changes the binary.

Layout (one directory per entry, so an entry appears whole or not at all):

    <cache>/v1/<target cache id>/<entry key>/
        kernel.vmfb    the binary
        kernel.mlir    the exact IR compiled
        compile.sh     the iree-compile command that reproduces kernel.vmfb from kernel.mlir
        meta.json      signature, target, flags, compiler version, strategy, sha256 and size

Safe to leave on and share between processes: entries are built in a temporary directory and
renamed into place; a per-entry file lock makes concurrent builders of one key do the work
once; an entry whose files do not match the sha256 in its meta.json, or whose meta.json is not
a readable JSON object, is rebuilt, never executed. The lock (`entry_lock`) waits at most
`BOO_CACHE_LOCK_TIMEOUT` seconds (300) and then says which pid holds it; a lock path that is a
symlink, a directory or anything but a regular file is removed and recreated; lock files are
removed on release (and stale ones by `clear`/`prune`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import config
from .errors import BooError, MIOpenStatus

__all__ = ["CacheEntry", "KernelCache", "default_cache_dir", "entry_key"]

LAYOUT_VERSION = "v1"


def default_cache_dir() -> Path:
    env = config.cache_dir()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "boo"


def entry_key(parts: dict) -> str:
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class CacheEntry:
    path: Path  # the entry directory
    meta: dict

    @property
    def vmfb_path(self) -> Path:
        return self.path / "kernel.vmfb"

    @property
    def mlir_path(self) -> Path:
        return self.path / "kernel.mlir"

    def read_vmfb(self) -> bytes:
        """The vmfb bytes, checked against the recorded hash (raises CorruptEntry)."""
        data = self.vmfb_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.meta.get("vmfb_sha256"):
            raise CorruptEntry(f"{self.vmfb_path}: contents do not match meta.json")
        return data


class CorruptEntry(Exception):
    pass


class CacheLockTimeout(BooError, TimeoutError):
    """Another process held a cache entry's lock for longer than the lock timeout."""

    status = MIOpenStatus.InternalError


DEFAULT_LOCK_TIMEOUT_S = 300.0  # env BOO_CACHE_LOCK_TIMEOUT; a compile takes seconds, not minutes


def _open_lock_file(path: Path) -> int:
    """Open (creating) a lock file, repairing what would otherwise fail forever: a symlink
    (dangling or not: never followed), a directory or any non-regular file there is removed."""
    for _ in range(5):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EACCES, errno.ENOTDIR):
                _remove_any(path)
                continue
            raise
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
        os.close(fd)
        _remove_any(path)
    raise CacheLockTimeout(f"cache lock {path}: cannot create a lock file there (something keeps replacing it)")


def _remove_any(path: Path) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


@contextlib.contextmanager
def entry_lock(path: Path, timeout_s: float | None = None):
    """An exclusive inter-process lock on `path` (flock), for at most `timeout_s` of waiting.

    The lock file is removed on release (lock files used to pile up forever), which is safe
    because a waiter that got the lock checks that `path` is still the file it locked and
    otherwise starts over on the new one.
    """
    if timeout_s is None:
        timeout_s = config.cache_lock_timeout_s(DEFAULT_LOCK_TIMEOUT_S)
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        fd = _open_lock_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            if time.monotonic() >= deadline:
                raise CacheLockTimeout(
                    f"cache lock {path} has been held by pid {holder} for over {timeout_s:g} s; if that "
                    "process is stuck, end it (or set BOO_CACHE_LOCK_TIMEOUT)") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
            continue
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # released and removed while we waited: lock the file that is there now
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)  # who holds it, for the timeout message
        yield
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


@dataclass(frozen=True)
class BuildResult:
    """What a builder hands the cache to store."""

    vmfb: bytes
    mlir: str
    command: str  # shell command reproducing the vmfb from kernel.mlir
    meta: dict


class KernelCache:
    """One cache directory. Cheap to construct; holds no open files."""

    def __init__(self, root: str | os.PathLike | None = None, *, lock_timeout_s: float | None = None):
        self.root = Path(root).expanduser() if root else default_cache_dir()
        self.lock_timeout_s = lock_timeout_s  # None: $BOO_CACHE_LOCK_TIMEOUT or 300 s

    def _lock(self, entry_path: Path):
        return entry_lock(Path(str(entry_path) + ".lock"), self.lock_timeout_s)

    def _entry_dir(self, target_id: str, key: str) -> Path:
        return self.root / LAYOUT_VERSION / target_id / key

    def lookup(self, target_id: str, key: str) -> CacheEntry | None:
        """A valid entry, or None (a broken one is removed so that it gets rebuilt)."""
        path = self._entry_dir(target_id, key)
        meta_path = path / "meta.json"
        if not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if not isinstance(meta, dict):  # valid JSON but not an entry ([], null, "x")
                raise CorruptEntry(f"{meta_path}: not a JSON object")
            entry = CacheEntry(path, meta)
            size = entry.vmfb_path.stat().st_size
            if size != meta.get("vmfb_size"):
                raise CorruptEntry(f"{entry.vmfb_path}: size {size} != {meta.get('vmfb_size')}")
            return entry
        except (OSError, ValueError, TypeError, CorruptEntry):
            self._discard(path)
            return None

    def get_or_build(
        self, target_id: str, key: str, build: Callable[[], BuildResult]
    ) -> tuple[CacheEntry, bool]:
        """Return (entry, hit). On a miss, `build` runs once across all processes."""
        entry = self.lookup(target_id, key)
        if entry is not None:
            return entry, True
        path = self._entry_dir(target_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock(path):
            entry = self.lookup(target_id, key)  # another process may have built it meanwhile
            if entry is not None:
                return entry, True
            result = build()
            return self._store(path, result), False

    def invalidate(self, entry: CacheEntry) -> None:
        with self._lock(entry.path):
            self._discard(entry.path)

    def _store(self, path: Path, result: BuildResult) -> CacheEntry:
        meta = dict(result.meta)
        meta.update(vmfb_sha256=hashlib.sha256(result.vmfb).hexdigest(), vmfb_size=len(result.vmfb))
        return self._publish(path, meta, vmfb=result.vmfb, mlir=result.mlir, command=result.command)

    def _publish(self, path: Path, meta: dict, *, vmfb: bytes | None = None, mlir: str | None = None,
                 command: str | None = None) -> CacheEntry:
        """Write an entry in a temporary directory beside `path` and rename it into place, so a
        reader sees a whole entry or none (the caller holds the entry's lock)."""
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=path.parent))
        try:
            if vmfb is not None:
                (tmp / "kernel.vmfb").write_bytes(vmfb)
            if mlir is not None:
                (tmp / "kernel.mlir").write_text(mlir)
            if command is not None:
                (tmp / "compile.sh").write_text("#!/bin/sh\ncd \"$(dirname \"$0\")\"\n" + command + "\n")
            meta = dict(meta, created=time.time())
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            self._discard(path)
            os.rename(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return CacheEntry(path, meta)

    @staticmethod
    def _discard(path: Path) -> None:
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            _remove_any(path)  # not an entry directory at all: nothing to keep readers from
            return
        if path.exists():
            # Rename first so a reader never sees a half-deleted entry.
            trash = path.with_name(f".trash-{path.name}-{os.getpid()}-{time.monotonic_ns()}")
            try:
                os.rename(path, trash)
            except OSError:
                return
            shutil.rmtree(trash, ignore_errors=True)

    # ------------------------------------------------------------------ failures
    # A key whose compile failed deterministically gets a sibling `<key>.failed/` directory
    # (meta.json with "failed": true, plus the IR and command that failed), so that the next
    # request answers at once instead of compiling again. It sits beside the positive entry
    # rather than inside it so that nothing that validates or repairs positive entries can
    # mistake one for the other; `entries()`, `clear()` and `prune()` see it like any entry.
    FAILED_SUFFIX = ".failed"

    def lookup_failure(self, target_id: str, key: str) -> CacheEntry | None:
        path = self._entry_dir(target_id, key + self.FAILED_SUFFIX)
        try:
            meta = json.loads((path / "meta.json").read_text())
        except (OSError, ValueError):
            return None  # absent, or unreadable: compiling again is the safe answer
        return CacheEntry(path, meta) if isinstance(meta, dict) and meta.get("failed") else None

    def store_failure(self, target_id: str, key: str, meta: dict, mlir: str | None = None,
                      command: str | None = None) -> CacheEntry:
        path = self._entry_dir(target_id, key + self.FAILED_SUFFIX)
        path.parent.mkdir(parents=True, exist_ok=True)
        return self._publish(path, dict(meta, failed=True), mlir=mlir, command=command)

    # ------------------------------------------------------------------ maintenance
    def entries(self) -> list[CacheEntry]:
        base = self.root / LAYOUT_VERSION
        out = []
        if not base.exists():
            return out
        for target_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            for d in sorted(p for p in target_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
                try:
                    meta = json.loads((d / "meta.json").read_text())
                except (OSError, ValueError):
                    meta = None
                out.append(CacheEntry(d, meta if isinstance(meta, dict) else {"broken": True}))
        return out

    def remove_stale_locks(self) -> int:
        """Remove lock files nobody holds (left by a crash, or by versions that never removed
        them) and broken ones (symlinks, directories); returns how many."""
        base = self.root / LAYOUT_VERSION
        n = 0
        if not base.exists():
            return n
        for target_dir in (p for p in base.iterdir() if p.is_dir()):
            for lock in target_dir.glob("*.lock"):
                if lock.is_symlink() or not lock.is_file():
                    _remove_any(lock)
                    n += 1
                    continue
                try:
                    with entry_lock(lock, timeout_s=0):  # removes it on release
                        n += 1
                except (CacheLockTimeout, OSError):
                    pass  # held: someone is building that entry right now
        return n

    @staticmethod
    def entry_size(entry: CacheEntry) -> int:
        return sum(f.stat().st_size for f in entry.path.iterdir() if f.is_file())

    def clear(self) -> int:
        n = 0
        for e in self.entries():
            self.invalidate(e)
            n += 1
        self.remove_stale_locks()
        return n

    def prune(self, max_bytes: int) -> list[CacheEntry]:
        """Drop least recently used entries (by vmfb access/modification time) until under max_bytes."""
        entries = self.entries()

        def last_used(e: CacheEntry) -> float:
            try:
                st = e.vmfb_path.stat()
                return max(st.st_atime, st.st_mtime)
            except OSError:
                return 0.0

        entries.sort(key=last_used)
        total = sum(self.entry_size(e) for e in entries)
        removed = []
        for e in entries:
            if total <= max_bytes:
                break
            total -= self.entry_size(e)
            self.invalidate(e)
            removed.append(e)
        self.remove_stale_locks()
        return removed
