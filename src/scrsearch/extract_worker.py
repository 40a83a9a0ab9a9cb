"""Many PDFs extracted in long-lived worker processes, each with time and memory limits."""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import multiprocessing
import os
import resource
import signal
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from . import config, ocr, pdf_text
from .errors import BrokenPDFError, ExtractError, ExtractTimeout
from .models import ExtractedText
from .pdf_readers import _broken
from .pdf_text import _extractor_choice, extract_pdf


def extract_many(
    jobs: Iterable[tuple[str, Path]],
    *,
    workers: int | None = None,
    timeout: float | None = None,
    memory_limit: int | None = None,
    ocr_cache: Path | None = None,
) -> Iterator[tuple[str, ExtractedText | ExtractError]]:
    """Extract many PDFs in worker processes; yield (key, text or error) as each finishes.

    Each document gets `timeout` seconds of wall-clock time, and each page it OCRs at least
    twice the OCR page timeout from when that page starts; each worker gets `memory_limit`
    bytes more than it started with (0: no limit); each left out comes from the settings
    (SCRSEARCH_WORKERS, SCRSEARCH_EXTRACT_TIMEOUT, SCRSEARCH_EXTRACT_MEMORY_MB). A worker that
    runs late is killed and replaced, and only its document fails.
    Closing the generator (or an exception in the caller, Ctrl-C included) kills every worker;
    workers also die with this process. OCR'd pages are kept under `ocr_cache` by key.
    """
    _extractor_choice()  # a bad SCRSEARCH_EXTRACTOR is a usage error, not a failed document
    settings = config.Settings.from_env()
    pool = _Pool(
        max(1, settings.worker_count if workers is None else workers),
        settings.extract_timeout if timeout is None else timeout,
        settings.extract_memory_limit if memory_limit is None else memory_limit,
        ocr_cache,
    )
    todo = iter(jobs)
    upcoming = next(todo, None)
    try:
        while True:
            while upcoming is not None and pool.has_room():
                job, upcoming = upcoming, next(todo, None)
                # The last documents may OCR pages in several threads: the cores of workers
                # left idle (one scanned report alone still uses every core).
                threads = pool.size - len(pool.busy()) if upcoming is None else 1
                pool.submit(str(job[0]), Path(job[1]), threads)
            if not pool.busy():
                return
            yield from pool.collect()
    finally:
        pool.close()


#: The message a worker sends before it OCRs a page: (_OCR_PAGE, page number).
_OCR_PAGE = "ocr-page"
#: Seconds allowed to render a page for OCR, on top of Tesseract's own time.
_RENDER_SECONDS = 10


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    key: str | None = None
    path: Path | None = None
    deadline: float = 0.0


class _Pool:
    """Long-lived forked workers, one document at a time each, watched by the parent."""

    def __init__(
        self, size: int, timeout: float, memory_limit: int, ocr_cache: Path | None = None
    ) -> None:
        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.size = size
        self.timeout = timeout
        self.memory_limit = memory_limit
        self.ocr_cache = ocr_cache
        self.workers: list[_Worker] = []

    def has_room(self) -> bool:
        return len(self.workers) < self.size or any(w.key is None for w in self.workers)

    def busy(self) -> list[_Worker]:
        return [w for w in self.workers if w.key is not None]

    def submit(self, key: str, path: Path, ocr_threads: int = 1) -> None:
        worker = next((w for w in self.workers if w.key is None), None) or self._start()
        folder = ocr.cache_folder(self.ocr_cache, key)
        job = (key, str(path), str(folder) if folder else None, max(1, ocr_threads))
        try:
            worker.conn.send(job)
        except OSError:  # it died while idle: start another
            self._retire(worker)
            worker = self._start()
            worker.conn.send(job)
        worker.key, worker.path = key, path
        worker.deadline = time.monotonic() + self.timeout

    def collect(self) -> Iterator[tuple[str, ExtractedText | ExtractError]]:
        """Wait until some worker finishes, dies or runs late; yield what became of its job."""
        busy = self.busy()
        wait_for = min(w.deadline for w in busy) - time.monotonic()
        wait([w.conn for w in busy] + [w.process.sentinel for w in busy], max(0.0, wait_for))
        now = time.monotonic()
        for worker in busy:
            key, path = worker.key, worker.path
            assert key is not None and path is not None
            outcome = self._outcome(worker, now)
            if outcome is not None:
                worker.key, worker.path = None, None
                yield key, outcome

    def _outcome(self, worker: _Worker, now: float) -> ExtractedText | ExtractError | None:
        assert worker.path is not None
        while worker.conn.poll():
            try:
                result, exiting = worker.conn.recv()
            except (EOFError, OSError):
                break  # it died while sending: treated as a crash below
            # "About to OCR a page": the page gets its own time (Tesseract may run twice on
            # it, for orientation), so a long scan is not cut off, and a hang still is.
            if isinstance(result, str) and result == _OCR_PAGE:
                page_deadline = time.monotonic() + 2 * ocr.page_timeout() + _RENDER_SECONDS
                worker.deadline = max(worker.deadline, page_deadline)
                continue
            if exiting:
                self._retire(worker)
            return result
        if not worker.process.is_alive() or worker.conn.closed:
            worker.process.join()
            code = worker.process.exitcode
            self._retire(worker)
            return _crash_error(worker.path, code, self.memory_limit)
        if now >= worker.deadline:
            self._retire(worker)
            return ExtractTimeout(
                f"{worker.path.name} took longer than {self.timeout:g} s to extract and was "
                "stopped; check the file, or raise SCRSEARCH_EXTRACT_TIMEOUT"
            )
        return None

    def _start(self) -> _Worker:
        parent_end, child_end = self.context.Pipe()
        inherited = [w.conn for w in self.workers]
        process = self.context.Process(
            target=_worker_main,
            args=(child_end, parent_end, inherited, self.memory_limit, os.getpid()),
            name="scrsearch-extract",
            daemon=True,
        )
        process.start()
        child_end.close()
        worker = _Worker(process, parent_end)
        self.workers.append(worker)
        return worker

    def _retire(self, worker: _Worker) -> None:
        _kill_children(worker.process.pid)  # a Tesseract it started dies with it
        with contextlib.suppress(OSError):
            worker.process.kill()
        worker.process.join()
        worker.conn.close()
        if worker in self.workers:
            self.workers.remove(worker)

    def close(self) -> None:
        for worker in list(self.workers):
            self._retire(worker)


