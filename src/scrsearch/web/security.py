"""Headers on every response: a Content-Security-Policy with no inline script, and timings.

Document text is untrusted (a PDF can hold `<script>`): templates escape it, and the policy
makes sure that even a mistake there could not run script, since only /static/app.js may run.
The stored originals are served without the policy or the framing headers: browsers' PDF
viewers are plugins that `object-src 'none'` would block; they go out as application/pdf with
nosniff instead.

`Server-Timing` gives the time spent in library calls (`library`: search, show, a report's
passages, export, stats) and in all (`total`, to the first byte), so what the web layer adds
beyond the search itself can be measured from outside (scripts/web_timings.py).
"""

from __future__ import annotations

import time

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware adding the security headers and Server-Timing to each response."""

    def __init__(self, app) -> None:
        self.app = app

    def __getattr__(self, name: str):  # app.state, app.routes... of the wrapped app
        return getattr(self.app, name)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        scope.setdefault("state", {})
        is_original = scope["path"].endswith("/original")

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                total = (time.perf_counter() - start) * 1000
                library = scope["state"].get("search_ms", 0.0)
                headers = list(message.get("headers", []))
                if is_original:
                    headers.append(COMMON[0])  # nosniff: a PDF is never read as anything else
                else:
                    headers += COMMON
                    headers.append((b"content-security-policy", CSP.encode()))
                timing = f"library;dur={library:.1f}, total;dur={total:.1f}"
                headers.append((b"server-timing", timing.encode()))
                if scope["path"] != "/static" and not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
