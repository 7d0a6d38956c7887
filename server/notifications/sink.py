"""A local SMTP server that keeps what it receives (aiosmtpd): the demo's mailbox and the tests' peer.

Each accepted message is kept in ``messages`` and, with ``folder``, written there as one ``.eml`` file.
``refuse`` makes it answer 421 (try later) to every message, ``unknown`` answers 550 for those
recipients, and ``connections`` counts the sessions that said EHLO or HELO.
"""
import email
import os
import threading
from email import policy
from pathlib import Path

from aiosmtpd.controller import Controller


class MailSink:
    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder else None
        self.messages = []
        self.connections = 0
        self.refuse = False
        self.unknown = set()
        self._lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self._lock:
            self.connections += 1
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        session.host_name = hostname
        with self._lock:
            self.connections += 1
        return f"250 {server.hostname}"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.unknown:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "421 4.3.2 Service not available, try again later"
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
            count = len(self.messages)
        if self.folder:
            # The messages hold set-password links: readable by the operator only.
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.folder.chmod(0o700)
            path = self.folder / f"{count:05d}.eml"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(envelope.content)
        return "250 Message accepted for delivery"


def start(sink: MailSink, *, host: str = "127.0.0.1", port: int = 0) -> Controller:
    """Serve ``sink`` on ``host:port`` (0: a free port; read it from ``controller.port``)."""
    if port == 0:
        import socket

        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
    controller = Controller(sink, hostname=host, port=port)
    controller.start()
    return controller
