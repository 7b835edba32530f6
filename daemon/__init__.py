"""boo-daemon: a long-running kernel service over ZeroMQ (import name `boo_daemon`).

`Daemon` (server.py) serves the protocol in `boo_shim.protocol`, with compiles in compiles.py,
hot-call plans in plans.py and counters in stats.py; `cli.main` is the `boo-daemon` command.
Clients use `boo_shim.client.BooClient`.
"""

from .server import Daemon, DaemonConfig

__all__ = ["Daemon", "DaemonConfig"]
