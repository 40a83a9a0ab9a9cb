"""Time the pages of `scrsearch serve`: how long the server spends beyond the library calls.

    python scripts/web_timings.py                       # over ../shared/corpus (indexed first)
    python scripts/web_timings.py --home /path/to/home  # over an existing home
    python scripts/web_timings.py --json                # one JSON object on stdout

Serves the app under a real uvicorn on 127.0.0.1 (a free port) and requests each page of a fixed
mix `--repeat` times after one warm-up, over HTTP with httpx. Each response's Server-Timing
header carries the time spent in library calls (`library`: search, show, the report's passages,
export, stats) and in all (`total`, to the first byte of the response); `web` = total - library
is what the web layer adds (parsing the URL, building the facet lists, rendering the template).
`wall` is what the client saw, body included; `first` is the total of the warm-up request
(a report's first visit cuts and tags its passages; later visits reuse them).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

PAGES = [
    ("search: browse", "/"),
    ("search: words", "/?q=neglect"),
    ("search: words + facet", "/?q=strategy+meetings&theme=neglect"),
    ("search: phrase", "/?q=%22voice+of+the+child%22"),
    ("search: page 3", "/?q=police&page=3"),
    ("search: bad query", "/?q=%22unclosed"),
    ("report: with query", "REPORT?q=strategy+meetings"),
    ("report: all passages", "REPORT"),
    ("largest report", "LARGEST"),
    ("largest report: query", "LARGEST?q=child"),
    ("largest report: phrase", "LARGEST?q=%22adoption+panel%22"),
    ("counts: by year", "/counts?by=year"),
    ("counts: year x theme", "/counts?by=year&by=theme"),
    ("api: search", "/api/search?q=neglect"),
    ("api: report", "/api/REPORT"),
    ("export: csv", "/export.csv?q=strategy+meetings"),
]


def _timing(header: str) -> dict[str, float]:
    return {m[0]: float(m[1]) for m in re.findall(r"(\w+);dur=([\d.]+)", header)}


def _index_corpus(corpus: Path) -> Path:
    from scrsearch.config import Home
    from scrsearch.pipeline import add_paths, run_index

    home = Home(Path(tempfile.mkdtemp(prefix="scrsearch-web-")) / "home").ensure()
    add_paths(home, [corpus])
    run_index(home)
    return home.root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="An indexed home (default: index the corpus).")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import httpx
    import uvicorn

    from scrsearch.config import Home
    from scrsearch.store import Store
    from scrsearch.web import create_app

    root = args.home or _index_corpus(args.corpus)
    home = Home(root)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(create_app(home), log_level="warning", access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    rows = []
    with httpx.Client(base_url=url, timeout=120) as client:
        report_id = client.get("/api/search?q=strategy+meetings").json()["results"][0]["report_id"]
        with Store(home) as store:
            largest = max(store.documents(["indexed"]), key=lambda d: d.pages or 0).report_id
        for name, path in PAGES:
            path = path.replace("REPORT", f"/reports/{report_id}").replace("//", "/")
            path = path.replace("LARGEST", f"/reports/{largest}")
            samples = []
            for i in range(args.repeat + 1):
                start = time.perf_counter()
                response = client.get(path)
                wall = (time.perf_counter() - start) * 1000
                timing = _timing(response.headers.get("server-timing", ""))
                if i:  # the first request warms caches: reported on its own
                    samples.append((timing["library"], timing["total"] - timing["library"], wall))
                else:
                    first = timing["total"]
            rows.append({
                "page": name, "path": path, "status": response.status_code,
                "bytes": len(response.content), "first_total": round(first, 1),
                **{f"{k}_p50": round(statistics.median(s[j] for s in samples), 1)
                   for j, k in enumerate(("library", "web", "wall"))},
                **{f"{k}_max": round(max(s[j] for s in samples), 1)
                   for j, k in enumerate(("library", "web", "wall"))},
            })  # fmt: skip
    server.should_exit = True
    thread.join(10)
    if args.home is None:  # the home indexed for this run
        shutil.rmtree(root.parent, ignore_errors=True)
    result = {"home": str(root), "repeat": args.repeat, "pages": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{root}: {args.repeat} requests a page after one warm-up; milliseconds")
    head = f"{'page':<22}{'status':>7}{'KB':>7}{'library p50':>13}{'web p50':>9}{'web max':>9}"
    print(head + f"{'wall p50':>10}{'first':>8}")
    for r in rows:
        print(
            f"{r['page']:<22}{r['status']:>7}{r['bytes'] / 1024:>7.0f}{r['library_p50']:>13}"
            f"{r['web_p50']:>9}{r['web_max']:>9}{r['wall_p50']:>10}{r['first_total']:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
