"""Polite HTTP: user agent, timeouts, robots.txt, per-host delay, retries, conditional GET.

The only module that imports requests and protego. `Fetcher.get` returns a `Response` for a
2xx or a 304 and raises a `FetchError` (or `RobotsDisallowed`) for anything else, after
retrying what is worth retrying. Sleeping and the clock are injectable so tests stay fast.
"""

from __future__ import annotations

import email.utils
import re
import socket
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import requests
from protego import Protego

from . import __version__, config
from .errors import FetchError, RobotsDisallowed

#: Defaults, in one place.
DEFAULT_DELAY_S = 1.0
DEFAULT_TIMEOUT_S = (10.0, 60.0)  # connect, read
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_S = 2.0
MAX_RETRY_AFTER_S = 120.0
MAX_REDIRECTS = 5
ROBOTS_MAX_BYTES = 512 * 1024
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHUNK = 64 * 1024


class HTTPStatusError(FetchError):
    """The server answered with a status that is neither success nor 304."""

    def __init__(self, message: str, *, status: int, final_url: str) -> None:
        super().__init__(message)
        self.status = status
        self.final_url = final_url


class TooLargeError(FetchError):
    """The download ran past the size cap and was stopped."""


@dataclass(frozen=True)
class Response:
    """A successful (2xx) or not-modified (304) answer, body read in full."""

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def header(self, name: str) -> str | None:
        """A response header, whatever its case."""
        value = self.headers.get(name)
        if value is None:
            wanted = name.lower()
            value = next((v for k, v in self.headers.items() if k.lower() == wanted), None)
        return value

    @property
    def etag(self) -> str | None:
        return self.header("ETag")

    @property
    def last_modified(self) -> str | None:
        return self.header("Last-Modified")

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        """The body decoded with the charset the server named, else UTF-8 with replacement."""
        match = re.search(r"charset=([\w.-]+)", self.header("Content-Type") or "", re.I)
        try:
            return self.content.decode(match.group(1) if match else "utf-8", errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


def host_of(url: str) -> str:
    """The lower-case host name of a URL, without port and without a leading `www.`."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def host_allowed(url: str, allowed_hosts: Collection[str] | None) -> bool:
    """Whether the URL's host is one of `allowed_hosts` (None allows every host)."""
    if allowed_hosts is None:
        return True
    wanted = {h.lower().removeprefix("www.") for h in allowed_hosts}
    return host_of(url) in wanted


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class _Robots:
    """The robots.txt rules of one host: allow all, disallow all, or parsed rules."""

    def __init__(
        self, parser: Protego | None, *, allow_all: bool, reason: str = "", error: str = ""
    ) -> None:
        self.parser = parser
        self.allow_all = allow_all
        self.reason = reason
        self.error = error  # the host could not be reached at all: a fetch error, not robots

    def can_fetch(self, url: str, user_agent: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return self.parser.can_fetch(url, user_agent)

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


class Fetcher:
    """A polite HTTP client for one crawl run; robots.txt is read once per host per run."""

    def __init__(
        self,
        *,
        user_agent: str | None = None,
        delay: float = DEFAULT_DELAY_S,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF_S,
        max_retry_after: float = MAX_RETRY_AFTER_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
    ) -> None:
        user_agent = user_agent or config.Settings.from_env().user_agent
        self.user_agent = user_agent.replace("{version}", __version__)
        self.delay = delay
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.clock = clock
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = self.user_agent
        self._robots: dict[str, _Robots] = {}
        self._last_request: dict[str, float] = {}

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public ---------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allowed_hosts: Collection[str] | None = None,
        delay: float | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        """GET a URL politely, following redirects only to allowed hosts (at most 5).

        Sends If-None-Match / If-Modified-Since when validators are given. Raises
        RobotsDisallowed when robots.txt forbids the URL or a redirect target, and FetchError
        for anything else that is not a 2xx or a 304.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            self._check_target(url, current, allowed_hosts)
            raw = self._request(current, headers, delay)
            if raw.is_redirect or raw.status_code in (301, 302, 303, 307, 308):
                location = raw.headers.get("Location")
                raw.close()
                if not location:
                    raise HTTPStatusError(
                        f"{current} answered {raw.status_code} without a Location",
                        status=raw.status_code,
                        final_url=current,
                    )
                current = urljoin(current, location)
                continue
            return self._finish(url, current, raw, max_bytes or self.max_bytes)
        raise FetchError(f"{url} redirected more than {MAX_REDIRECTS} times; last to {current}")

    def allowed_by_robots(self, url: str) -> bool:
        """Whether robots.txt of the URL's host lets this user agent fetch it (an unreachable
        host counts as allowed: fetching from it fails, it is not a robots.txt refusal)."""
        robots = self._robots_for(url)
        return bool(robots.error) or robots.can_fetch(url, self.user_agent)

    # -- internals ------------------------------------------------------------------------

    def _check_target(self, url: str, current: str, allowed_hosts: Collection[str] | None) -> None:
        if urlsplit(current).scheme not in ("http", "https"):
            raise FetchError(f"{url} leads to {current}, which is not an http(s) URL")
        if not host_allowed(current, allowed_hosts):
            raise FetchError(
                f"{url} redirected to {current}, a host outside this source's allowed_hosts; "
                "add the host to allowed_hosts in sources.toml to follow it"
            )
        robots = self._robots_for(current)
        if robots.error:
            raise FetchError(f"cannot fetch {current}: {robots.error}")
        if not robots.can_fetch(current, self.user_agent):
            why = f" ({robots.reason})" if robots.reason else ""
            raise RobotsDisallowed(f"robots.txt of {_origin(current)} forbids {current}{why}")

    def _request(
        self, url: str, headers: Mapping[str, str], delay: float | None
    ) -> requests.Response:
        """One GET (not following redirects), retried on connection errors, 429 and 5xx."""
        attempt = 0
        while True:
            self._wait_turn(url, delay)
            try:
                raw = self.session.get(
                    url,
                    headers=dict(headers),
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except requests.exceptions.Timeout as exc:
                raise FetchError(f"{url} timed out ({_timeout_kind(exc)})") from exc
            except requests.exceptions.ConnectionError as exc:
                if _unresolvable(exc):
                    # A name that does not resolve will not resolve in a few seconds either.
                    raise FetchError(
                        f"cannot resolve the host of {url} ({urlsplit(url).hostname}): "
                        "no network, or a wrong address in the source"
                    ) from exc
                if attempt >= self.retries:
                    raise FetchError(
                        f"cannot connect to {_origin(url)} for {url} after "
                        f"{attempt + 1} attempts: {_short(exc)}"
                    ) from exc
                self.sleep(self.backoff * 2**attempt)
                attempt += 1
                continue
            except requests.exceptions.RequestException as exc:
                raise FetchError(f"cannot fetch {url}: {_short(exc)}") from exc
            if raw.status_code not in _RETRY_STATUSES or attempt >= self.retries:
                return raw
            wait = parse_retry_after(raw.headers.get("Retry-After"))
            raw.close()
            if wait is None:
                wait = self.backoff * 2**attempt
            self.sleep(min(wait, self.max_retry_after))
            attempt += 1

    def _finish(self, url: str, final_url: str, raw: requests.Response, max_bytes: int) -> Response:
        status = raw.status_code
        if status == 304:
            raw.close()
            return Response(url, final_url, status, dict(raw.headers), b"")
        if not 200 <= status < 300:
            raw.close()
            raise HTTPStatusError(
                f"{final_url} answered HTTP {status} {raw.reason or ''}".rstrip(),
                status=status,
                final_url=final_url,
            )
        content = self._read_capped(final_url, raw, max_bytes)
        return Response(url, final_url, status, dict(raw.headers), content)

    @staticmethod
    def _read_capped(url: str, raw: requests.Response, max_bytes: int) -> bytes:
        declared = raw.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raw.close()
            raise TooLargeError(
                f"{url} is {int(declared)} bytes, over the {max_bytes}-byte cap; not downloaded"
            )
        chunks, total = [], 0
        try:
            for chunk in raw.iter_content(_CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise TooLargeError(
                        f"{url} ran past the {max_bytes}-byte cap; download stopped"
                    )
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            raise FetchError(f"{url}: the download broke off: {_short(exc)}") from exc
        finally:
            raw.close()
        return b"".join(chunks)

    def _wait_turn(self, url: str, delay: float | None) -> None:
        """Sleep until this host's delay (the longest of ours, the source's, robots') passed."""
        robots = self._robots.get(_origin(url))
        crawl_delay = robots.crawl_delay(self.user_agent) if robots else None
        wanted = max(self.delay, delay or 0.0, crawl_delay or 0.0)
        host = host_of(url)  # one host whatever the scheme, port or `www.`
        last = self._last_request.get(host)
        if last is not None:
            remaining = wanted - (self.clock() - last)
            if remaining > 0:
                self.sleep(remaining)
        self._last_request[host] = self.clock()

    def _robots_for(self, url: str) -> _Robots:
        origin = _origin(url)
        if origin not in self._robots:
            self._robots[origin] = self._read_robots(origin)
        return self._robots[origin]

    def _read_robots(self, origin: str) -> _Robots:
        """Fetch and parse robots.txt per RFC 9309: 4xx allows all, 5xx or unreachable denies."""
        robots_url = origin + "/robots.txt"
        current = robots_url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                raw = self._request(current, {}, None)
                if raw.status_code in (301, 302, 303, 307, 308) and raw.headers.get("Location"):
                    raw.close()
                    current = urljoin(current, raw.headers["Location"])
                    continue
                break
            else:
                return _Robots(None, allow_all=True, reason="robots.txt redirects too often")
        except FetchError as exc:
            # RFC 9309 reads an unreachable robots.txt as "disallow all"; the host is down, so
            # every fetch from it fails (once per run: the answer is kept) rather than retrying
            return _Robots(None, allow_all=False, error=f"{_origin(origin)} is unreachable: {exc}")
        status = raw.status_code
        if 400 <= status < 500:
            raw.close()
            return _Robots(None, allow_all=True)
        if status >= 500 or not 200 <= status < 300:
            raw.close()
            return _Robots(
                None,
                allow_all=False,
                reason=f"robots.txt answered HTTP {status}, which RFC 9309 reads as disallow all",
            )
        try:
            body = self._read_capped(current, raw, ROBOTS_MAX_BYTES)
        except FetchError as exc:
            return _Robots(None, allow_all=False, reason=f"robots.txt unreadable: {exc}")
        return _Robots(Protego.parse(body.decode("utf-8", errors="replace")), allow_all=True)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _timeout_kind(exc: Exception) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "no connection in time"
    return "no answer in time"


def _unresolvable(exc: BaseException) -> bool:
    """Whether a connection error is a failed DNS look-up (not worth retrying)."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        error = pending.pop()
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, socket.gaierror) or type(error).__name__ == "NameResolutionError":
            return True
        pending += [error.__cause__, error.__context__, getattr(error, "reason", None)]
        pending += list(error.args)
    return False


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."
