"""POSIX shared-memory segments for tensors too large to travel inline (see protocol.ShmRef).

The client creates its segments private (0600, `boo-<pid>-<hex>`), reuses them and unlinks them
(on growth, close and exit); the daemon attaches only segments their own peer created, unmaps
those of clients that went away and unlinks those of clients that died (`sweep_orphan_segments`).
"""

from __future__ import annotations

import atexit
import os
import stat
import threading
from collections import OrderedDict
from pathlib import Path

from .protocol import SHM_CLIENT_RE, SHM_NAME_RE, ProtocolError, ShmRef



# --------------------------------------------------------------------------------- shared memory
# Segments are opened with `_posixshmem` (what multiprocessing.shared_memory uses) rather than
# `SharedMemory`: Python 3.11 registers every SharedMemory, even one it merely attaches to, with
# multiprocessing's resource_tracker, which then unlinks the creator's segment (attach side) or
# prints "leaked shared_memory objects" warnings (create side), and the tracker process itself
# outlives a SIGKILLed owner. Here the creator unlinks its own segments (close, atexit), and the
# daemon unlinks those whose creator died (`sweep_orphan_segments`).
import _posixshmem  # noqa: E402
import mmap  # noqa: E402
import weakref  # noqa: E402

SHM_DIR = Path("/dev/shm")  # where Linux keeps POSIX segments (for inode checks and sweeps)
_OWNED: "weakref.WeakSet[ShmSegment]" = weakref.WeakSet()  # segments this process created


def pid_alive(pid: int) -> bool:
    """True unless `pid` is certainly gone (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


class ShmSegment:
    """A mapped POSIX shared-memory segment: created (and later unlinked) by a client, or
    attached by the daemon after ownership checks."""

    def __init__(self, name: str, size: int, mm: mmap.mmap, ino: int, creator: int | None):
        self.name, self.size, self._mmap, self.ino = name, size, mm, ino
        self._creator = creator  # pid that created it here (and must unlink it), else None
        self.buf = memoryview(mm)

    @classmethod
    def create(cls, nbytes: int) -> "ShmSegment":
        import secrets

        pid = os.getpid()
        while True:
            name = f"boo-{pid}-{secrets.token_hex(8)}"
            try:
                fd = _posixshmem.shm_open("/" + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
                break
            except FileExistsError:
                continue
        try:
            os.ftruncate(fd, max(nbytes, 1))
            mm = mmap.mmap(fd, max(nbytes, 1))
            ino = os.fstat(fd).st_ino
        except BaseException:
            _posixshmem.shm_unlink("/" + name)
            raise
        finally:
            os.close(fd)
        seg = cls(name, max(nbytes, 1), mm, ino, pid)
        _OWNED.add(seg)
        return seg

    @classmethod
    def attach(cls, name: str, peer_pid: int | None = None) -> "ShmSegment":
        """Map an existing segment after checking that it is a regular object private to this
        uid and, when `peer_pid` is given, that it is named for (created by) that process."""
        if not SHM_NAME_RE.match(name):
            raise ProtocolError(f"shm name {name[:80]!r} is not a valid boo segment name")
        if peer_pid is not None:
            m = SHM_CLIENT_RE.match(name)
            if not m or int(m.group(1)) != peer_pid:
                raise ProtocolError(f"shm segment {name!r} was not created by the requesting process "
                                    f"(pid {peer_pid}); name your own boo-<pid>-<hex> segments")
        try:
            fd = _posixshmem.shm_open("/" + name.lstrip("/"), os.O_RDWR, 0)  # glibc adds O_NOFOLLOW
        except FileNotFoundError:
            raise ProtocolError(f"shm segment {name!r} does not exist") from None
        except PermissionError:
            raise ProtocolError(f"shm segment {name!r}: permission denied") from None
        except (OSError, ValueError) as e:
            raise ProtocolError(f"shm segment {name!r}: {e}") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise ProtocolError(f"shm segment {name!r} is not a regular shared-memory object")
            if st.st_uid != os.getuid() or st.st_mode & 0o077:
                raise ProtocolError(f"shm segment {name!r} is not private to this user "
                                    f"(uid {st.st_uid}, mode {stat.S_IMODE(st.st_mode):o})")
            if st.st_size == 0:
                raise ProtocolError(f"shm segment {name!r} is empty")
            mm = mmap.mmap(fd, st.st_size)
        finally:
            os.close(fd)
        return cls(name, st.st_size, mm, st.st_ino, None)

    def close(self) -> None:
        """Unmap (the name stays); a view still exported keeps the mapping until it is freed."""
        try:
            self.buf.release()
            self._mmap.close()
        except (BufferError, ValueError):
            pass

    def unlink(self) -> None:
        """Remove the name, only in the process that created it (never in a forked child)."""
        if self._creator is not None and self._creator == os.getpid():
            self._creator = None
            _OWNED.discard(self)
            try:
                _posixshmem.shm_unlink("/" + self.name)
            except FileNotFoundError:
                pass


@atexit.register
def _unlink_owned() -> None:
    """Normal interpreter exit (also the shim's embedded Python): no segment of ours survives."""
    for seg in list(_OWNED):
        seg.unlink()


def attach_shm(name: str, peer_pid: int | None = None) -> ShmSegment:
    """Open an existing segment (see `ShmSegment.attach`); no resource_tracker is involved."""
    return ShmSegment.attach(name, peer_pid)


def _shm_inode(name: str) -> int | None:
    try:
        return os.stat(SHM_DIR / name.lstrip("/"), follow_symlinks=False).st_ino
    except OSError:
        return None


def peer_credentials(peer_address: str | None) -> tuple[int, int] | None:
    """(uid, pid) from a zmq frame's `Peer-Address` on an ipc connection ("host:uid:gid:pid",
    from SO_PEERCRED), else None (tcp peers carry an IP address only)."""
    if not peer_address:
        return None
    parts = peer_address.rsplit(":", 3)
    if len(parts) != 4 or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[3])


