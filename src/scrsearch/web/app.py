"""The routes of `scrsearch serve`: pages rendered on the server, downloads, and the JSON API.

Every route is a GET over the same library calls as the CLI: `search.search` (the JSON of
`search --format json`), `report_detail.show_report` (that of `show --format json`),
`export.export` and `stats.count_reports`. Nothing here writes to the home.
"""

from __future__ import annotations

import io
import re
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..config import Home
from ..errors import IndexError_, QueryError, ScrsearchError, UsageError
from ..facets import FACET_HEADINGS, TAG_FACETS, TAG_PARAMS
from ..report_detail import (
    ReportPassage,
    passage_stems,
    report_passages,
    show_report,
    tag_evidence,
)
from .charts import bar_chart, heat_map
from .markup import cue_snippet, marks, matching_passages, spans_marked
from .security import SecurityHeaders
from .state import FACET_PARAMS, FILTER_PARAMS, PER_PAGE_CHOICES, SearchState

HERE = Path(__file__).resolve().parent
REPORT_ID = re.compile(r"[0-9a-fA-F]{6,64}")
#: Passages listed a page on a report page with no query.
PASSAGES_PER_PAGE = 50
#: Reports whose passages are kept between requests (a report page's first visit cuts and
#: tags them: about 0.35 s for 250 pages).
REPORTS_CACHED = 16
#: Facet values listed before "more".
FACET_SHOWN = 8

PARAM_HEADINGS = {p: FACET_HEADINGS[f] for f, p in FACET_PARAMS.items()}
META_FIELDS = ("report_id", "sha256", "original_name", "subject", "locality", "region", "nation",
               "year", "doc_type", "source", "url", "fetched_at", "status", "error", "pages",
               "extractor", "added_from", "added_at", "indexed_at")  # fmt: skip
#: Keys a report's JSON may carry about other documents (copies, versions), shown generically.
RELATED_KEYS = ("copies", "versions", "related")


def _labels() -> dict[str, str]:
    from ..tagging import load_taxonomy

    return {t.id: t.label for t in load_taxonomy().terms.values()}


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["marks"] = marks
    env.globals["version"] = __version__
    return env


