"""Option groups and rendering helpers shared by the commands."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from .. import facets
from ..config import Home, resolve_home
from ..models import DOC_TYPES

if TYPE_CHECKING:
    from ..search import Filters

FORMATS = ("text", "json")

# The command modules import the library's heavy modules (whoosh, pypdf, requests, bs4,
# matplotlib, through search, pipeline, fetch, crawl, stats...) inside the commands, so that
# `scrsearch --help` and a command that needs little start fast. Values that option
# declarations need at import time come through these two lazy wrappers.


class LazyConstant:
    """A library constant read on first use, as a click default: called for the value, printed
    (by `--help`, with show_default) as the value."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self) -> Any:
        return getattr(importlib.import_module(self.module, __package__), self.name)

    def __str__(self) -> str:
        return str(self())


class LazyChoice(click.Choice):
    """A click.Choice whose choices are a library constant, read on first use."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(())
        self._load: LazyConstant | None = LazyConstant(module, name)

    @property
    def choices(self) -> Sequence[Any]:
        if self._load is not None:
            self._choices, self._load = tuple(self._load()), None
        return self._choices

    @choices.setter
    def choices(self, value: Sequence[Any]) -> None:
        self._choices, self._load = tuple(value), None


def home_of(ctx: click.Context) -> Home:
    """The home named by the group's --home (or SCRSEARCH_HOME, or the current folder)."""
    return resolve_home((ctx.find_root().obj or {}).get("home"))


def _check_nations(ctx: click.Context, param: click.Parameter, values: tuple) -> tuple:
    """--nation values as the catalogue spells them; an unknown one is a usage error (like
    --region), never a silent empty result."""
    from ..localities import all_localities

    known = {r.nation.lower(): r.nation for r in all_localities() if r.nation}
    out = []
    for value in values:
        nation = known.get(" ".join(value.split()).lower())
        if nation is None:
            raise click.BadParameter(
                f"{value!r} is not a nation; use one of: {', '.join(sorted(set(known.values())))}"
            )
        out.append(nation)
    return tuple(out)


def _check_sources(ctx: click.Context, param: click.Parameter, values: tuple) -> tuple:
    """--source values must name `local`, a configured source or one the catalogue has."""
    if not values:
        return values
    from ..sources import load_sources
    from ..store import connect_catalogue

    home = home_of(ctx)
    known = {"local"}
    try:
        known |= set(load_sources(home))
        if home.catalogue_path.exists():
            db = connect_catalogue(home)
            try:
                known |= {r[0] for r in db.execute("SELECT DISTINCT source FROM documents")}
            finally:
                db.close()
    except Exception:  # an unreadable home is reported by the command itself
        return values
    for value in values:
        if value not in known:
            raise click.BadParameter(
                f"{value!r} is not a source of this home; use one of: {', '.join(sorted(known))}"
            )
    return values


#: How each facet's filter option reads in --help (its name and keyword come from facets.py).
FILTER_OPTION_HELP: dict[str, dict[str, Any]] = {
    "locality": dict(metavar="NAME",
                     help="Local authority, e.g. Bradford (repeat for any of several)."),
    "region": dict(metavar="NAME", help="Region, e.g. 'Yorkshire and The Humber' or Yorkshire."),
    "nation": dict(metavar="NAME", callback=_check_nations,
                   help="England, Wales, Scotland or Northern Ireland."),
    "year": dict(metavar="YEAR[-YEAR]",
                 help="Year of publication, or a range: 2015, 2014-2018, 2015-."),
    "doc_type": dict(type=click.Choice(DOC_TYPES), help="Document type."),
    "source": dict(metavar="NAME", callback=_check_sources,
                   help="Where documents came from (local, or a crawl source)."),
    "subject": dict(metavar="NAME", help="The child's pseudonym or name, e.g. 'Child D'."),
    "theme": dict(metavar="ID", help="Theme id, e.g. neglect (repeat: all must apply)."),
    "risk_factor": dict(metavar="ID",
                        help="Risk factor id, e.g. domestic_abuse (repeat: all must apply)."),
    "practice_issue": dict(metavar="ID",
                           help="Practice issue id, e.g. information_sharing (repeat: all apply)."),
}  # fmt: skip

#: The filter options' keywords, as `search.make_filters` takes them.
FILTER_KEYS = facets.FILTER_KEYS


def filter_options(func: Callable) -> Callable:
    """The filters shared by search, export, stats and watch (repeatable, combinable)."""
    for name, option in reversed(facets.FILTER_OPTIONS.items()):
        key = facets.BY_NAME[name].filter_key
        func = click.option(option, key, multiple=True, **FILTER_OPTION_HELP[name])(func)
    return func


def match_options(func: Callable) -> Callable:
    """--all-words and --no-expand: how bare words of a query match."""
    func = click.option(
        "--no-expand",
        is_flag=True,
        help="Search only the words typed, not the field's acronyms and synonyms.",
    )(func)
    return click.option(
        "--all-words",
        is_flag=True,
        help="Strict: every word in one passage (no best match, no expansions).",
    )(func)


def pop_filters(kwargs: dict) -> Filters:
    """Take the filter options out of a command's kwargs and check them."""
    from ..search import make_filters

    return make_filters(**{key: kwargs.pop(key) for key in FILTER_KEYS})


def emit_json(payload: object) -> None:
    """Print one JSON document on stdout (nothing else goes there)."""
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def width() -> int:
    """The terminal width to wrap text to (80 when not a terminal), at most 100."""
    return min(shutil.get_terminal_size((80, 24)).columns, 100)


def wrap(text: str, indent: str = "   ", first: str | None = None) -> str:
    """Wrap text to the terminal width; `first` (default `indent`) starts the first line."""
    return textwrap.fill(
        " ".join(text.split()),
        width=width(),
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
    )


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress_bar(label: str, enabled: bool = True) -> Iterator[Callable[[int, int, str], None]]:
    """A progress callback drawing a bar on stderr when it is a terminal, silent otherwise."""
    if not enabled or not stderr_is_tty():
        yield lambda done, total, item: None
        return
    bar = None
    state = {"done": 0}

    def update(done: int, total: int, item: str) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(
                length=max(total, 1), label=label, file=sys.stderr, show_pos=True,
                item_show_func=lambda s: (s or "")[:30],
            )  # fmt: skip
            bar.__enter__()
        bar.update(done - state["done"], item)
        state["done"] = done

    try:
        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def crawl_options(func: Callable) -> Callable:
    """The politeness and size options shared by `crawl` and `update`."""
    func = click.option(
        "--delay",
        type=click.FloatRange(min=0),
        default=LazyConstant("..fetch", "DEFAULT_DELAY_S"),
        show_default=True,
        help="Seconds between requests to one host (a source's delay or robots.txt "
        "Crawl-delay wins when longer).",
    )(func)
    return click.option(
        "--max-documents",
        type=click.IntRange(min=1),
        metavar="N",
        help="Fetch at most N documents from each source.",
    )(func)
