"""Real processes to break: the `pumpurs` command in a subprocess, and a proxy in front of the
Prefect API that can keep one chosen request waiting while the test kills the process."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

Rule = Callable[[str, str, bytes], bool]  # (method, path, body) -> hold this request?
REPO = Path(__file__).resolve().parents[2]


def progress_update(percent: float) -> Rule:
    """Match the request that moves a flow's progress artifact to `percent`."""

    def rule(method: str, path: str, body: bytes) -> bool:
        if method != "PATCH" or "/artifacts/" not in path:
            return False
        try:
            return bool(json.loads(body or b"{}").get("data") == percent)
        except ValueError:
            return False

    return rule


class ApiProxy:
    """Forward TCP to the Prefect API; hold the first request a rule matches until released."""

    def __init__(self, api_url: str) -> None:
        parts = urlsplit(api_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}{parts.path}"
        self.held = threading.Event()
        self._rule: Rule | None = None
        self._go = threading.Event()
        self._forward = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="api-proxy", daemon=True).start()

    def hold(self, rule: Rule) -> threading.Event:
        """Keep the next request `rule` matches waiting; return the event set once one is."""
        with self._lock:
            self.held.clear()
            self._go.clear()
            self._rule = rule
        return self.held

    def release(self, forward: bool) -> None:
        """Let the held request go on (`forward`) or drop it with its connection."""
        with self._lock:
            self._rule = None
            self._forward = forward
        self._go.set()

    def close(self) -> None:
        """Stop listening and cut every connection."""
        self.release(forward=False)
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                _close(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(target)

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        """Forward whole HTTP/1.1 requests one by one; after an upgrade, just bytes."""
        buffer, raw = b"", False
        try:
            while data := client.recv(65536):
                buffer += data
                while not raw and (request := _next_request(buffer)) is not None:
                    head, size = request
                    message, buffer = buffer[:size], buffer[size:]
                    if not self._may_pass(head, message[len(head) :]):
                        raise OSError("held request dropped")
                    upstream.sendall(message)
                    raw = b"\r\nupgrade:" in head.lower() or b"chunked" in head.lower()
                if raw and buffer:
                    upstream.sendall(buffer)
                    buffer = b""
        except OSError:
            pass
        _close(client)
        _close(upstream)

    def _may_pass(self, head: bytes, body: bytes) -> bool:
        method, path = head.split(b" ", 2)[:2]
        with self._lock:
            rule = self._rule
            matched = rule is not None and rule(method.decode(), path.decode(), body)
            if matched:
                self._rule = None
        if not matched:
            return True
        self.held.set()
        self._go.wait()
        return self._forward


def _next_request(buffer: bytes) -> tuple[bytes, int] | None:
    """Return the head (with its blank line) and whole size of the first complete request."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buffer[: end + 4]
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    size = len(head) + length
    return (head, size) if len(buffer) >= size else None


def _close(sock: socket.socket) -> None:
    # shutdown() first: a close() alone neither wakes a recv() blocked on the socket in another
    # thread nor tells the peer, so a websocket closing handshake would wait for its timeout.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@dataclass
class Cli:
    """The real `pumpurs` command, run in a subprocess with its own settings."""

    env: dict[str, str]
    cwd: Path

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start a command; its output goes to files in the working folder."""
        stdout, stderr = self._output(args, "out"), self._output(args, "err")
        with stdout.open("wb") as out, stderr.open("wb") as err:
            return subprocess.Popen(
                [sys.executable, "-m", "pumpurs.app.cli", *args],
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=err,
            )

    def stderr(self, *args: str) -> str:
        """Return what the last started command with these arguments wrote to stderr."""
        return self._output(args, "err").read_text(encoding="utf-8")

    def _output(self, args: tuple[str, ...], stream: str) -> Path:
        return self.cwd / f"{'-'.join(args).replace('/', '_')}.{stream}"

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a command to its end; return its exit code and output."""
        return subprocess.run(
            [sys.executable, "-m", "pumpurs.app.cli", *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def cli_env(api_url: str, **settings: str | Path | int) -> dict[str, str]:
    """Return the environment of a `pumpurs` subprocess: PUMPURS_* settings and the API."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUMPURS_")}
    env.update({f"PUMPURS_{key.upper()}": str(value) for key, value in settings.items()})
    env["PREFECT_API_URL"] = api_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the process with SIGKILL, as the machine going down would, and reap it."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(30)


def writer_active(database: Path) -> bool:
    """Return whether some connection holds SQLite's write lock (a write transaction is open)."""
    connection = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return True
        raise
    finally:
        connection.close()


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll until `condition()` holds; fail after `seconds` saying what did not happen."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)