class WebApp:
    """The handlers over one home; library calls run one at a time (the index readers and
    the catalogue connection are shared, and a local page has one user)."""

    def __init__(self, home: Home) -> None:
        self.home = home
        self.env = _environment()
        self.lock = threading.Lock()
        self.labels = _labels()
        self.env.globals["label"] = self.label
        self.env.globals["home"] = str(home.root)
        for name in self.env.list_templates():  # compiled now, not on a person's first visit
            self.env.get_template(name)
        # The last reports opened: their passages and tags, and their passages' terms.
        self._passages: OrderedDict[tuple, list[ReportPassage]] = OrderedDict()
        self._stems: OrderedDict[tuple, list[tuple[str, ...]]] = OrderedDict()

    def label(self, facet: str, value: object) -> str:
        """How a facet value reads to a person: a tag's label, a type without underscores."""
        if value is None:
            return "(none)"
        text = str(value)
        if facet in TAG_FACETS or facet in TAG_PARAMS:
            return self.labels.get(text, text)
        if facet == "doc_type":
            return text.replace("_", " ")
        return text

    # -- plumbing ----------------------------------------------------------------------------

    def call(self, request: Request, func: Callable[..., Any], *args, **kwargs) -> Any:
        """Run a library call under the lock, adding its time to the request's search time."""
        start = time.perf_counter()
        with self.lock:
            try:
                return func(*args, **kwargs)
            finally:
                spent = (time.perf_counter() - start) * 1000
                request.state.search_ms = getattr(request.state, "search_ms", 0.0) + spent

    def page(self, name: str, status: int = 200, **context) -> HTMLResponse:
        html = self.env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status)

    def error_page(self, exc: ScrsearchError, state: SearchState | None = None) -> HTMLResponse:
        status, heading = _status_of(exc)
        return self.page(
            "error.html", status, heading=heading, error=str(exc), state=state or SearchState()
        )

    def state_of(self, request: Request, *, api: bool = False) -> SearchState:
        return SearchState.from_params(request.query_params, api=api)

    # -- pages ---------------------------------------------------------------------------------

    def search_page(self, request: Request) -> Response:
        from ..search import search

        try:
            state = self.state_of(request)
        except UsageError as exc:
            return self.error_page(exc)
        payload, error, status = None, None, 200
        try:
            payload = self.call(request, search, self.home, state.request())
        except ScrsearchError as exc:
            status, _ = _status_of(exc)
            error = str(exc)
        return self.page(
            "search.html",
            status,
            state=state,
            payload=payload,
            error=error,
            facets=self._facet_groups(state, payload) if payload else [],
            chosen=self._chosen(state),
            pages=_pages(state, payload["total"]) if payload else [],
            per_page_choices=PER_PAGE_CHOICES,
        )

    def _facet_groups(self, state: SearchState, payload: dict) -> list[dict]:
        groups = []
        facets = payload.get("facets") or {}
        known = [f for f in FACET_PARAMS if f in facets]
        for facet in known + [f for f in facets if f not in FACET_PARAMS]:
            values = facets[facet]
            if not values:
                continue
            param = FACET_PARAMS.get(facet)
            if facet == "year":
                values = sorted(values, key=lambda v: -int(v["value"] or 0))
            items = []
            for value in values:
                chosen = param is not None and state.has(param, value["value"])
                url = None
                if param is not None:
                    url = (state.removing if chosen else state.adding)(param, value["value"])
                items.append({
                    "value": value["value"], "label": self.label(facet, value["value"]),
                    "count": value["count"], "url": url, "chosen": chosen,
                })  # fmt: skip
            groups.append({
                "facet": facet, "param": param,
                "heading": FACET_HEADINGS.get(facet, facet.replace("_", " ").capitalize()),
                "shown": items[:FACET_SHOWN], "more": items[FACET_SHOWN:],
            })  # fmt: skip
        return groups

    def _chosen(self, state: SearchState) -> list[dict]:
        chosen = [
            {"heading": PARAM_HEADINGS.get(name, name), "label": self.label(name, value),
             "url": state.removing(name, value)}
            for name, value in state.chosen()
        ]  # fmt: skip
        if state.year_from is not None or state.year_to is not None:
            span = f"{state.year_from or '…'}–{state.year_to or '…'}"
            chosen.append({"heading": "Years", "label": span, "url": state.without_years()})
        return chosen

    def help_page(self, request: Request) -> Response:
        return self.page("help.html", state=SearchState())

    def report_page(self, request: Request) -> Response:
        report_id = request.path_params["report_id"]
        try:
            state = self.state_of(request)
            shown = self._shown(request, report_id)
            part = _int_param(request, "p", 1)
            passages = self._report_passages(request, shown)
            listed, total, query_error, highlighter = self._listed(request, state, shown, passages)
        except ScrsearchError as exc:
            return self.error_page(exc)
        entry = shown.entry
        evidence = tag_evidence(passages, [t["id"] for t in entry["tags"]], per_tag=2)
        show_all = not state.query or request.query_params.get("all") == "1"
        pages = max(1, -(-len(listed) // PASSAGES_PER_PAGE))
        part = min(part, pages)
        window = [
            (p, spans_marked(p.text, highlighter.spans(p.text) if highlighter else []))
            for p in listed[(part - 1) * PASSAGES_PER_PAGE : part * PASSAGES_PER_PAGE]
        ]
        return self.page(
            "report.html",
            state=state,
            entry=entry,
            meta=[
                (k, entry.get(k), entry["meta_origin"].get(k))
                for k in META_FIELDS
                if entry.get(k) not in (None, "")
            ],  # fmt: skip
            related=[(k, entry[k]) for k in RELATED_KEYS if entry.get(k)],
            tags=_tags_by_facet(entry["tags"]),
            evidence={t: [(p, cue_snippet(p, t)) for p in found] for t, found in evidence.items()},
            passages=window,
            passages_total=total,
            listed_total=len(listed),
            part=part,
            parts=pages,
            show_all=show_all,
            query_error=query_error,
            first_number=(part - 1) * PASSAGES_PER_PAGE + 1,
        )

    def _shown(self, request: Request, report_id: str, page: int | None = None):
        if not REPORT_ID.fullmatch(report_id):
            raise UsageError(
                f"report id {report_id!r} is not valid: give at least 6 hex digits of the "
                "sha256, as `scrsearch reports` shows"
            )
        return self.call(request, show_report, self.home, report_id, page)

    def _report_passages(self, request: Request, shown) -> list[ReportPassage]:
        key = (shown.doc.sha256, shown.doc.indexed_at)  # indexing again may tag anew
        cached = self._passages.get(key)
        if cached is None:
            cached = self.call(request, report_passages, shown.text, shown.doc.sha256)
            self._passages[key] = cached
            while len(self._passages) > REPORTS_CACHED:
                self._passages.popitem(last=False)
        return cached

    def _listed(self, request: Request, state: SearchState, shown, passages):
        """The passages to list: with a query, those where its words appear (unless all=1);
        the total of passages; a query error, if the query cannot be parsed."""
        from ..search import query_highlighter

        if not state.query:
            return list(passages), len(passages), None, None
        try:
            highlighter = query_highlighter(
                state.query, all_words=state.all_words, expand=not state.no_expand
            )
        except QueryError as exc:
            return list(passages), len(passages), str(exc), None
        if request.query_params.get("all") == "1":
            return list(passages), len(passages), None, highlighter
        stems = self._report_stems(request, shown, passages)
        listed = [passages[i] for i in matching_passages(highlighter, passages, stems)]
        return listed, len(passages), None, highlighter

    def _report_stems(self, request: Request, shown, passages) -> list[tuple[str, ...]]:
        key = (shown.doc.sha256, shown.doc.indexed_at)
        cached = self._stems.get(key)
        if cached is None:
            cached = self.call(request, passage_stems, passages)
            self._stems[key] = cached
            while len(self._stems) > REPORTS_CACHED:
                self._stems.popitem(last=False)
        return cached

    def original(self, request: Request) -> Response:
        from ..store import Store

        try:
            shown = self._shown(request, request.path_params["report_id"])
        except ScrsearchError as exc:
            return self.error_page(exc)
        with Store(self.home) as store:
            path = store.original_path(shown.doc.sha256)
        if not path.is_file():
            return self.error_page(UsageError(f"the original of report {shown.doc.report_id} "
                                              "is missing from the corpus folder"))  # fmt: skip
        name = re.sub(r"[^\w.\- ]+", "_", shown.doc.original_name or "report.pdf")
        return FileResponse(
            path, media_type="application/pdf", filename=name, content_disposition_type="inline"
        )

    def export_file(self, request: Request) -> Response:
        from .. import export as exporting

        fmt = request.path_params["fmt"]
        try:
            state = self.state_of(request)
            search_request = state.request()
        except ScrsearchError as exc:
            return self.error_page(exc)
        all_passages = request.query_params.get("all") == "1"
        excel = fmt == "csv" and request.query_params.get("excel") == "1"
        # Closed by _chunks once streamed (or below on an error): not a `with` block.
        spool = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+b")  # noqa: SIM115
        handle = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        try:
            summary = self.call(
                request, exporting.export, self.home, search_request, fmt=fmt, output="-",
                all_passages=all_passages, excel=excel, stdout=handle,
            )  # fmt: skip
        except ScrsearchError as exc:
            handle.close()
            return self.error_page(exc, state)
        handle.flush()
        handle.detach()
        spool.seek(0)
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
        headers = {
            "Content-Disposition": f'attachment; filename="scrsearch-export.{fmt}"',
            "X-Scrsearch-Rows": str(summary.rows),
            "X-Scrsearch-Index": str(summary.meta["index_generation"]),
        }
        return StreamingResponse(_chunks(spool), media_type=media, headers=headers)

    def export_meta(self, request: Request) -> Response:
        from .. import export as exporting

        try:
            search_request = self.state_of(request).request()
        except ScrsearchError as exc:
            return JSONResponse({"error": str(exc)}, status_code=_status_of(exc)[0])
        meta = self.call(
            request, exporting.export_meta, self.home, search_request,
            all_passages=request.query_params.get("all") == "1", fmt="csv",
        )  # fmt: skip
        return JSONResponse(
            meta,
            headers={
                "Content-Disposition": 'attachment; filename="scrsearch-export.csv.meta.json"'
            },  # fmt: skip
        )

    def counts_page(self, request: Request) -> Response:
        from .. import stats as statistics

        by = [b for b in request.query_params.getlist("by") if b][:2] or ["year"]
        try:
            state = self.state_of(request)
            table = self.call(request, statistics.count_reports, self.home, state.request(), by)
        except ScrsearchError as exc:
            return self.error_page(exc)
        context: dict[str, Any] = {"state": state, "table": table, "by": table.by,
                                   "fields": statistics.STATS_FIELDS}  # fmt: skip
        if len(table.by) == 1:
            field = table.by[0]
            param = FACET_PARAMS.get(field, field)
            context["rows"] = [
                {"value": r[field], "label": self.label(field, r[field]), "count": r["count"],
                 "url": state.adding(param, r[field])
                 if r[field] is not None and param in FILTER_PARAMS else None}
                for r in table.rows
            ]  # fmt: skip
            context["chart"] = bar_chart(
                [self.label(field, r[field]) for r in table.rows],
                [r["count"] for r in table.rows],
                title=f"Reports by {field} (n={table.total})",
            )
        else:
            first, second = table.by
            rows = list(dict.fromkeys(r[first] for r in table.rows))
            cols = list(dict.fromkeys(r[second] for r in table.rows))
            grid = {(r[first], r[second]): r["count"] for r in table.rows}
            context.update(rows=rows, cols=cols, grid=grid)
            context["chart"] = heat_map(
                rows, cols, grid, title=f"Reports by {first} and {second} (n={table.total})"
            )
        return self.page("counts.html", **context)

    # -- the API -------------------------------------------------------------------------------

    def api_search(self, request: Request) -> Response:
        from ..search import search

        try:
            state = self.state_of(request, api=True)
            search_request = state.request()
            search_request.explain = request.query_params.get("explain") == "1"  # --explain
            payload = self.call(request, search, self.home, search_request)
        except ScrsearchError as exc:
            return JSONResponse({"error": str(exc)}, status_code=_status_of(exc)[0])
        return JSONResponse(payload)

    def api_report(self, request: Request) -> Response:
        try:
            page = _int_param(request, "page", None)
            shown = self._shown(request, request.path_params["report_id"], page)
        except ScrsearchError as exc:
            return JSONResponse({"error": str(exc)}, status_code=_status_of(exc)[0])
        return JSONResponse(shown.entry)

    def favicon(self, request: Request) -> Response:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")


def _status_of(exc: ScrsearchError) -> tuple[int, str]:
    """The HTTP status and heading for a library error."""
    text = str(exc)
    if isinstance(exc, UsageError) and ("no report has the id" in text or "is missing" in text):
        return 404, "Not found"
    if isinstance(exc, UsageError):
        return 400, "That request could not run"
    if isinstance(exc, IndexError_):
        return 503, "No search index yet"
    return 500, "Something went wrong"


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or len(raw) > 6:
        raise UsageError(f"{name}={raw!r} is not a whole number")
    return int(raw)


def _pages(state: SearchState, total: int) -> list[dict]:
    """Links to the pages of results around the current one."""
    if state.limit <= 0 or total <= state.limit:
        return []
    last = min(-(-total // state.limit), 10_000 // state.limit + 1)
    wanted = sorted({1, last, *range(max(1, state.page - 2), min(last, state.page + 2) + 1)})
    return [{"number": n, "url": state.at_page(n), "current": n == state.page} for n in wanted]


def _tags_by_facet(tags: list[dict]) -> list[tuple[str, list[dict]]]:
    grouped: dict[str, list[dict]] = {}
    for tag in tags:
        grouped.setdefault(tag["facet"], []).append(tag)
    return [(FACET_HEADINGS.get(f, f), grouped[f]) for f in FACET_HEADINGS if f in grouped]


def _chunks(spool, size: int = 1 << 16) -> Iterator[bytes]:
    try:
        while chunk := spool.read(size):
            yield chunk
    finally:
        spool.close()


def create_app(home: Home) -> Starlette:
    """The web application over `home`: pages, downloads, the API and static files."""
    web = WebApp(home)
    routes = [
        Route("/", web.search_page),
        Route("/help", web.help_page),
        Route("/counts", web.counts_page),
        Route("/reports/{report_id}", web.report_page),
        Route("/reports/{report_id}/original", web.original),
        Route("/export.meta.json", web.export_meta),
        Route("/export.{fmt:str}", web.export_file),
        Route("/api/search", web.api_search),
        Route("/api/reports/{report_id}", web.api_report),
        Route("/favicon.ico", web.favicon),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.web = web
    return SecurityHeaders(app)
