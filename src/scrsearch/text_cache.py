"""The cache of extracted text, one gzipped JSON file per original, mixed into Store."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from .atomic_files import write_atomically
from .config import Home
from .models import ExtractedText, PageSource

#: Bump when extraction or normalisation changes, so cached text is made again.
TEXT_CACHE_VERSION = 2  # 2: pages without a usable text layer are OCR'd; per-page sources


class TextCache:
    """Extracted text by sha256 under the home's text folder (a part of Store)."""

    home: Home

    def text_path(self, sha256: str) -> Path:
        return self.home.text_dir / sha256[:2] / f"{sha256}.json.gz"

    def cached_text(self, sha256: str) -> ExtractedText | None:
        """The cached extracted text of a document, if present and current."""
        path = self.text_path(sha256)
        try:
            payload = json.loads(gzip.decompress(path.read_bytes()))
        except (OSError, ValueError, EOFError):
            return None
        if payload.get("version") != TEXT_CACHE_VERSION:
            return None
        return ExtractedText(
            pages=tuple(payload["pages"]),
            extractor=payload["extractor"],
            warnings=tuple(payload.get("warnings", ())),
            sources=tuple(PageSource.from_json(s) for s in payload.get("sources", ())),
        )

    def cached_text_is_of(self, sha256: str) -> bool:
        """False when the cached text names another document (a file copied over another);
        caches written before they named their document count as theirs."""
        try:
            payload = json.loads(gzip.decompress(self.text_path(sha256).read_bytes()))
        except (OSError, ValueError, EOFError):
            return False
        return payload.get("sha256", sha256) == sha256

    def cache_text(self, sha256: str, text: ExtractedText) -> None:
        """Cache extracted text by sha256, atomically."""
        payload = {
            "version": TEXT_CACHE_VERSION,
            "sha256": sha256,
            "extractor": text.extractor,
            "warnings": list(text.warnings),
            "pages": list(text.pages),
            "sources": [s.to_json() for s in text.sources],
        }
        data = gzip.compress(json.dumps(payload, ensure_ascii=False).encode(), compresslevel=5)
        write_atomically(self.text_path(sha256), data)
