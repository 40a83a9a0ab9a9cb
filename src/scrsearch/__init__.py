"""scrsearch: gather, extract, tag and search UK child-safeguarding case reviews."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("scrsearch")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
