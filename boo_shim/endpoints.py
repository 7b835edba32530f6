"""Where the daemon listens and keeps its state: endpoints, the private runtime directory and its
files (opened without following links), and the owner's CURVE keys for tcp endpoints.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from . import config
from .protocol import DaemonUnavailable



# --------------------------------------------------------------------------------- endpoints
def runtime_dir() -> Path:
    """`$XDG_RUNTIME_DIR/boo`, else `/tmp/boo-<user>`: created 0700, refused if another user owns it."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        d = Path(xdg) / "boo"
    else:
        import getpass

        try:
            user = getpass.getuser()
        except Exception:
            user = str(os.getuid())
        d = Path("/tmp") / f"boo-{user}"
    return ensure_private_dir(d)


def _mkdir_private(d: Path) -> None:
    """mkdir -p with a clear error (not FileExistsError) when something else is in the way."""
    for p in reversed([d, *d.parents]):
        try:
            os.mkdir(p, 0o700)
        except FileExistsError:
            pass
        except OSError as e:
            raise DaemonUnavailable(f"cannot create {p}: {e.strerror}") from None
        if os.path.islink(p) and not os.path.exists(p):
            raise DaemonUnavailable(f"{p} is a dangling symbolic link where a directory should be; remove it")
        if not os.path.isdir(p):
            raise DaemonUnavailable(f"{p} exists and is not a directory; remove it or choose another endpoint")


def ensure_private_dir(d: Path) -> Path:
    """`d` as a real directory owned by this user, mode 0700 (tightened if needed). A symlink,
    a file or another user's directory there is refused with a clear error."""
    _mkdir_private(d.parent)
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        raise DaemonUnavailable(f"cannot create {d}: {e.strerror}") from None
    st = os.lstat(d)
    if stat.S_ISLNK(st.st_mode):
        what = "dangling symbolic link" if not os.path.exists(d) else "symbolic link"
        raise DaemonUnavailable(f"{d} is a {what}, not boo's private directory; remove it")
    if not stat.S_ISDIR(st.st_mode):
        raise DaemonUnavailable(f"{d} exists and is not a directory; remove it")
    if st.st_uid != os.getuid():
        raise DaemonUnavailable(f"{d} belongs to uid {st.st_uid}, not to you; refusing to use it")
    if st.st_mode & 0o077:
        os.chmod(d, 0o700)
    return d


# Names the daemon and `boo-daemon start` create beside a socket (see endpoint_state_path).
_STATE_SUFFIXES = re.compile(r"^(|\.lock|\.pid|\.log(\.[0-9]+)?|\.start-err|\.[0-9]+\.tmp)$")


def check_state_dir(directory: Path, prefix: str | None) -> None:
    """Refuse a directory holding entries boo did not make: a symlink, or anything owned by
    another user, named like our files (`prefix*`; every entry when `prefix` is None, i.e. boo's
    own runtime directory). A directory that was once world-writable may hold planted links that
    would otherwise redirect our log or pid writes."""
    uid = os.getuid()
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    except OSError as e:
        raise DaemonUnavailable(f"cannot read {directory}: {e.strerror}") from None
    bad = []
    for name in names:
        if prefix is not None and not name.startswith(prefix):
            continue
        try:
            st = os.lstat(directory / name)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            bad.append(f"{name} (symbolic link)")
        elif st.st_uid != uid:
            bad.append(f"{name} (owned by uid {st.st_uid})")
        elif prefix is not None and not _STATE_SUFFIXES.match(name[len(prefix):]):
            continue  # a user-named directory may hold the user's own files
    if bad:
        raise DaemonUnavailable(f"{directory} holds entries boo did not make: {', '.join(sorted(bad)[:5])}; "
                                "remove them (the directory may have been writable by others)")


def open_private(path: Path, flags: int, *, exclusive: bool = False) -> int:
    """os.open for the daemon's own files: never through a symlink (O_NOFOLLOW), mode 0600, a
    regular file owned by us; `exclusive` replaces whatever is there with a new file (O_EXCL)."""
    if exclusive:
        try:
            os.unlink(path)  # removes a planted link itself, never its target
        except FileNotFoundError:
            pass
        flags |= os.O_EXCL
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise DaemonUnavailable(f"{path} is a symbolic link; refusing to follow it (remove it)") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        os.close(fd)
        raise DaemonUnavailable(f"{path} is not a regular file of yours; refusing to use it")
    return fd


def default_endpoint() -> str:
    """`BOO_ENDPOINT`, else `ipc://<runtime dir>/daemon.sock`."""
    env = config.endpoint()
    if env:
        return env
    return "ipc://" + str(runtime_dir() / "daemon.sock")


def ipc_path(endpoint: str) -> Path | None:
    if endpoint.startswith("ipc://"):
        return Path(endpoint[len("ipc://"):])
    return None


def endpoint_state_path(endpoint: str, suffix: str) -> Path:
    """Where the lock/pid/info files of the daemon at `endpoint` live: beside an ipc socket,
    in the runtime dir for tcp."""
    p = ipc_path(endpoint)
    if p is not None:
        # A directory the user named is used as is; a missing one is created private.
        _mkdir_private(p.parent)
        return p.with_name(p.name + suffix)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", endpoint)
    return runtime_dir() / (safe + suffix)


def is_loopback_endpoint(endpoint: str) -> bool:
    """ipc/inproc, or tcp bound to a loopback address."""
    if not endpoint.startswith("tcp://"):
        return True
    host = endpoint[len("tcp://"):].rsplit(":", 1)[0].strip("[]")
    if host in ("localhost", "::1", "lo"):
        return True
    return host.startswith("127.")


# --------------------------------------------------------------------------------- CURVE keys
def config_dir() -> Path:
    """`$BOO_CONFIG_DIR`, else `$XDG_CONFIG_HOME/boo`, else `~/.config/boo`."""
    env = config.config_dir()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(xdg) / "boo"


def curve_dir() -> Path:
    return config_dir() / "curve"


def ensure_curve_keys() -> Path:
    """The owner's CURVE certificates for TCP endpoints (created once, in a 0700 directory):
    `server.key[_secret]` (the daemon's) and `client.key[_secret]` (what this user's clients
    present; the daemon accepts it). Returns the directory."""
    import zmq.auth

    d = ensure_private_dir(curve_dir())
    old = os.umask(0o077)
    try:
        for name in ("server", "client"):
            if (d / f"{name}.key_secret").exists() and (d / f"{name}.key").exists():
                continue
            # Built in a temporary directory and renamed into place: two daemons starting at
            # once both end up with one consistent pair.
            import tempfile

            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=d))
            try:
                zmq.auth.create_certificates(str(tmp), name)
                for f in (f"{name}.key", f"{name}.key_secret"):
                    os.chmod(tmp / f, 0o600)
                try:
                    os.link(tmp / f"{name}.key_secret", d / f"{name}.key_secret")
                    os.replace(tmp / f"{name}.key", d / f"{name}.key")
                except FileExistsError:
                    pass  # another process won the race; its pair stands
            finally:
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        os.umask(old)
    return d


def find_curve_keys() -> tuple[bytes, bytes, bytes] | None:
    """(server public, client public, client secret) from the owner's key directory, or None."""
    from zmq.auth import load_certificate

    d = curve_dir()
    try:
        server_public, _ = load_certificate(str(d / "server.key"))
        client_public, client_secret = load_certificate(str(d / "client.key_secret"))
    except (OSError, ValueError):
        return None
    if not client_secret:
        return None
    return server_public, client_public, client_secret
