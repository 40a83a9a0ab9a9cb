"""Core commands: add, index, search, reports, show."""

from __future__ import annotations
