"""Reading a taxonomy file: JSON in, a validated :class:`Taxonomy` out, or one clear error.

The platform's own taxonomy ships inside this package (:data:`DEFAULT_TAXONOMY`); ops point a
service's ``TAXONOMY_PATH`` at their own copy to change it without a release.
"""

from __future__ import annotations

import json
from pathlib import Path

from shared.maternal_infant._taxonomy import Taxonomy, TaxonomyError, parse_taxonomy

#: The taxonomy shipped with the platform.
DEFAULT_TAXONOMY = Path(__file__).with_name("taxonomy.json")


def load_taxonomy(path: Path = DEFAULT_TAXONOMY) -> Taxonomy:
    """The taxonomy in the file at ``path``; raises :class:`TaxonomyError` naming the file and the fault."""
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
