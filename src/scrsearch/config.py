"""Settings with their defaults, and the home folder that holds a corpus and its index."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

HOME_ENV = "SCRSEARCH_HOME"

#: Seconds one document may spend in extraction before it is recorded as failed.
EXTRACT_TIMEOUT_S = float(os.environ.get("SCRSEARCH_EXTRACT_TIMEOUT", "120"))
#: Memory one extraction worker may use (bytes) before it is stopped; 0 means no limit.
EXTRACT_MEMORY_LIMIT = int(os.environ.get("SCRSEARCH_EXTRACT_MEMORY_MB", "1536")) * 1024 * 1024
#: Pages beyond which a document is not extracted at all.
MAX_PAGES = int(os.environ.get("SCRSEARCH_MAX_PAGES", "3000"))
#: Worker processes for extraction (default: every core).
WORKERS = int(os.environ.get("SCRSEARCH_WORKERS", "0")) or (os.cpu_count() or 1)

#: Passage sizes, in characters.
PASSAGE_MIN_CHARS = 300
PASSAGE_MAX_CHARS = 1500

#: Default user agent of the crawler; override with SCRSEARCH_USER_AGENT or the crawl option.
USER_AGENT = os.environ.get(
    "SCRSEARCH_USER_AGENT",
    "scrsearch/{version} (+https://github.com/scrsearch/scrsearch; research crawler of "
    "published child safeguarding case reviews)",
)


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
