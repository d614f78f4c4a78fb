from __future__ import annotations

import json

import pytest

from shared.maternal_infant import DEFAULT_TAXONOMY, Taxonomy, parse_taxonomy


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    """The taxonomy the product ships."""
    return parse_taxonomy(json.loads(DEFAULT_TAXONOMY.read_text(encoding="utf-8")))