def _kill_children(pid: int | None) -> None:
    """Kill the child processes of a worker (its Tesseract runs): Linux lists them in /proc."""
    if pid is None:
        return
    with contextlib.suppress(OSError, ValueError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                for child in handle.read().split():
                    with contextlib.suppress(OSError):
                        os.kill(int(child), signal.SIGKILL)


def _crash_error(path: Path, exitcode: int | None, memory_limit: int) -> ExtractError:
    if exitcode is not None and exitcode < 0:
        try:
            how = signal.Signals(-exitcode).name
        except ValueError:
            how = f"signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    if exitcode == -signal.SIGKILL:
        return ExtractTimeout(
            f"{path.name} was stopped by the system ({how}), probably for using too much "
            "memory; check the file, or lower SCRSEARCH_WORKERS"
        )
    limit = f", perhaps by going over the memory limit of {memory_limit // 2**20} MB"
    return BrokenPDFError(
        f"{path.name} crashed the PDF reader ({how}{limit if memory_limit else ''}); the file is "
        "probably damaged: download it again or repair it (e.g. qpdf)"
    )


def _worker_main(
    conn: Connection,
    parent_end: Connection,
    inherited: list[Connection],
    memory_limit: int,
    parent_pid: int,
) -> None:
    """Run in a worker process: extract one document per message until the pipe closes."""
    _die_with_parent(parent_pid)
    faulthandler.disable()  # a crash is reported by the parent; no dump of inherited state
    # Ctrl-C reaches the whole process group; the parent decides what happens to workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for other in [parent_end, *inherited]:  # so EOF on our pipe means the parent is gone
        with contextlib.suppress(OSError):
            other.close()
    _limit_memory(memory_limit)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        key, path, folder, ocr_threads = job
        # pdf_text reads this hook when it OCRs a page of the document extracted below.
        pdf_text._announce_ocr = lambda page: conn.send((_OCR_PAGE, page))
        result, exiting = _extract_in_worker(
            Path(path), memory_limit, Path(folder) if folder else None, ocr_threads
        )
        try:
            conn.send((result, exiting))
        except Exception as exc:  # e.g. a result that will not pickle
            conn.send((_broken(Path(path), exc), exiting))
        if exiting:
            return


def _extract_in_worker(
    path: Path, memory_limit: int, ocr_cache: Path | None = None, ocr_threads: int = 1
) -> tuple[ExtractedText | ExtractError, bool]:
    try:
        return extract_pdf(path, ocr_cache, ocr_threads), False
    except ExtractError as exc:
        return exc, False
    except MemoryError:
        # The heap may be in a poor state after this: answer, then let a fresh worker go on.
        return ExtractTimeout(
            f"{path.name} needed more than the memory limit of {memory_limit // 2**20} MB "
            "to extract; check the file, or raise SCRSEARCH_EXTRACT_MEMORY_MB"
        ), True
    except RecursionError as exc:
        return _broken(path, exc), False
    except Exception as exc:  # anything else is a bug or a hostile file: never a traceback
        return BrokenPDFError(
            f"{path.name} could not be extracted ({type(exc).__name__}: {exc}); "
            "the file is probably damaged: download it again or repair it (e.g. qpdf)"
        ), False


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this worker when the parent dies, even by SIGKILL (no orphans)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _limit_memory(memory_limit: int) -> None:
    """Cap the worker's address space at what it has now plus memory_limit bytes."""
    if memory_limit <= 0:
        return
    try:
        with open("/proc/self/statm") as handle:
            current = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        current = 0
    limit = current + memory_limit
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