def sweep_orphan_segments(shm_dir: Path | None = None) -> list[str]:
    """Unlink this uid's `boo-<pid>-<hex>` segments whose creator is dead (a client killed
    before it could unlink them); returns their names."""
    d = shm_dir or SHM_DIR
    removed = []
    try:
        names = os.listdir(d)
    except OSError:
        return removed
    uid = os.getuid()
    for name in names:
        m = SHM_CLIENT_RE.match(name)
        if not m or pid_alive(int(m.group(1))):
            continue
        try:
            st = os.lstat(d / name)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != uid:
                continue
            if d == SHM_DIR:
                _posixshmem.shm_unlink("/" + name)
            else:
                os.unlink(d / name)
            removed.append(name)
        except OSError:
            pass
    return removed


class ShmAttachments:
    """The daemon's cache of attached client segments, bounded in count and in idle bytes.

    Entries are re-validated against the segment's inode on every use, so a name that was
    unlinked and created again is re-attached rather than served from a stale mapping; `sweep`
    unmaps segments that are gone or whose creator died, so a killed client's memory is not
    held by the daemon.
    """

    def __init__(self, capacity: int = 32, max_idle_bytes: int = 256 << 20):
        self.capacity = capacity
        self.max_idle_bytes = max_idle_bytes
        self._lock = threading.Lock()
        self._segs: OrderedDict[str, list] = OrderedDict()  # name -> [seg, refs, inode]

    def acquire(self, ref: ShmRef, peer_pid: int | None = None) -> tuple[object, memoryview]:
        """(token, writable memoryview of [offset, offset + nbytes)). Call `release(token)`.
        With `peer_pid`, only a segment that process created is served."""
        if peer_pid is not None:
            m = SHM_CLIENT_RE.match(ref.name)
            if not m or int(m.group(1)) != peer_pid:
                raise ProtocolError(f"shm segment {ref.name!r} was not created by the requesting process "
                                    f"(pid {peer_pid}); name your own boo-<pid>-<hex> segments")
        ino = _shm_inode(ref.name)
        with self._lock:
            ent = self._segs.get(ref.name)
            if ent is not None and (ino is None or ent[2] != ino):
                self._drop(ref.name)
                ent = None
            if ent is None:
                seg = ShmSegment.attach(ref.name, peer_pid)
                ent = [seg, 0, seg.ino]
                self._segs[ref.name] = ent
            self._segs.move_to_end(ref.name)
            seg = ent[0]
            if ref.offset + ref.nbytes > seg.size:
                raise ProtocolError(
                    f"shm {ref.name}: [{ref.offset}, {ref.offset + ref.nbytes}) is past the segment's {seg.size} bytes")
            ent[1] += 1
            self._evict()
        return ent, seg.buf[ref.offset: ref.offset + ref.nbytes]

    def release(self, token) -> None:
        with self._lock:
            token[1] -= 1
            self._evict()

    def _evict(self) -> None:
        idle = sum(e[0].size for e in self._segs.values() if e[1] == 0)
        for name in list(self._segs):
            if len(self._segs) <= self.capacity and idle <= self.max_idle_bytes:
                break
            ent = self._segs[name]
            if ent[1] == 0:
                idle -= ent[0].size
                self._drop(name)

    def _drop(self, name: str) -> None:
        ent = self._segs.pop(name)
        if ent[1] == 0:
            ent[0].close()

    def sweep(self) -> int:
        """Unmap idle segments that were unlinked or whose creator is dead; returns how many."""
        n = 0
        with self._lock:
            for name, ent in list(self._segs.items()):
                if ent[1]:
                    continue
                m = SHM_CLIENT_RE.match(name)
                if _shm_inode(name) != ent[2] or (m and not pid_alive(int(m.group(1)))):
                    self._drop(name)
                    n += 1
        return n

    def mapped_bytes(self) -> int:
        with self._lock:
            return sum(e[0].size for e in self._segs.values())

    def close(self) -> None:
        with self._lock:
            for name in list(self._segs):
                self._drop(name)

    def __len__(self) -> int:
        return len(self._segs)
