"""The exception tree of scrsearch.

ScrsearchError                 anything scrsearch raises on purpose
├── UsageError                 a bad option or argument (exit code 2)
│   └── QueryError             a malformed search query (exit code 2)
├── ConfigError                a bad sources.toml or setting
│   ├── SourcesFileError       sources.toml is malformed (a usage error too: exit code 2)
│   └── SettingError           a SCRSEARCH_* variable has a bad value (a usage error too: exit 2)
├── StoreError                 the catalogue or the originals cannot be read or written
├── IndexError_                the search index is missing, foreign or broken
│   └── IndexDamaged           a file of the index is missing, the wrong size or unreadable
├── ExtractError               a document's text cannot be extracted
│   ├── NeedsOCRError          the PDF has no text layer
│   ├── EncryptedError         the PDF is encrypted and cannot be opened
│   ├── NotPDFError            the file is not a PDF (an HTML page saved as .pdf, ...)
│   ├── BrokenPDFError         the PDF is truncated or damaged
│   └── ExtractTimeout         extraction ran past its time or memory limit
├── FetchError                 a download failed (HTTP status, timeout, size cap, ...)
│   └── RobotsDisallowed       robots.txt forbids the URL
└── LockedError                another run holds the home's lock (exit code 75)
"""

from __future__ import annotations


class ScrsearchError(Exception):
    """Anything scrsearch raises on purpose; its message is meant for a person."""


class UsageError(ScrsearchError):
    """A bad option or argument."""


class QueryError(UsageError):
    """A malformed search query."""


class ConfigError(ScrsearchError):
    """A bad configuration file or setting."""


class SourcesFileError(ConfigError, UsageError):
    """The home's sources.toml is malformed (the person's input: exit code 2, as usage)."""


class SettingError(ConfigError, UsageError):
    """A SCRSEARCH_* environment variable has a bad value (the person's input: exit code 2)."""


class StoreError(ScrsearchError):
    """The catalogue or the stored originals cannot be read or written."""


class IndexError_(ScrsearchError):  # noqa: N801 - avoid shadowing the builtin IndexError
    """The search index is missing, foreign or broken."""


class IndexDamaged(IndexError_):
    """A file of the index is missing, the wrong size or unreadable; `check --repair` fixes it."""

    def __init__(self, file: str, reason: str) -> None:
        self.file, self.reason = file, reason
        super().__init__(f"the index is damaged ({file}: {reason}); run `scrsearch check --repair`")


class ExtractError(ScrsearchError):
    """A document's text cannot be extracted."""

    status = "failed"


class NeedsOCRError(ExtractError):
    """The PDF has no text layer."""

    status = "needs_ocr"


class EncryptedError(ExtractError):
    """The PDF is encrypted and cannot be opened."""


class NotPDFError(ExtractError):
    """The file is not a PDF."""


class BrokenPDFError(ExtractError):
    """The PDF is truncated or damaged."""


class ExtractTimeout(ExtractError):
    """Extraction ran past its time or memory limit."""


class FetchError(ScrsearchError):
    """A download failed."""


class RobotsDisallowed(FetchError):
    """robots.txt forbids the URL."""


class LockedError(ScrsearchError):
    """Another run holds the home's lock."""
