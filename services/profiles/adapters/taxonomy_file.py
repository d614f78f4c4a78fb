"""Reading the taxonomy file: JSON in, a validated :class:`Taxonomy` out, or one clear error."""

from __future__ import annotations

import json
from pathlib import Path

from services.profiles.domain.taxonomy import Taxonomy, TaxonomyError, parse_taxonomy

__all__ = ["load_taxonomy"]


def load_taxonomy(path: Path) -> Taxonomy:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TaxonomyError(f"{path}: cannot be read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TaxonomyError(f"{path}: not UTF-8 JSON ({exc})") from None
    if not isinstance(document, dict):
        raise TaxonomyError(f"{path}: expected a JSON object with tags and mall_categories")
    try:
        return parse_taxonomy(document)
    except TaxonomyError as exc:
        raise TaxonomyError(f"{path}: {exc}") from None
