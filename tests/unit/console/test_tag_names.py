"""Tag names in the page's language: the taxonomy's own English name (the profiles API's ``name_en``)
wins, so a taxonomy ops extended reads in English too; the console's table covers older APIs."""

from __future__ import annotations

from services.console.domain.members import tag_choices, tag_name


def test_the_apis_english_name_wins_and_chinese_stays_the_taxonomys() -> None:
    assert tag_name("ops.vip", "重点客户", "en", "Key account") == "Key account"
    assert tag_name("ops.vip", "重点客户", "zh_CN", "Key account") == "重点客户"
    assert tag_name("interest.feeding.formula", "奶粉", "en") == "Formula"  # the console's own table
    assert tag_name("ops.vip", "重点客户", "en", "ops.vip") == "重点客户"  # a code is no English name


def test_the_picker_labels_tags_and_families_in_english_from_the_taxonomy() -> None:
    rows = [
        {"code": "ops", "name": "运营", "name_en": "Operations", "ops": True},
        {"code": "ops.vip", "name": "重点客户", "name_en": "Key account", "ops": True},
    ]
    [(family, choices)] = tag_choices(rows, "en")
    assert family == "Operations" and [c.label for c in choices] == ["Key account"]
