"""Source adapters and their registry; sources configured in TOML.

Built-in sources ship in `scrsearch/data/sources.toml`; a home's `sources.toml` adds sources
or replaces a built-in one wholesale (same table name). Each `[sources.<name>]` table names
its `kind` (an adapter of ADAPTERS, "listing" by default) and that kind's keys:

    [sources.calderdale]
    title = "Calderdale Safeguarding Children Partnership"
    kind = "listing"
    locality = "Calderdale"        # stated metadata: wins over inference
    start_urls = ["https://..."]
    allowed_hosts = ["..."]        # default: the hosts of start_urls
    follow = ['regex of listing/pagination links to follow']
    documents = ['\\.pdf$']        # regexes of document URLs
    link_texts = []                # regexes of document link texts ("Read the report")
    max_depth = 2
    delay = 1.0
    enabled = true                 # false: left out of `crawl --all`
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from ..config import Home
from ..errors import ConfigError, SourcesFileError
from .base import STATED_FIELDS, Adapter, DocumentLink, Page, PageGetter, SourceConfig
from .design_system import ResultsLibraryAdapter
from .govuk import GovukAdapter
from .listing import ListingAdapter
from .nspcc import NspccAdapter

__all__ = [
    "ADAPTERS",
    "Adapter",
    "DocumentLink",
    "Page",
    "PageGetter",
    "SourceConfig",
    "adapter_for",
    "builtin_sources",
    "load_sources",
    "parse_sources",
]

#: Every kind of site, by the `kind` a sources.toml names.
ADAPTERS: dict[str, type[Adapter]] = {
    cls.kind: cls for cls in (ListingAdapter, NspccAdapter, GovukAdapter, ResultsLibraryAdapter)
}

_COMMON_KEYS: dict[str, tuple[type | tuple[type, ...], Any]] = {
    "title": (str, ""),
    "kind": (str, "listing"),
    "start_urls": (list, []),
    "allowed_hosts": (list, []),
    "follow": (list, None),
    "documents": (list, None),
    "link_texts": (list, None),
    "max_depth": (int, 2),
    "delay": ((int, float), None),
    "enabled": (bool, True),
    **{key: (str, None) for key in STATED_FIELDS},
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
BUILTIN_ORIGIN = "built-in"


def adapter_for(config: SourceConfig) -> Adapter:
    """The adapter that crawls a configured source."""
    return ADAPTERS[config.kind](config)


def builtin_sources() -> dict[str, SourceConfig]:
    """The sources that ship with scrsearch."""
    text = resources.files("scrsearch").joinpath("data/sources.toml").read_text("utf-8")
    return parse_sources(_parse_toml(text, "scrsearch/data/sources.toml"), BUILTIN_ORIGIN)


def load_sources(home: Home | None = None) -> dict[str, SourceConfig]:
    """Built-in sources, then the home's sources.toml adding or replacing them, by name."""
    sources = builtin_sources()
    if home is not None and home.sources_path.is_file():
        path = home.sources_path
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        try:
            sources.update(parse_sources(_parse_toml(text, str(path)), str(path)))
        except ConfigError as exc:
            raise SourcesFileError(str(exc)) from exc
    return dict(sorted(sources.items()))


def parse_sources(data: Mapping[str, Any], origin: str) -> dict[str, SourceConfig]:
    """Validate the `[sources.*]` tables of a parsed sources.toml."""
    extra = sorted(set(data) - {"sources"})
    if extra:
        raise ConfigError(
            f"{origin}: unknown top-level key {extra[0]!r}; sources are tables named "
            "[sources.<name>]"
        )
    tables = data.get("sources", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{origin}: `sources` must be a table of [sources.<name>] tables")
    return {name: _source(name, table, origin) for name, table in tables.items()}


def _parse_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin} is not valid TOML: {exc}") from exc


