"""Settings are read from the environment when used, with defaults, help and one-line errors."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scrsearch.cli import main
from scrsearch.config import DEFAULT_USER_AGENT, Settings
from scrsearch.errors import ConfigError, SettingError, UsageError

SRC = Path(__file__).resolve().parents[1] / "src" / "scrsearch"
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

#: field: (variable, default, a good value as written, as read, a bad value or None).
CASES = {
    "extractor": ("SCRSEARCH_EXTRACTOR", "auto", " PyPDF ", "pypdf", "tesseract"),
    "workers": ("SCRSEARCH_WORKERS", 0, "3", 3, "x"),
    "extract_timeout": ("SCRSEARCH_EXTRACT_TIMEOUT", 120.0, "2.5", 2.5, "0"),
    "extract_memory_mb": ("SCRSEARCH_EXTRACT_MEMORY_MB", 1536, "0", 0, "-5"),
    "max_pages": ("SCRSEARCH_MAX_PAGES", 3000, "10", 10, "ten"),
    "commit_every": ("SCRSEARCH_COMMIT_EVERY", 200, "3", 3, "0"),
    "commit_passages": ("SCRSEARCH_COMMIT_PASSAGES", 20000, "100", 100, "1.5"),
    "writer_mb": ("SCRSEARCH_WRITER_MB", 1024, "256", 256, "lots"),
    "tesseract": ("SCRSEARCH_TESSERACT", "tesseract", "/opt/tess", "/opt/tess", None),
    "ocr_lang": ("SCRSEARCH_OCR_LANG", "eng", "eng+fra", "eng+fra", None),
    "ocr_page_timeout": ("SCRSEARCH_OCR_PAGE_TIMEOUT", 60.0, "0.05", 0.05, "nan"),
    "user_agent": ("SCRSEARCH_USER_AGENT", DEFAULT_USER_AGENT, "me/1.0", "me/1.0", None),
}
BAD = [(name, case[0], case[4]) for name, case in CASES.items() if case[4] is not None]


def test_every_setting_has_a_case_a_variable_and_a_help_line() -> None:
    assert [f.name for f in dataclasses.fields(Settings)] == list(CASES)
    variables = Settings.variables()
    assert list(variables) == [case[0] for case in CASES.values()]
    for variable, (default, help_line) in variables.items():
        assert help_line.strip() and "\n" not in help_line, variable
        assert default == CASES[next(n for n, c in CASES.items() if c[0] == variable)][1]


@pytest.mark.parametrize("name", list(CASES))
def test_default_when_unset_or_blank(name: str) -> None:
    variable, default = CASES[name][:2]
    assert getattr(Settings.from_env({}), name) == default
    assert getattr(Settings.from_env({variable: "  "}), name) == default


@pytest.mark.parametrize("name", list(CASES))
def test_a_good_value_is_read(name: str) -> None:
    variable, _, raw, value, _ = CASES[name]
    assert getattr(Settings.from_env({variable: raw}), name) == value


@pytest.mark.parametrize(("name", "variable", "bad"), BAD)
def test_a_bad_value_is_a_one_line_setting_error(name: str, variable: str, bad: str) -> None:
    with pytest.raises(SettingError) as info:
        Settings.from_env({variable: bad})
    message = str(info.value)
    assert message.startswith(f"{variable}={bad!r} is ")
    assert "; use " in message and "\n" not in message
    assert isinstance(info.value, ConfigError) and isinstance(info.value, UsageError)


def test_the_error_names_what_is_allowed() -> None:
    with pytest.raises(SettingError) as info:
        Settings.from_env({"SCRSEARCH_WORKERS": "x"})
    assert str(info.value) == (
        "SCRSEARCH_WORKERS='x' is not a whole number; "
        "use a number of worker processes ≥ 0 (0 = every core)"
    )
    with pytest.raises(SettingError, match="use one of auto, pypdfium2, pypdf$"):
        Settings.from_env({"SCRSEARCH_EXTRACTOR": "ocr"})


def test_read_when_called_from_os_environ(monkeypatch) -> None:
    monkeypatch.setenv("SCRSEARCH_MAX_PAGES", "7")
    assert Settings.from_env().max_pages == 7
    monkeypatch.setenv("SCRSEARCH_MAX_PAGES", "8")
    assert Settings.from_env().max_pages == 8


def test_derived_values() -> None:
    assert Settings.from_env({"SCRSEARCH_WORKERS": "3"}).worker_count == 3
    assert Settings.from_env({}).worker_count == (os.cpu_count() or 1)
    assert Settings.from_env({}).extract_memory_limit == 1536 * 1024 * 1024
    assert Settings.variable("workers") == "SCRSEARCH_WORKERS"
    assert not Settings.from_env({}).is_set("tesseract")
    assert Settings.from_env({"SCRSEARCH_TESSERACT": "/x"}).is_set("tesseract")


def test_every_setting_is_in_the_readme_table() -> None:
    for variable in Settings.variables():
        assert re.search(rf"^\| [^|\n]*`{variable}`", README, re.MULTILINE), variable


def test_no_module_reads_a_setting_at_import_or_outside_config() -> None:
    """Only config.py reads SCRSEARCH_* variables; every one named in src/ is a setting."""
    known = set(Settings.variables()) | {"SCRSEARCH_HOME"}
    allowed = {SRC / "config.py"}
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for variable in re.findall(r"\bSCRSEARCH_[A-Z_]+\b", text):
            assert variable.rstrip("_") in known, f"{path.name} names {variable}, not a setting"
        if path not in allowed:
            reads = re.findall(r"(?:os\.environ|getenv)\b[^\n]*SCRSEARCH_", text)
            assert not reads, f"{path.name} reads a setting itself: {reads}"


# -------------------------------------------------------------------- the command line


def test_help_works_whatever_the_environment_holds() -> None:
    env = {variable: bad for _, variable, bad in BAD}
    result = CliRunner().invoke(main, ["--help"], env=env)
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize(("name", "variable", "bad"), BAD)
def test_index_with_a_bad_setting_is_a_usage_error(
    tmp_path: Path, name: str, variable: str, bad: str
) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "index"], env={variable: bad})
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {variable}={bad!r} is "), lines


def _scrsearch(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, **env}
    environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(SRC.parent), os.environ.get("PYTHONPATH")])
    )
    return subprocess.run(
        [sys.executable, "-m", "scrsearch", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_help_in_a_real_process_with_a_bad_setting() -> None:
    done = _scrsearch("--help", SCRSEARCH_WORKERS="x")
    assert done.returncode == 0, done.stderr
    assert "Usage:" in done.stdout and "Traceback" not in done.stderr


def test_index_in_a_real_process_with_a_bad_setting(tmp_path: Path) -> None:
    done = _scrsearch("--home", str(tmp_path), "index", SCRSEARCH_WORKERS="x")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "Error: SCRSEARCH_WORKERS='x' is not a whole number; "
        "use a number of worker processes ≥ 0 (0 = every core)"
    ]
