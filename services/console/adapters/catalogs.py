"""The console's message catalogs (Babel ``.po`` files), read once at start-up.

Message ids are the English text, so English needs no catalog; zh-CN is the default language. The
``.po`` files are compiled in memory: there is no build step and no ``.mo`` file to forget.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = ["CATALOG_DIR", "DEFAULT_LOCALE", "LOCALES", "Catalogs", "load_catalogs"]

CATALOG_DIR = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LOCALE = "zh_CN"
#: Locale → its name in its own language (the switcher shows these).
LOCALES = {"zh_CN": "中文", "en": "English"}


@dataclass(frozen=True)
class Catalogs:
    translations: dict[str, gettext.NullTranslations]

    def get(self, locale: str) -> gettext.NullTranslations:
        return self.translations.get(locale) or self.translations[DEFAULT_LOCALE]


def load_catalogs(directory: Path = CATALOG_DIR) -> Catalogs:
    translations: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
    for locale in LOCALES:
        po = directory / locale / "LC_MESSAGES" / "messages.po"
        if locale == "en" or not po.exists():
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=locale)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        translations[locale] = gettext.GNUTranslations(compiled)
    if DEFAULT_LOCALE not in translations:
        raise FileNotFoundError(f"the {DEFAULT_LOCALE} catalog is missing under {directory}")
    return Catalogs(translations)
