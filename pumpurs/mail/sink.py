"""A real SMTP server on loopback that keeps every message: the demo's mail sink, and the tests'.

It speaks SMTP through aiosmtpd, so the application sends to it exactly as to a real server.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    def message(self) -> EmailMessage:
        """Return the parsed message."""
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    outbox: Path | None
    refuse: set[str]
    max_messages: int | None = None  # after this many, answer 421 as a server going down does
    drop_after: int | None = None  # after this many, cut the connection at DATA, accepting nothing
    hold_after: int | None = None  # after this many, keep the next DATA waiting until released
    # After this many, take the next message and then cut the connection before the reply,
    # once; with `die`, the server also stops listening, as one that crashed at that moment.
    lose_answer_after: int | None = None
    die: Callable[[], None] | None = None
    held: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    received: list[Received] = field(default_factory=list)
    numbered_from: int = 0  # the .eml files already in the outbox: new ones follow them
    cuts: int = 0  # connections cut after DATA, without a reply
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            count = len(self.received)
            if self.max_messages is not None and count >= self.max_messages:
                return "421 4.3.2 Service shutting down"
        if self.hold_after is not None and count >= self.hold_after:
            self.held.set()
            while not self.released.is_set():
                await asyncio.sleep(0.01)
            return self._cut(server)
        if self.drop_after is not None and count >= self.drop_after:
            return self._cut(server)
        self._keep(envelope)
        if self.lose_answer_after is not None and count >= self.lose_answer_after:
            self.lose_answer_after = None
            if self.die is not None:
                self.die()
            return self._cut(server)  # the message arrived; the client never hears so
        return "250 Message accepted"

    def _keep(self, envelope: Any) -> None:
        content = envelope.original_content or envelope.content
        item = Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(content))
        with self.lock:
            self.received.append(item)
            number = len(self.received) + self.numbered_from
        if self.outbox is not None:
            self.outbox.mkdir(parents=True, exist_ok=True)
            (self.outbox / f"{number:06d}.eml").write_bytes(item.data)

    def _cut(self, server: Any) -> str:
        """Drop the client's connection without a reply."""
        self.cuts += 1
        if server.transport is not None:
            server.transport.abort()
        return "421 4.4.2 Connection dropped"  # written to a closed connection: nobody reads it


class SmtpSink:
    """Start with `start()`, stop with `stop()`; `received` lists what arrived, in order."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        outbox: Path | None = None,
        refuse: set[str] | None = None,
    ) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self._handler = _Handler(outbox, {a.lower() for a in refuse or set()})
        if outbox is not None:
            self._handler.numbered_from = _last_number(outbox)
        self._controller: Controller | None = None
        self._dead = False

    @property
    def received(self) -> list[Received]:
        """Return the messages received so far."""
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def max_messages(self) -> int | None:
        """Return the limit after which the server answers 421 (None: no limit)."""
        return self._handler.max_messages

    @max_messages.setter
    def max_messages(self, value: int | None) -> None:
        self._handler.max_messages = value

    @property
    def drop_after(self) -> int | None:
        """Return the count after which the connection is cut at DATA (None: never)."""
        return self._handler.drop_after

    @drop_after.setter
    def drop_after(self, value: int | None) -> None:
        self._handler.drop_after = value

    def hold_after(self, count: int | None) -> threading.Event:
        """Keep the DATA after `count` messages waiting (not accepted) until `release()`.

        Return the event set once a message is being held; the held one is then dropped.
        """
        self._handler.held.clear()
        self._handler.released.clear()
        self._handler.hold_after = count
        return self._handler.held

    def release(self) -> None:
        """Stop holding: the held message is dropped, later ones are accepted as usual."""
        self._handler.hold_after = None
        self._handler.released.set()

    @property
    def cuts(self) -> int:
        """Return how many connections were cut after DATA without a reply."""
        return self._handler.cuts

    def lose_answer(self, after: int, *, die: bool = False) -> None:
        """Take the message after `after` ones, then cut the connection before replying, once.

        With `die` the server also stops listening at that moment, as if it crashed between
        DATA and its reply: the message has arrived, the client cannot tell, and nothing
        answers until `start()` again.
        """
        self._handler.die = self._die if die else None
        self._handler.lose_answer_after = after

    def _die(self) -> None:
        """Stop listening at once (called in the server's own event loop)."""
        self._dead = True
        if self._controller is not None and self._controller.server is not None:
            self._controller.server.close()

    def refuse_address(self, address: str) -> None:
        """Answer 550 to RCPT for this address from now on."""
        self._handler.refuse.add(address.lower())

    @property
    def running(self) -> bool:
        """Return whether the server is listening."""
        return self._controller is not None and not self._dead

    def start(self) -> SmtpSink:
        """Start listening (again, after `stop()` or a death); return self."""
        self.stop()
        self._dead = False
        self._controller = Controller(
            self._handler, hostname=self.host, port=self.port, decode_data=False
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (messages received so far are kept)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _last_number(outbox: Path) -> int:
    """Return the highest number of the `NNNNNN.eml` files in a folder (0: none)."""
    numbers = [int(p.stem) for p in outbox.glob("*.eml") if p.stem.isdigit()]
    return max(numbers, default=0)


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
