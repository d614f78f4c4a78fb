"""Every visible text translated, catalogs in step with the code, and vendored files as published."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services.console.adapters.catalogs import CATALOG_DIR, load_catalogs
from services.console.domain.formatting import beijing, mask_identifier
from services.console.entrypoints.http.rendering import STATIC_DIR

CONSOLE = Path(__file__).resolve().parents[3] / "services" / "console"
KEYWORDS = {"_": None, "gettext": None, "N_": None, "_text": (2,)}


def _extracted() -> set[str]:
    found: set[str] = set()
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {
        "**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    }
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        CONSOLE, method_map, options_map=options, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog() -> dict[str, str]:
    with (CATALOG_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return {str(m.id): str(m.string) for m in read_po(source) if m.id}


def test_every_text_of_the_console_has_a_chinese_translation() -> None:
    catalog = _catalog()
    missing = sorted(m for m in _extracted() if not catalog.get(m))
    assert missing == [], f"run `make messages` and translate: {missing}"


def test_the_catalog_holds_no_text_the_console_no_longer_shows() -> None:
    stale = sorted(set(_catalog()) - _extracted())
    assert stale == [], f"run `make messages`: {stale}"


def test_placeholders_survive_translation() -> None:
    for message, translated in _catalog().items():
        for name in ("%(n)s", "%(minutes)s"):
            assert (name in message) == (name in translated), message


def test_catalogs_load_and_english_needs_none() -> None:
    catalogs = load_catalogs()
    assert catalogs.get("zh_CN").gettext("Sign in") == "登录"
    assert catalogs.get("en").gettext("Sign in") == "Sign in"
    assert catalogs.get("fr").gettext("Sign in") == "登录"  # unknown: the default language


def test_vendored_files_match_their_recorded_checksums() -> None:
    vendor = STATIC_DIR / "vendor"
    manifest = json.loads((vendor / "manifest.json").read_text())["files"]
    assert set(manifest) == {p.name for p in vendor.glob("*.js")}
    for name, entry in manifest.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == entry["sha256"], name
        assert entry["version"] in name


def test_times_are_shown_in_beijing_time() -> None:
    assert beijing(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == "2027-01-01 00:30"
    assert beijing("2026-06-01T00:00:00Z", "%H:%M") == "08:00"
    assert beijing(None) == "" and beijing("not a time") == ""


def test_identifiers_are_shortened_not_shown_whole() -> None:
    assert mask_identifier("oABCDEFGHIJKLMNOP1234") == "oABC…1234"
    assert mask_identifier("short") == "s…"
