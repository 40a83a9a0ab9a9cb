"""Crawl commands: crawl, sources."""

from __future__ import annotations

import json

import click

from ..errors import UsageError
from . import EXIT_FAILED, main
from .options import crawl_options, home_of


@main.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option("--all", "all_sources", is_flag=True, help="Crawl every enabled source.")
@crawl_options
@click.option("--dry-run", is_flag=True, help="List what would be fetched; fetch no document.")
@click.option(
    "--user-agent",
    metavar="TEXT",
    help="User-Agent to send (default: SCRSEARCH_USER_AGENT, else scrsearch with a contact URL).",
)
@click.pass_context
def crawl(ctx, sources, all_sources, max_documents, dry_run, user_agent, delay):
    """Fetch case reviews from configured sources into the corpus.

    Obeys robots.txt, waits between requests to a host, and asks only for what changed since
    the last crawl. Prints a line per source and a summary on stderr; exits 1 when anything
    failed. `scrsearch sources` lists the sources. Run `scrsearch index` afterwards.
    """
    from ..crawl import crawl as run_crawl
    from ..fetch import Fetcher
    from ..lock import home_lock
    from ..sources import load_sources

    home = home_of(ctx)
    if not sources and not all_sources:
        known = ", ".join(load_sources(home))
        raise UsageError(f"name the sources to crawl, or give --all; known sources: {known}")
    if sources and all_sources:
        raise UsageError("give source names or --all, not both")
    fetcher = Fetcher(user_agent=user_agent, delay=delay)

    def progress(line: str) -> None:
        click.echo(line, err=True)

    with fetcher:
        if dry_run:
            summary = run_crawl(home, sources or None, dry_run=True, max_documents=max_documents,
                                fetcher=fetcher, progress=progress)  # fmt: skip
        else:
            with home_lock(home, "crawl"):
                summary = run_crawl(home, sources or None, max_documents=max_documents,
                                    fetcher=fetcher, progress=progress)  # fmt: skip
    for link in summary.planned:
        click.echo(f"{link.source}\t{link.url}\t{link.text}")
    for failure in summary.failures:
        status = f" (HTTP {failure.status})" if failure.status else ""
        click.echo(f"failed {failure.url}{status}: {failure.reason}", err=True)
    verb = "Would fetch" if dry_run else "Crawled"
    click.echo(f"{verb} {len(summary.sources)} source(s): {summary.describe()}", err=True)
    if not dry_run and (summary.new or summary.changed):
        click.echo("Next: scrsearch index", err=True)
    if not summary.ok:
        ctx.exit(EXIT_FAILED)


@main.command("sources")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
    help="Output format.",
)  # fmt: skip
@click.pass_context
def sources_command(ctx, fmt):
    """List the sources `scrsearch crawl` knows: built-in ones and those in <home>/sources.toml."""
    from ..sources import load_sources

    found = load_sources(home_of(ctx))
    if fmt == "json":
        click.echo(json.dumps([s.to_json() for s in found.values()], indent=2))
        return
    for source in found.values():
        state = "" if source.enabled else "  (disabled)"
        origin = "" if source.origin == "built-in" else f"  [{source.origin}]"
        click.echo(f"{source.name:<20} {source.kind:<16} {source.title}{state}{origin}")
        for url in source.start_urls:
            click.echo(f"{'':<20} {url}")
