"""The installed Whoosh is one the tests against Whoosh's own code have covered.

The engine reads Whoosh's private internals (engine/whoosh/: fastpaths.py, codec.py,
patches.py, strict.py, and the tests that compare our fast paths with Whoosh's own code), so a
new Whoosh must be chosen on purpose: run the suite against it, then widen TESTED_WHOOSH and the
pin in pyproject.toml together.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

#: The Whoosh versions the suite has passed against: at least the first, below the second.
#: Kept equal to the pin of whoosh-reloaded in pyproject.toml (checked below).
TESTED_WHOOSH = ("2.7.5", "2.8")


def _release(text: str) -> tuple[int, ...]:
    """The numeric release of a version ("2.7.5.post1" -> (2, 7, 5))."""
    match = re.match(r"\d+(?:\.\d+)*", text.strip())
    assert match, f"cannot read the version {text!r}"
    return tuple(int(part) for part in match.group().split("."))


def _pin() -> str:
    """The whoosh-reloaded requirement of pyproject.toml's dependencies."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    (pin,) = [d for d in project["dependencies"] if re.match(r"whoosh-reloaded\b", d, re.I)]
    return pin


def test_the_installed_whoosh_is_a_tested_one() -> None:
    low, high = TESTED_WHOOSH
    try:
        installed = version("whoosh-reloaded")
    except PackageNotFoundError:
        pytest.fail(f"whoosh-reloaded is not installed; pip install '{_pin()}'")
    if not _release(low) <= _release(installed) < _release(high):
        pytest.fail(
            f"Whoosh {installed} is installed, but the tests against Whoosh's own code have "
            f"covered only >={low},<{high} (the pin {_pin()!r} in pyproject.toml, TESTED_WHOOSH "
            f"in {Path(__file__).name}): install a tested one (pip install '{_pin()}'), or run "
            "the whole suite against this one and then widen the pin and TESTED_WHOOSH together"
        )


def test_the_pin_and_tested_range_agree() -> None:
    low, high = TESTED_WHOOSH
    pin = _pin()
    assert pin.replace(" ", "") == f"whoosh-reloaded>={low},<{high}", (
        f"pyproject.toml pins {pin!r} but TESTED_WHOOSH in {Path(__file__).name} is "
        f">={low},<{high}: change them together"
    )
    # Below the next minor version: a new minor of Whoosh may change its private internals.
    assert len(_release(high)) == 2 and _release(high) > _release(low)[:2]
