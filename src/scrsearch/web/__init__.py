"""`scrsearch serve`: a local, read-only web page over the same library calls as the CLI.

Built from well-kept parts rather than by hand over http.server:

- Starlette: a small, maintained ASGI toolkit with routing, static files, and file and
  streaming responses; it adds nothing we do not use (no ORM, no sessions, no forms framework),
  which suits a page that only reads.
- uvicorn: Starlette's usual server, maintained alongside it; one process, one port.
- Jinja2 with autoescaping on for every template: document text is untrusted, and escaping by
  default means a template has to say so explicitly (the `marks` filter) to emit markup.

Pages are rendered on the server and work without JavaScript; /static/app.js only adds
conveniences. `create_app(home)` builds the application; `cli/web.py` serves it.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
