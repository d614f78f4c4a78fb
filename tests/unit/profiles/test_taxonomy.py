"""The taxonomy: the shipped file parses, and every kind of broken file is refused with a message naming the
code or category at fault."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.maternal_infant import (
    DEFAULT_TAXONOMY,
    FAMILIES,
    CategoryMapping,
    Stage,
    Taxonomy,
    TaxonomyError,
    TaxonomyTag,
    load_taxonomy,
    parse_taxonomy,
)

SHIPPED = DEFAULT_TAXONOMY


def shipped_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SHIPPED.read_text(encoding="utf-8"))
    return document


def stage_tags() -> list[dict[str, Any]]:
    return [{"code": stage.value, "name": stage.name, "parent": None} for stage in Stage]


def document(*extra: dict[str, Any], categories: dict[str, Any] | None = None) -> dict[str, Any]:
    """A small valid taxonomy: every stage, a few interests and a purchase tag, plus ``extra`` tags."""
    tags = [
        *stage_tags(),
        {"code": "interest", "name": "兴趣", "parent": None},
        {"code": "interest.toys", "name": "玩具", "parent": "interest"},
        {"code": "interest.diapers", "name": "纸尿裤", "parent": "interest"},
        {"code": "purchase", "name": "购买", "parent": None},
        {"code": "purchase.toys", "name": "购买玩具", "parent": "purchase"},
        *extra,
    ]
    return {"tags": tags, "mall_categories": categories or {}}


def refused(doc: dict[str, Any], *fragments: str) -> str:
    with pytest.raises(TaxonomyError) as caught:
        parse_taxonomy(doc)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- the shipped file -------------------------------------------------------------------------------------


def test_the_shipped_taxonomy_parses() -> None:
    taxonomy = parse_taxonomy(shipped_document())
    assert all(stage.value in taxonomy for stage in Stage)
    assert taxonomy.name(Stage.PREPARING.value) == "备孕"
    assert taxonomy.name(Stage.EARLY_PREGNANCY.value) == "孕早期"
    assert taxonomy.name(Stage.MID_PREGNANCY.value) == "孕中期"
    assert taxonomy.name(Stage.LATE_PREGNANCY.value) == "孕晚期"
    assert taxonomy.name(Stage.BABY_0_6M.value) == "0-6个月"
    assert {"spend.a", "spend.b", "spend.c"} <= set(taxonomy.tags)
    assert len(taxonomy.categories) == len(shipped_document()["mall_categories"])


def test_the_shipped_categories_map_to_interest_and_purchase_tags() -> None:
    taxonomy = parse_taxonomy(shipped_document())
    assert taxonomy.category("diapers_newborn") == CategoryMapping(
        "diapers_newborn", {"interest.diapers": 3.0}, "purchase.diapers", 0
    )
    assert taxonomy.category("formula_maternal") == CategoryMapping(
        "formula_maternal", {"interest.feeding.formula": 1.0, "interest.health.supplements": 2.0}, "purchase.maternity"
    )
    supplements = taxonomy.category("supplements")
    assert supplements is not None
    assert supplements.purchase is None
    assert supplements.baby_age_months is None
    assert taxonomy.category("no_such_category") is None
    for mapping in taxonomy.categories.values():
        assert all(isinstance(weight, float) for weight in mapping.interests.values())


def test_ancestors_nearest_first() -> None:
    taxonomy = parse_taxonomy(shipped_document())
    assert taxonomy.ancestors("interest.feeding.formula") == ["interest.feeding", "interest"]
    assert taxonomy.ancestors("stage.pregnancy.late") == ["stage.pregnancy", "stage"]
    assert taxonomy.ancestors("spend.a") == ["spend"]
    assert taxonomy.ancestors("interest") == []


def test_family_lists_every_tag_under_a_top_level_code() -> None:
    taxonomy = parse_taxonomy(shipped_document())
    assert [tag.code for tag in taxonomy.family("spend")] == ["spend", "spend.a", "spend.b", "spend.c"]
    stage_codes = {tag.code for tag in taxonomy.family("stage")}
    assert {stage.value for stage in Stage} <= stage_codes
    assert all(code == "stage" or code.startswith("stage.") for code in stage_codes)
    assert all(tag.code.startswith("purchase") for tag in taxonomy.family("purchase"))
    assert taxonomy.family("campaign") == []
    assert taxonomy.family("stag") == []  # a prefix of a family is not the family


def test_membership_and_names() -> None:
    taxonomy = parse_taxonomy(document())
    assert "interest.toys" in taxonomy
    assert "interest.nope" not in taxonomy
    assert 42 not in taxonomy
    assert taxonomy.name("interest.toys") == "玩具"
    assert taxonomy.tags["interest.toys"] == TaxonomyTag("interest.toys", "玩具", "interest")


def test_english_names_are_optional_and_fall_back_to_the_code() -> None:
    taxonomy = parse_taxonomy(document({"code": "ops.vip", "name": "重点客户", "name_en": " Key account "}))
    assert taxonomy.tags["ops.vip"] == TaxonomyTag("ops.vip", "重点客户", None, "Key account")
    assert taxonomy.tags["ops.vip"].english == "Key account" and taxonomy.tags["ops.vip"].family == "ops"
    assert taxonomy.tags["interest.toys"].english == "interest.toys"
    assert taxonomy.names("en")["ops.vip"] == "Key account" and taxonomy.names("zh")["ops.vip"] == "重点客户"
    with pytest.raises(TaxonomyError, match="name_en"):
        parse_taxonomy(document({"code": "ops.vip", "name": "重点客户", "name_en": " "}))


def test_the_shipped_taxonomy_names_every_tag_in_english() -> None:
    shipped = load_taxonomy()
    assert all(tag.name_en for tag in shipped.tags.values())
    assert shipped.tags["interest.feeding.formula"].english == "Formula"


def test_names_are_stripped_and_the_parent_may_be_left_out() -> None:
    taxonomy = parse_taxonomy(document({"code": "ops.vip", "name": "  重点客户 "}))
    assert taxonomy.tags["ops.vip"] == TaxonomyTag("ops.vip", "重点客户", None)


def test_mall_categories_are_optional() -> None:
    doc = document()
    del doc["mall_categories"]
    assert parse_taxonomy(doc).categories == {}


def test_a_taxonomy_is_immutable() -> None:
    taxonomy = parse_taxonomy(document())
    assert isinstance(taxonomy, Taxonomy)
    with pytest.raises(AttributeError):
        taxonomy.tags = {}  # type: ignore[misc]


# -- broken tags ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tags", [None, [], {}, "stage.preparing"])
def test_tags_must_be_a_non_empty_list(tags: object) -> None:
    refused({"tags": tags}, "tags: a non-empty list is required")


def test_tags_missing_altogether() -> None:
    refused({"mall_categories": {}}, "tags: a non-empty list is required")


def test_a_tag_must_be_an_object() -> None:
    doc = document()
    doc["tags"].insert(2, "interest.toys")
    refused(doc, "tags.2")


@pytest.mark.parametrize(
    "code",
    [
        "Interest.toys",  # upper case
        "interest..toys",  # empty segment
        "interest.toys.",  # trailing dot
        ".interest",
        "interest toys",
        "兴趣.玩具",
        "1interest",
        "foo.bar",  # not a known family
        "stages.preparing",  # a family's prefix is not the family
        "",
    ],
)
def test_a_bad_code_is_refused_by_name(code: str) -> None:
    refused(document({"code": code, "name": "x", "parent": None}), f"{code!r} is not a dotted code", "tags.")


@pytest.mark.parametrize("code", [None, 7, ["interest.x"]])
def test_a_code_that_is_not_a_string_is_refused(code: object) -> None:
    refused(document({"code": code, "name": "x"}), repr(code), "is not a dotted code")


def test_every_family_is_a_valid_root() -> None:
    extra = [{"code": family, "name": family} for family in sorted(FAMILIES - {"stage", "interest", "purchase"})]
    taxonomy = parse_taxonomy(document(*extra))
    assert all(family in taxonomy for family in FAMILIES - {"stage"})


def test_a_duplicate_code_is_refused_by_name() -> None:
    doc = document({"code": "interest.toys", "name": "玩具2", "parent": "interest"})
    index = len(doc["tags"]) - 1
    refused(doc, f"tags.{index}.code", "interest.toys appears twice")


@pytest.mark.parametrize("name", [None, "", "   ", 3])
def test_a_tag_needs_a_name(name: object) -> None:
    refused(document({"code": "ops.vip", "name": name}), "ops.vip needs a name")


def test_a_parent_must_be_a_code_or_null() -> None:
    doc = document({"code": "ops.vip", "name": "x", "parent": 5})
    refused(doc, f"tags.{len(doc['tags']) - 1}.parent", "ops.vip needs a parent code or null")


def test_an_unknown_parent_is_refused_by_name() -> None:
    refused(
        document({"code": "interest.toys.lego", "name": "乐高", "parent": "interest.lego_parent"}),
        "interest.toys.lego: parent interest.lego_parent is not in the taxonomy",
    )


def test_a_parent_may_come_later_in_the_file() -> None:
    taxonomy = parse_taxonomy(
        document({"code": "ops.child", "name": "子", "parent": "ops"}, {"code": "ops", "name": "运营", "parent": None})
    )
    assert taxonomy.ancestors("ops.child") == ["ops"]


def test_a_cycle_is_refused_by_name() -> None:
    message = refused(
        document(
            {"code": "ops.a", "name": "a", "parent": "ops.b"},
            {"code": "ops.b", "name": "b", "parent": "ops.a"},
        ),
        "its parents form a cycle",
    )
    assert re.match(r"^ops\.[ab]: ", message), message


def test_a_tag_that_is_its_own_parent_is_a_cycle() -> None:
    refused(document({"code": "ops.self", "name": "x", "parent": "ops.self"}), "ops.self: its parents form a cycle")


def test_a_chain_leading_into_a_cycle_is_refused() -> None:
    refused(
        document(
            {"code": "ops", "name": "运营", "parent": "ops.b"},
            {"code": "ops.a", "name": "a", "parent": "ops.b"},
            {"code": "ops.b", "name": "b", "parent": "ops"},
        ),
        "its parents form a cycle",
    )


def test_every_life_stage_must_be_in_the_taxonomy() -> None:
    doc = document()
    doc["tags"] = [tag for tag in doc["tags"] if tag["code"] not in (Stage.MID_PREGNANCY, Stage.CHILD_3Y_PLUS)]
    message = refused(doc, "life stages", "stage.pregnancy.mid", "stage.child.3y_plus", "missing")
    assert "stage.pregnancy.early" not in message


def test_the_shipped_file_without_a_stage_is_refused() -> None:
    doc = shipped_document()
    doc["tags"] = [tag for tag in doc["tags"] if tag["code"] != "stage.baby.6_12m"]
    refused(doc, "stage.baby.6_12m")


# -- broken mall categories -------------------------------------------------------------------------------


def test_mall_categories_must_be_a_mapping() -> None:
    doc = document()
    doc["mall_categories"] = ["toys"]
    refused(doc, "mall_categories: expected category -> mapping")


def test_a_category_must_be_an_object() -> None:
    refused(document(categories={"toys": "interest.toys"}), "mall_categories.toys: expected an object")


def test_category_interests_must_be_a_mapping() -> None:
    refused(document(categories={"toys": {"interests": ["interest.toys"]}}), "mall_categories.toys.interests")


@pytest.mark.parametrize("code", ["interest.unknown", "purchase.toys", "stage.preparing", "interest"])
def test_a_category_interest_must_be_an_interest_tag(code: str) -> None:
    # "interest" itself is in the taxonomy but is not under "interest."
    refused(
        document(categories={"toys": {"interests": {code: 1}}}),
        "mall_categories.toys.interests",
        f"{code} is not an interest tag",
    )


@pytest.mark.parametrize("weight", [0, -1, 10.5, 11, "3", None, float("nan"), float("inf")])
def test_a_category_weight_must_be_in_range(weight: object) -> None:
    refused(
        document(categories={"toys": {"interests": {"interest.toys": weight}}}),
        "mall_categories.toys.interests.interest.toys: weight must be in (0, 10]",
    )


@pytest.mark.parametrize("weight", [0.01, 1, 10, 10.0])
def test_category_weights_at_the_edges_are_accepted(weight: float) -> None:
    taxonomy = parse_taxonomy(document(categories={"toys": {"interests": {"interest.toys": weight}}}))
    assert taxonomy.categories["toys"].interests == {"interest.toys": float(weight)}


@pytest.mark.parametrize("purchase", ["purchase.unknown", "interest.toys", "purchase", 5])
def test_a_category_purchase_must_be_a_purchase_tag(purchase: object) -> None:
    refused(
        document(categories={"toys": {"interests": {}, "purchase": purchase}}),
        "mall_categories.toys.purchase",
        f"{purchase} is not a purchase tag",
    )


@pytest.mark.parametrize("purchase", [["purchase.toys"], {"code": "purchase.toys"}])
def test_a_category_purchase_of_the_wrong_json_type_is_a_taxonomy_error(purchase: object) -> None:
    """A list or object where a code belongs is a broken file like any other, not a crash.

    Fails today with ``TypeError: unhashable type`` from ``purchase not in tags`` (taxonomy.py line 118).
    """
    refused(document(categories={"toys": {"interests": {}, "purchase": purchase}}), "mall_categories.toys.purchase")


@pytest.mark.parametrize("age", [-1, 73, 1.5, "2"])
def test_a_category_age_must_be_whole_months_up_to_72(age: object) -> None:
    refused(
        document(categories={"diapers": {"interests": {"interest.diapers": 3}, "baby_age_months": age}}),
        "mall_categories.diapers.baby_age_months: whole months, 0-72",
    )


@pytest.mark.parametrize("age", [0, 72])
def test_category_ages_at_the_edges_are_accepted(age: int) -> None:
    doc = document(categories={"diapers": {"interests": {"interest.diapers": 3}, "baby_age_months": age}})
    assert parse_taxonomy(doc).categories["diapers"].baby_age_months == age


def test_a_category_may_have_no_interests() -> None:
    taxonomy = parse_taxonomy(document(categories={"gift_card": {"purchase": "purchase.toys"}}))
    assert taxonomy.categories["gift_card"] == CategoryMapping("gift_card", {}, "purchase.toys", None)


def test_keywords_and_menu_keys_declare_interests() -> None:
    shipped = parse_taxonomy(shipped_document())
    assert shipped.keywords["奶粉"] == ("interest.feeding.formula",)
    assert "INTEREST_CARE" in shipped.menu_keys


@pytest.mark.parametrize(
    ("section", "value", "culprit"),
    [
        ("keywords", {"奶粉": ["interest.nope"]}, "interest.nope"),
        ("keywords", {"奶粉": []}, "non-empty"),
        ("keywords", {" 奶粉": ["interest.diapers"]}, "padding"),
        ("menu_keys", {"K": ["purchase.diapers"]}, "purchase.diapers"),
        ("menu_keys", ["K"], "expected"),
    ],
)
def test_bad_triggers_are_refused(section: str, value: Any, culprit: str) -> None:
    changed = shipped_document()
    changed[section] = value
    with pytest.raises(TaxonomyError, match=culprit):
        parse_taxonomy(changed)
