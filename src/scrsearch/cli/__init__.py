"""The scrsearch command line: click commands over the library.

Each submodule attaches its commands to `main`; this module turns the library's typed errors
into one-line messages and exit codes (0 ok, 1 some items failed, 2 usage, 75 locked).
"""

from __future__ import annotations

import sys

import click

from .. import __version__
from ..errors import LockedError, ScrsearchError, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 0, 1, 2, 75


class ScrsearchGroup(click.Group):
    """A click group that turns scrsearch errors into messages and exit codes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LockedError as exc:
            click.echo(f"scrsearch: {exc}", err=True)
            ctx.exit(EXIT_LOCKED)
        except UsageError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_USAGE)
        except ScrsearchError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(EXIT_FAILED)
        except BrokenPipeError:
            # `scrsearch search ... | head`: the reader went away; that is not an error.
            sys.stderr.close()
            ctx.exit(EXIT_OK)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # the OS, SQLite or a damaged index: a message, if known
            explained = _explain(ctx, exc)
            if explained is None:
                raise
            click.echo(f"Error: {explained}", err=True)
            ctx.exit(EXIT_FAILED)


def _explain(ctx: click.Context, exc: Exception) -> ScrsearchError | None:
    from ..config import resolve_home
    from ..faults import explain

    try:
        home = resolve_home((ctx.obj or {}).get("home"))
    except ScrsearchError:
        home = None
    return explain(home, exc)


@click.group(cls=ScrsearchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scrsearch")
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    envvar="SCRSEARCH_HOME",
    help="Folder holding corpus/ and index/ (default: SCRSEARCH_HOME, else the current "
    "folder). Created on first use.",
)
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """Gather, extract, tag and search UK child-safeguarding case reviews."""
    ctx.obj = {"home": home}


# Commands live in submodules, one per area; importing them registers them on `main`.
from . import core, crawl, research, reviews, schedule, web  # noqa: E402,F401
