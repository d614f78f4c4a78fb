"""Templates per language, and the filters every page uses."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from gettext import NullTranslations
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from services.console.adapters import Catalogs
from services.console.adapters.catalogs import LOCALES
from services.console.domain.brands import STAGE_LABELS, yuan
from services.console.domain.formatting import age, beijing, mask_identifier
from services.console.domain.messages import STATUS_LABELS

__all__ = ["STATIC_DIR", "Templates"]

HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


def _number(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _percent(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.1f}%"


def _pct(value: Any) -> str:
    """A figure the API already gives in percent (``45.3``)."""
    return "—" if value is None else f"{float(value):.1f}%"


class Templates:
    """One Jinja environment per language, each with its catalog installed (no per-request state)."""

    def __init__(self, catalogs: Catalogs) -> None:
        self.environments: dict[str, Environment] = {}
        for locale in LOCALES:
            env = Environment(
                loader=FileSystemLoader(TEMPLATE_DIR),
                autoescape=select_autoescape(["html"]),
                undefined=StrictUndefined,
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.install_gettext_translations(catalogs.get(locale), newstyle=True)  # type: ignore[attr-defined]
            env.filters["bj"] = beijing
            env.filters["number"] = _number
            env.filters["percent"] = _percent
            env.filters["pct"] = _pct
            env.filters["masked"] = mask_identifier
            env.filters["yuan"] = yuan
            env.filters["ago"] = functools.partial(_ago, translations=catalogs.get(locale))
            env.globals["LOCALES"] = LOCALES
            env.globals["STATUS_LABELS"] = STATUS_LABELS
            env.globals["STAGE_LABELS"] = STAGE_LABELS
            self.environments[locale] = env

    def render(self, locale: str, name: str, context: Mapping[str, Any]) -> str:
        return self.environments[locale].get_template(name).render(**context)


def _ago(value: Any, translations: NullTranslations) -> Markup | str:
    """ "3 min" style ages; the exact Beijing time in the title."""
    gone = age(value, datetime.now(UTC))
    if gone is None:
        return ""
    seconds = int(gone.total_seconds())

    # Not the template's gettext: the newstyle one needs the render context, which a filter lacks.
    def gettext(message: str, **variables: int) -> str:
        return translations.gettext(message) % variables

    if seconds < 60:
        text = gettext("%(n)s s", n=seconds)
    elif seconds < 3600:
        text = gettext("%(n)s min", n=seconds // 60)
    elif seconds < 86400:
        text = gettext("%(n)s h", n=seconds // 3600)
    else:
        text = gettext("%(n)s d", n=seconds // 86400)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        str(value), beijing(value, "%Y-%m-%d %H:%M:%S"), text
    )
