"""The maternal-infant model every service shares: a shared kernel, pure (it reads one file, no more).

- Life stage (:class:`Stage`, :class:`LifeStage`): worked out from a declaration (a due date, a
  birthday, or "preparing") and the day asked, never stored, so a member moves on with no batch job.
  :func:`spans_for_stage` and its siblings turn "in a stage today" into :class:`DateSpan` ranges of
  dates, so stored declarations can be selected with an index.
- The taxonomy (:class:`Taxonomy`): stable dotted tag codes, their zh-CN names and parents, and what
  mall categories, keywords and menu keys say. :func:`load_taxonomy` reads it from a JSON file; the
  platform's own is :data:`DEFAULT_TAXONOMY`, shipped in this package.
- Spend tiers (:data:`SPEND_TIERS`, :func:`spend_tier`): the last twelve months' spend in three bands.

Profiles keeps members' declarations, tags and spend; segments select members by the same model. Both
import it from here, so the two can never disagree on what a stage or a tier is.
"""

from shared.maternal_infant._life_stage import (
    PREGNANCY_WEEKS,
    Basis,
    Confidence,
    DateSpan,
    LifeStage,
    Stage,
    StageDeclaration,
    current_declaration,
    current_stage,
    months_between,
    spans_for_age_months,
    spans_for_pregnancy_weeks,
    spans_for_stage,
    stage_of,
)
from shared.maternal_infant._spend import SPEND_TIERS, spend_tier
from shared.maternal_infant._taxonomy import (
    FAMILIES,
    CategoryMapping,
    Taxonomy,
    TaxonomyError,
    TaxonomyTag,
    parse_taxonomy,
)
from shared.maternal_infant._taxonomy_file import DEFAULT_TAXONOMY, load_taxonomy

__all__ = [
    "DEFAULT_TAXONOMY",
    "FAMILIES",
    "PREGNANCY_WEEKS",
    "SPEND_TIERS",
    "Basis",
    "CategoryMapping",
    "Confidence",
    "DateSpan",
    "LifeStage",
    "Stage",
    "StageDeclaration",
    "Taxonomy",
    "TaxonomyError",
    "TaxonomyTag",
    "current_declaration",
    "current_stage",
    "load_taxonomy",
    "months_between",
    "parse_taxonomy",
    "spans_for_age_months",
    "spans_for_pregnancy_weeks",
    "spans_for_stage",
    "spend_tier",
    "stage_of",
]
