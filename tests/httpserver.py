"""A real local HTTP server for crawler tests: stdlib, 127.0.0.1, port 0, in a thread.

    with LocalServer() as server:
        server.file("/reports/a.pdf", corpus_pdf)             # ETag, Last-Modified, 304s
        server.route("/busy.pdf", Reply(429, headers={"Retry-After": "3"}), Reply(200, b"%PDF-"))
        server.route("/robots.txt", Reply(200, b"User-agent: *\\nDisallow: /private/\\n"))
        fetch(server.url("/reports/a.pdf"))
        assert server.seen("/reports/a.pdf")[0].headers["User-Agent"].startswith("scrsearch")

A route answers with its replies in turn, the last one repeating. `Reply.body` may be a
callable of the request (for pages that depend on the query). Every request is logged, with
its headers, in `server.requests`. Unknown paths answer 404.
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class SeenRequest:
    """One request the server received."""

    method: str
    path: str  # without the query
    query: str
    headers: dict[str, str]

    @property
    def params(self) -> dict[str, list[str]]:
        return parse_qs(self.query)


@dataclass
class Reply:
    """One answer: status, body (bytes, str or a callable of the request), headers, delay."""

    status: int = 200
    body: bytes | str | Callable[[SeenRequest], bytes | str] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (for timeout tests)
    send_length: bool = True  # False: no Content-Length, the body ends when the socket closes

    def render(self, request: SeenRequest) -> bytes:
        body = self.body(request) if callable(self.body) else self.body
        return body.encode() if isinstance(body, str) else body


def html_reply(text: str, status: int = 200) -> Reply:
    """An HTML page."""
    return Reply(status, text, {"Content-Type": "text/html; charset=utf-8"})


def pdf_reply(data: bytes, **headers: str) -> Reply:
    """A PDF download."""
    return Reply(200, data, {"Content-Type": "application/pdf", **headers})


class _Route:
    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.count = 0
        self.lock = threading.Lock()

    def next_reply(self) -> Reply:
        with self.lock:
            reply = self.replies[min(self.count, len(self.replies) - 1)]
            self.count += 1
            return reply


class _FileRoute:
    """A static file with ETag and Last-Modified, answering 304 to matching validators."""

    def __init__(self, data: bytes, content_type: str, last_modified: str) -> None:
        self.set(data, content_type, last_modified)

    def set(self, data: bytes, content_type: str, last_modified: str) -> None:
        self.data = data
        self.content_type = content_type
        self.etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        self.last_modified = last_modified

    def reply_for(self, request: SeenRequest) -> Reply:
        validators = {"ETag": self.etag, "Last-Modified": self.last_modified}
        if request.headers.get("If-None-Match") == self.etag or (
            "If-None-Match" not in request.headers
            and request.headers.get("If-Modified-Since") == self.last_modified
        ):
            return Reply(304, b"", validators)
        return Reply(200, self.data, {"Content-Type": self.content_type, **validators})


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 with scripted routes and a request log."""

    def __init__(self) -> None:
        self.routes: dict[str, _Route | _FileRoute] = {}
        self.requests: list[SeenRequest] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> LocalServer:
        handler = _make_handler(self)
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every route and logged request (to share one server between tests)."""
        with self._lock:
            self.routes.clear()
            self.requests.clear()

    # -- addresses ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._port is not None, "start the server first"
        return self._port  # kept after stop(), so URLs can still be compared

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    # -- routes -------------------------------------------------------------------------------

    def route(self, path: str, *replies: Reply) -> None:
        """Answer `path` (optionally with `?query` for an exact match) with replies in turn."""
        self.routes[path] = _Route(list(replies) or [Reply()])

    def html(self, path: str, text: str) -> None:
        self.route(path, html_reply(text))

    def file(
        self,
        path: str,
        data: bytes | Path,
        content_type: str = "application/pdf",
        last_modified: str = "Wed, 01 May 2024 10:00:00 GMT",
    ) -> None:
        """Serve bytes (or a file's bytes) with ETag and Last-Modified; 304 when they match."""
        if isinstance(data, Path):
            data = data.read_bytes()
        self.routes[path] = _FileRoute(data, content_type, last_modified)

    def change_file(self, path: str, data: bytes, last_modified: str) -> None:
        """Replace a file route's bytes (a new ETag follows from the bytes)."""
        route = self.routes[path]
        assert isinstance(route, _FileRoute)
        route.set(data, route.content_type, last_modified)

    # -- the log ------------------------------------------------------------------------------

    def seen(self, path: str) -> list[SeenRequest]:
        """Every request for `path` (query ignored), oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def paths_seen(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def _log(self, request: SeenRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _reply_for(self, request: SeenRequest) -> Reply:
        full = request.path + ("?" + request.query if request.query else "")
        route = self.routes.get(full) or self.routes.get(request.path)
        if route is None:
            return html_reply("<h1>Not found</h1>", 404)
        if isinstance(route, _FileRoute):
            return route.reply_for(request)
        return route.next_reply()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a slow reply still sleeping must not hold up the test's end

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (timeouts, size caps) are expected here


class FakeClock:
    """A clock for the fetcher that only moves when it sleeps, so delays cost no time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def board_source_toml(start_url: str, name: str = "board") -> str:
    """A user's sources.toml naming one test board whose listing page is `start_url`."""
    return f"""
[sources.{name}]
title = "Test Safeguarding Children Board"
start_urls = ["{start_url}"]
documents = ['\\.pdf$']
max_depth = 1
delay = 0
"""


def http_date(when: float) -> str:
    """An HTTP date for a POSIX time."""
    return email.utils.formatdate(when, usegmt=True)


def _make_handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            parts = urlsplit(self.path)
            request = SeenRequest("GET", parts.path, parts.query, dict(self.headers.items()))
            server._log(request)
            reply = server._reply_for(request)
            if reply.delay:
                time.sleep(reply.delay)
            body = reply.render(request)
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if not reply.send_length:
                    self.send_header("Connection", "close")
                elif "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if reply.status != 304:
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (size cap, timeout): that is what the test wants

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep test output quiet; the request log is in server.requests

    return Handler


# -- a fixture board site, modelled on Calderdale's "Serious case reviews" page ------------------

BOARD_PAGE = """<!doctype html>
<html lang="en"><head><title>Serious case reviews - Calderdale Safeguarding Children Board</title>
</head><body>
<nav><a href="/">Home</a> <a href="/about-us/">About us</a>
 <a href="{foreign}/learning-from-birmingham.pdf">Keanu Williams Learning from Birmingham</a></nav>
<main>
<h1>Serious case reviews</h1>
<h2>What are Serious Case Reviews?</h2>
<p>A Serious Case Review is a review of services that have been provided to a child and family
prior to the death or serious injury of a child where abuse or neglect are believed to be a
contributory factor.</p>
<h2>Publication of Serious Case Reviews</h2>
<p>These reports of Serious Case Reviews and Case Reviews carried out in Calderdale are
available below:</p>
<ul>
{items}
</ul>
<p><a href="/scr/?page=2">Next page</a></p>
</main></body></html>
"""

BOARD_PAGE_2 = """<!doctype html>
<html lang="en"><head><title>Serious case reviews - page 2</title></head><body>
<h1>Serious case reviews (older)</h1>
<ul>
{items}
</ul>
<p><a href="/scr/">Previous page</a></p>
</body></html>
"""


def board_item(href: str, text: str, after: str = "") -> str:
    return f'<li><a href="{href}">{text}</a>{after}</li>'