def _source(name: str, table: Any, origin: str) -> SourceConfig:
    where = f"{origin}: source {name!r}"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: a source name is lower-case letters, digits, - and _")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    kind = table.get("kind", "listing")
    if kind not in ADAPTERS:
        raise ConfigError(
            f"{where}, key 'kind': unknown kind {kind!r}; known kinds: {', '.join(ADAPTERS)}"
        )
    adapter = ADAPTERS[kind]
    schema = {**_COMMON_KEYS, **adapter.options}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in schema:
            raise ConfigError(
                f"{where}: unknown key {key!r}; known keys for kind {kind!r}: "
                f"{', '.join(sorted(schema))}"
            )
        wanted = schema[key][0]
        if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
            raise ConfigError(f"{where}, key {key!r}: expected {_type_name(wanted)}, got {value!r}")
        values[key] = value
    options = {key: values.get(key, default) for key, (_, default) in adapter.options.items()}
    start_urls = _strings(values.get("start_urls", []), where, "start_urls")
    if not start_urls:
        start_urls = adapter.default_start_urls(options)
    if not start_urls:
        raise ConfigError(f"{where}, key 'start_urls': give at least one URL to start from")
    for url in start_urls:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ConfigError(f"{where}, key 'start_urls': {url!r} is not an http(s) URL")
    hosts = _strings(values.get("allowed_hosts", []), where, "allowed_hosts") or (
        *{urlsplit(u).hostname or "" for u in start_urls},
        *adapter.default_allowed_hosts(options),
    )
    _check_fields(options, where)
    return SourceConfig(
        name=name,
        title=values.get("title") or name,
        kind=kind,
        start_urls=start_urls,
        allowed_hosts=tuple(dict.fromkeys(h.lower() for h in hosts if h)),
        follow=_patterns(values, "follow", adapter.default_follow, where),
        documents=_patterns(values, "documents", adapter.default_documents, where),
        link_texts=_patterns(values, "link_texts", adapter.default_link_texts, where),
        max_depth=_non_negative(values.get("max_depth", 2), where, "max_depth"),
        delay=_non_negative(values.get("delay"), where, "delay"),
        meta=_stated_meta(values, where),
        options=options,
        enabled=values.get("enabled", True),
        origin=origin,
    )


def _stated_meta(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The metadata a source states, checked: a locality or region must be a known one (an
    unknown name stored as is would never match a filter), written as the catalogue writes it."""
    from ..models import DOC_TYPES
    from ..tagging import all_regions, locality_record, region_name

    meta = {k: values[k] for k in STATED_FIELDS if values.get(k)}
    if "locality" in meta:
        record = locality_record(meta["locality"])
        if record is None:
            raise ConfigError(
                f"{where}, key 'locality': {meta['locality']!r} is not a known local authority; "
                "use a council name such as 'Bradford' (see src/scrsearch/data/localities.csv)"
            )
        meta["locality"] = record.name
    if "region" in meta:
        region = region_name(meta["region"])
        if region is None:
            raise ConfigError(
                f"{where}, key 'region': {meta['region']!r} is not a region; use one of: "
                f"{', '.join(all_regions())}"
            )
        meta["region"] = region
    if "doc_type" in meta and meta["doc_type"] not in DOC_TYPES:
        raise ConfigError(
            f"{where}, key 'doc_type': {meta['doc_type']!r} is not one of: {', '.join(DOC_TYPES)}"
        )
    return meta


def _strings(value: list, where: str, key: str) -> tuple[str, ...]:
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}, key {key!r}: expected a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _patterns(
    values: Mapping[str, Any], key: str, default: tuple[str, ...], where: str
) -> tuple[re.Pattern[str], ...]:
    raw = values.get(key)
    patterns = default if raw is None else _strings(raw, where, key)
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            raise ConfigError(
                f"{where}, key {key!r}: {pattern!r} is not a valid regular expression: {exc}"
            ) from exc
    return tuple(compiled)


def _non_negative(value: Any, where: str, key: str) -> Any:
    if value is not None and value < 0:
        raise ConfigError(f"{where}, key {key!r}: must not be negative, got {value}")
    return value


def _check_fields(options: Mapping[str, Any], where: str) -> None:
    from ..models import META_FIELDS

    for caption, target in (options.get("fields") or {}).items():
        if target not in META_FIELDS:
            raise ConfigError(
                f"{where}, key 'fields': {caption!r} maps to {target!r}, not a metadata field "
                f"({', '.join(META_FIELDS)})"
            )


def _type_name(wanted: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }
    if isinstance(wanted, tuple):
        return " or ".join(names.get(t, t.__name__) for t in wanted)
    return names.get(wanted, wanted.__name__)
