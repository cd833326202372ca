"""The HTTP side: a threaded server on loopback, request dispatch, auth, and the injected faults
(failures, latency, rate limits, dropped answers) that apply to every method alike."""

from __future__ import annotations

import collections
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.fakeslack.core import FakeCore
from tests.fakeslack.protocol import JSON_TYPE, TEXT_TYPE, Call, Reply, SlackError, api, parse_params, ratelimited


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: a bot sending with 16 threads at once (two sweeps of
    # SEND_CONCURRENCY senders) overflowed it and got connection resets that real Slack does not give.
    request_queue_size = 128
    fake: HttpServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as Slack's API: a client may send many calls on one connection (every answer has its
    # Content-Length; a dropped answer closes the connection).
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall between

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake.connections += 1

    def do_POST(self) -> None:
        fake = self.server.fake
        with fake._lock:
            fake.in_flight += 1
        try:
            fake._serve(self)
        finally:
            with fake._lock:
                fake.in_flight -= 1
                fake.last_answered = time.monotonic()

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; everything is in FakeSlack.calls


class HttpServer(FakeCore):
    def _clear_state(self) -> None:
        super()._clear_state()
        self.latency_ms: float = 0.0  # every request waits this long before it is handled
        self.connections = 0  # TCP connections accepted (a client that keeps its connection open makes one)
        self._drops: dict[str, int] = {}  # method -> answers still to drop
        self._limits: dict[str, tuple[int, float]] = {}  # method or "*" -> (calls, per seconds)
        self._window: dict[str, collections.deque[float]] = {}
        # (path, raw body) of every request as it arrives, before `latency_ms`: a test can tell that a call
        # is in flight (a process killed now still gets it stored, as real Slack would).
        self.arrived: list[tuple[str, bytes]] = []

    # Requests being served and when the last one ended: a call is recorded with the time it arrived, so
    # a slow one (latency, a held 429) still running must not look like quiet (tests' wait_until_quiet).
    in_flight = 0
    last_answered = 0.0

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Any:
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self.port = server.server_address[1]
        self._server: _Server | None = server
        self._thread: threading.Thread | None = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakeslack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if getattr(self, "_server", None) is not None:
            self._server.shutdown()  # type: ignore[union-attr]
            self._server.server_close()  # type: ignore[union-attr]
            self._server = None
        if getattr(self, "_thread", None) is not None:
            self._thread.join(timeout=5)  # type: ignore[union-attr]
            self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- test switches ---------------------------------------------------------------------------
    def drop_response(self, method: str, times: int = 1) -> None:
        """Handle the next ``times`` calls to ``method`` (a post is stored) but close the connection
        instead of answering: a crash between Slack accepting and the caller recording."""
        with self._lock:
            self._drops[method] = self._drops.get(method, 0) + times

    def set_rate_limit(self, method: str, calls: int, per: float = 60.0) -> None:
        """Workspace-wide limit: more than ``calls`` to ``method`` ("*": all methods together) within
        ``per`` seconds answers 429 with Retry-After until the window has room."""
        with self._lock:
            self._limits[method] = (calls, per)
            self._window[method] = collections.deque()

    # ---- HTTP plumbing ---------------------------------------------------------------------------
    def _serve(self, req: _Handler) -> None:
        at = time.monotonic()
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        headers = dict(req.headers.items())
        url = urlsplit(req.path)
        with self._lock:
            self.arrived.append((url.path, body))
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if url.path.startswith("/api/"):
            reply = self._api(url.path[len("/api/"):], url.query, body, headers, at)
        else:
            prefix = next((p for p in self._routes if url.path.startswith(p)), None)
            if prefix is not None:
                reply = self._routes[prefix](req.command, url.path, url.query, body, headers, at)
            else:
                call = Call(url.path, {}, headers, {"ok": False, "error": "not_found"}, at)
                reply = Reply(call, 404, {}, b"Not Found", TEXT_TYPE)
        with self._lock:
            drop = reply.call.response.get("ok") and self._drops.get(reply.call.method, 0) > 0
            if drop:
                self._drops[reply.call.method] -= 1
                reply.call.dropped = True
            # Record before answering so a caller that saw the response also sees the call.
            self.calls.append(reply.call)
        if drop:
            req.close_connection = True
            req.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            req.send_response(reply.status)
            req.send_header("Content-Type", reply.content_type)
            req.send_header("Content-Length", str(len(reply.body)))
            for key, value in reply.headers.items():
                req.send_header(key, value)
            req.end_headers()
            req.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _api(self, method: str, query: str, body: bytes, headers: dict[str, str], at: float) -> Reply:
        params: dict[str, Any] = {}
        status, extra_headers = 200, {}
        try:
            params = parse_params(query, body, headers.get("Content-Type", ""))
            handler = self._methods.get(method)
            if handler is None:
                raise SlackError("unknown_method", req_method=method)
            self._injected_failure(method)
            self._check_auth(params, headers.get("Authorization", ""))
            with self._lock:
                self._check_rate(method)
                response = {"ok": True, **handler(params)}
        except SlackError as exc:
            response, status, extra_headers = exc.body, exc.status, exc.headers
        call = Call(method, params, headers, response, at)
        return Reply(call, status, extra_headers, json.dumps(response).encode(), JSON_TYPE)

    def _check_rate(self, method: str) -> None:
        now = time.monotonic()
        for key in (method, "*"):
            if key not in self._limits:
                continue
            calls, per = self._limits[key]
            window = self._window[key]
            while window and now - window[0] >= per:
                window.popleft()
            if len(window) >= calls:
                raise ratelimited(window[0] + per - now)
        for key in (method, "*"):
            if key in self._limits:
                self._window[key].append(now)

    @api("auth.test")
    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/", "team": "Fake Team", "user": "milestone-bot",
            "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _check_auth(self, params: dict[str, Any], authorization: str) -> None:
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else params.get("token")
        if not token:
            raise SlackError("not_authed")
        if token != self.token:
            raise SlackError("invalid_auth")
