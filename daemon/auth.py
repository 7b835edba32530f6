"""The daemon's ZAP handler: who may complete a handshake with the ROUTER socket.

libzmq asks the handler at `inproc://zeromq.zap.01` (RFC 27) before it lets a peer exchange
messages. It decides:
- CURVE (every tcp endpoint): the client's public key must be one of the authorized keys (the
  owner's own `client.key`, or the certificates of `--curve-authorized-keys`). Without this a
  CURVE server encrypts traffic but admits any key, i.e. anyone.
- NULL (ipc): the peer's uid (SO_PEERCRED, passed in the ZAP address) must be ours.
- Both: at most `max_clients` connections at once; more are refused until some close, so a
  flood of connections cannot grow the daemon without bound.
"""

from __future__ import annotations

import threading

import zmq
import zmq.utils.z85


from boo_shim import shm

from . import logs

ZAP_ENDPOINT = "inproc://zeromq.zap.01"


class ZapHandler(threading.Thread):
    def __init__(self, ctx: zmq.Context, *, authorized_keys: set[bytes] | None, uid: int,
                 max_clients: int, connections):
        super().__init__(name="boo-zap", daemon=True)
        self.authorized = authorized_keys  # raw 32-byte CURVE public keys; None = NULL mechanism
        self.uid = uid
        self.max_clients = max_clients
        self.connections = connections  # callable: connections open now (the one asking included)
        self.denied = 0
        self._stop_evt = threading.Event()
        # Bound here, before the ROUTER binds, so no handshake can slip past an absent handler.
        self._sock = ctx.socket(zmq.REP)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.bind(ZAP_ENDPOINT)

    def decide(self, address: str, mechanism: bytes, credentials: list[bytes]) -> tuple[bytes, str, str]:
        """(status code, status text, user id) for one handshake."""
        if self.connections() > self.max_clients:
            return b"400", f"more than {self.max_clients} connections", ""
        if mechanism == b"CURVE":
            if self.authorized is None or not credentials or credentials[0] not in self.authorized:
                return b"400", "CURVE key not authorized", ""
            return b"200", "OK", zmq.utils.z85.encode(credentials[0]).decode()
        if mechanism == b"NULL" and self.authorized is None:
            creds = shm.peer_credentials(address)
            if creds is None or creds[0] != self.uid:
                return b"400", "peer is not this daemon's user", ""
            return b"200", "OK", str(creds[1])
        return b"400", f"mechanism {mechanism.decode(errors='replace')} not allowed", ""

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._sock, zmq.POLLIN)
        try:
            while not self._stop_evt.is_set():
                if not poller.poll(200):
                    continue
                msg = self._sock.recv_multipart()
                address = b""
                try:
                    version, request_id, _domain, address, _identity, mechanism = msg[:6]
                    code, text, user = self.decide(address.decode(errors="replace"), mechanism, msg[6:])
                except Exception as e:  # noqa: BLE001 - a malformed ZAP request is refused, never fatal
                    version, request_id = b"1.0", msg[1] if len(msg) > 1 else b""
                    code, text, user = b"500", f"internal error: {type(e).__name__}", ""
                if code != b"200":
                    self.denied += 1
                    logs.warning("connection_refused", reason=text, peer=address.decode(errors="replace"))
                self._sock.send_multipart([version, request_id, code, text.encode(), user.encode(), b""])
        finally:
            self._sock.close(linger=0)

    def stop(self) -> None:
        self._stop_evt.set()
        self.join(timeout=5)
