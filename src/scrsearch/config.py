"""Settings with their defaults, and the home folder that holds a corpus and its index.

Every tuning setting is an environment variable read when it is used (`Settings.from_env()`),
never when a module is imported: `scrsearch --help` works whatever the environment holds, and a
bad value is a one-line `SettingError` (exit code 2) naming the variable and what it may be.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from .errors import ConfigError, SettingError

HOME_ENV = "SCRSEARCH_HOME"

#: Passage sizes, in characters.
PASSAGE_MIN_CHARS = 300
PASSAGE_MAX_CHARS = 1500

#: The extractors SCRSEARCH_EXTRACTOR may name (extract.py).
EXTRACTORS = ("auto", "pypdfium2", "pypdf")

#: The crawler's user agent unless SCRSEARCH_USER_AGENT or `crawl --user-agent` gives one.
DEFAULT_USER_AGENT = (
    "scrsearch/{version} (+https://github.com/scrsearch/scrsearch; research crawler of "
    "published child safeguarding case reviews)"
)


def _number(kind: type, low: float, allowed: str, *, above: bool = False) -> Callable[[str], float]:
    """A parser of a number of `kind` (int or float) no smaller than `low` (greater, `above`)."""
    word = "a whole number" if kind is int else "a number"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"is not {word}; use {allowed}") from None
        if not (value > low if above else value >= low):  # NaN fails both
            raise ValueError(f"is out of range; use {allowed}")
        return value

    return parse


def _one_of(choices: tuple[str, ...], what: str) -> Callable[[str], str]:
    """A parser of one of `choices` (any case), each `what`."""

    def parse(text: str) -> str:
        if text.lower() not in choices:
            raise ValueError(f"is not {what}; use one of {', '.join(choices)}")
        return text.lower()

    return parse


_SECONDS = _number(float, 0, "a number of seconds > 0", above=True)


def _setting(env: str, default, parse: Callable[[str], object], help: str):
    """A field of Settings: its variable, default, parser (raises ValueError) and help line."""
    return field(default=default, metadata={"env": env, "parse": parse, "help": help})


@dataclass(frozen=True)
class Settings:
    """The tuning settings, each from its SCRSEARCH_* environment variable or its default.

    An unset or blank variable takes the default. Read them where they are used, with
    `Settings.from_env()`: nothing is cached, so a test changes a setting with monkeypatch.setenv.
    """

    extractor: str = _setting(
        "SCRSEARCH_EXTRACTOR", "auto", _one_of(EXTRACTORS, "an extractor"),
        "pypdfium2 (the fast extra), pypdf, or auto (pypdfium2 when installed, pypdf as fallback)",
    )  # fmt: skip
    workers: int = _setting(
        "SCRSEARCH_WORKERS", 0,
        _number(int, 0, "a number of worker processes ≥ 0 (0 = every core)"),
        "extraction worker processes (0: one per core)",
    )  # fmt: skip
    extract_timeout: float = _setting(
        "SCRSEARCH_EXTRACT_TIMEOUT", 120.0, _SECONDS,
        "seconds one PDF may take to extract before its worker is killed",
    )  # fmt: skip
    extract_memory_mb: int = _setting(
        "SCRSEARCH_EXTRACT_MEMORY_MB", 1536,
        _number(int, 0, "a number of megabytes ≥ 0 (0 = no limit)"),
        "address space of an extraction worker, in MB (0: no limit)",
    )  # fmt: skip
    max_pages: int = _setting(
        "SCRSEARCH_MAX_PAGES", 3000, _number(int, 1, "a number of pages ≥ 1"),
        "longer PDFs are refused with a message",
    )  # fmt: skip
    commit_every: int = _setting(
        "SCRSEARCH_COMMIT_EVERY", 200, _number(int, 1, "a number of reports ≥ 1"),
        "`index` commits after this many reports (a kill loses at most one batch)",
    )  # fmt: skip
    commit_passages: int = _setting(
        "SCRSEARCH_COMMIT_PASSAGES", 20000, _number(int, 1, "a number of passages ≥ 1"),
        "`index` commits after this many passages (a kill loses at most one batch)",
    )  # fmt: skip
    writer_mb: int = _setting(
        "SCRSEARCH_WRITER_MB", 1024, _number(int, 1, "a number of megabytes ≥ 1"),
        "the index writer's sort buffer in MB; a batch larger than it spills to disk",
    )  # fmt: skip
    tesseract: str = _setting(
        "SCRSEARCH_TESSERACT", "tesseract", str,
        "the Tesseract program OCR runs (a name on PATH, or a full path)",
    )  # fmt: skip
    ocr_lang: str = _setting(
        "SCRSEARCH_OCR_LANG", "eng", str,
        "Tesseract's languages, e.g. eng+fra (each needs its data package)",
    )  # fmt: skip
    ocr_page_timeout: float = _setting(
        "SCRSEARCH_OCR_PAGE_TIMEOUT", 60.0, _SECONDS,
        "seconds Tesseract may spend on one page before the page is recorded as failed",
    )  # fmt: skip
    user_agent: str = _setting(
        "SCRSEARCH_USER_AGENT", DEFAULT_USER_AGENT, str,
        "the crawler's user agent ({version} is replaced by scrsearch's version)",
    )  # fmt: skip

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment (os.environ unless given) holds now; raises SettingError
        naming the variable, its value and what it may be, for the first bad one."""
        environ = os.environ if environ is None else environ
        values = {}
        for spec in fields(cls):
            raw = environ.get(spec.metadata["env"], "")
            if not raw.strip():
                continue
            try:
                values[spec.name] = spec.metadata["parse"](raw.strip())
            except ValueError as exc:
                raise SettingError(f"{spec.metadata['env']}={raw!r} {exc}") from None
        return cls(**values)

    @classmethod
    def variables(cls) -> dict[str, tuple[object, str]]:
        """Each setting's variable -> (its default, its help line), in declaration order."""
        return {f.metadata["env"]: (f.default, f.metadata["help"]) for f in fields(cls)}

    @classmethod
    def variable(cls, name: str) -> str:
        """The environment variable of the setting `name` (a field name)."""
        return next(f.metadata["env"] for f in fields(cls) if f.name == name)

    def is_set(self, name: str) -> bool:
        """Whether the setting `name` differs from its default."""
        return getattr(self, name) != next(f.default for f in fields(self) if f.name == name)

    @property
    def worker_count(self) -> int:
        """Extraction worker processes: `workers`, or one per core when it is 0."""
        return self.workers or (os.cpu_count() or 1)

    @property
    def extract_memory_limit(self) -> int:
        """Memory one extraction worker may use, in bytes; 0 means no limit."""
        return self.extract_memory_mb * 1024 * 1024


@dataclass(frozen=True)
class Home:
    """The folder that holds one corpus: originals, catalogue, text cache and index."""

    root: Path

    @property
    def corpus_dir(self) -> Path:
        return self.root / "corpus"

    @property
    def originals_dir(self) -> Path:
        return self.corpus_dir / "originals"

    @property
    def text_dir(self) -> Path:
        return self.corpus_dir / "text"

    @property
    def catalogue_path(self) -> Path:
        return self.corpus_dir / "catalogue.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    @property
    def lock_path(self) -> Path:
        return self.root / "index" / "update.lock"

    @property
    def sources_path(self) -> Path:
        return self.root / "sources.toml"

    def ensure(self) -> Home:
        """Create the home's folders on first use and return the home."""
        try:
            for folder in (self.originals_dir, self.text_dir, self.index_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the scrsearch home at {self.root}: {exc.strerror}; "
                "choose another with --home or SCRSEARCH_HOME"
            ) from exc
        return self


def resolve_home(option: str | os.PathLike[str] | None = None) -> Home:
    """The home named by --home, else SCRSEARCH_HOME, else the current directory."""
    value = option or os.environ.get(HOME_ENV) or "."
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--home {value} is a file, not a folder; name a folder")
    return Home(path.resolve())
