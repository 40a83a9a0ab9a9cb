"""`scrsearch serve`: the local read-only web page."""

from __future__ import annotations

import socket
import threading
import webbrowser

import click

from ..errors import UsageError
from . import main
from .options import home_of

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it a response's body waits ~40 ms behind its headers (Nagle, delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"--host {host} --port {port}: cannot listen there ({exc.strerror}); "
            "choose another --port, or stop what is using it"
        ) from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but this computer (127.0.0.1) lets others "
              "on the network read the corpus: there is no login.")  # fmt: skip
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")  # fmt: skip
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a web browser.")
@click.pass_context
def serve(ctx, host, port, open_browser):
    """Serve a local, read-only web page over the home: search, reports, exports, counts.

    Search with filters and facet counts, read a report's passages and open the original
    PDF at a passage's page, download exports and see counts, in a browser. /api/search
    and /api/reports/ID return the JSON of `search --format json` and `show --format json`.
    Nothing is changed in the home. Needs the web extra: pip install 'scrsearch[web]'.
    """
    try:
        import uvicorn

        from ..web import create_app
    except ImportError as exc:
        raise UsageError(
            f"serve needs the web extra ({exc.name} is not installed): pip install 'scrsearch[web]'"
        ) from exc
    home = home_of(ctx)
    if host not in LOCAL_HOSTS:
        click.echo(
            f"Warning: --host {host} makes this page reachable from other computers, and it "
            "has no login: anyone who can reach it can read every report.",
            err=True,
        )
    sock = _listening_socket(host, port)
    bound = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound}/"
    app = create_app(home)
    click.echo(f"Serving {home.root} at {url} (read-only; Ctrl+C to stop)", err=True)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
