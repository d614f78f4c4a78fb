"""The push composer's form read without I/O: posted fields to the segments API's body and back."""

from __future__ import annotations

from datetime import UTC, datetime

from services.console.domain.pushes import PushForm, VariantForm, form_errors, parse_data, quiet_until


def test_the_posted_fields_make_the_api_body() -> None:
    form = PushForm.parse(
        [
            ("name", " 试用 "),
            ("segment_id", "seg_1"),
            ("v-1-name", "B"),
            ("v-1-kind", "template"),
            ("v-1-template_id", "tpl"),
            ("v-1-data", "first: 您好\nkeyword1=奶粉\n\n"),
            ("v-1-link", "https://brand.example/t"),
            ("v-0-name", "A"),
            ("v-0-weight", "3"),
            ("v-0-kind", "news"),
            ("v-0-title", "新品"),
            ("v-0-url", "https://brand.example/a"),
            ("v-0-fallback", "1"),
            ("v-0-template_id", "tpl_fb"),
            ("when", "at"),
            ("send_at", "2026-12-05T09:30"),
            ("quiet", "custom"),
            ("quiet_start", "21:00"),
            ("quiet_end", "09:00"),
            ("per_day", "2"),
            ("per_week", ""),
        ]
    )
    body = form.body(draft=True)
    assert body["name"] == "试用" and body["draft"] is True
    assert body["send_at"] == "2026-12-05T09:30:00+08:00"  # Beijing wall-clock time
    assert body["quiet_hours"] == {"start": "21:00", "end": "09:00"}
    assert body["cap"] == {"per_day": 2, "per_week": 3}
    first, second = body["variants"]
    assert first["name"] == "A" and first["weight"] == 3
    assert first["message"]["articles"][0]["title"] == "新品"
    assert first["template"]["template_id"] == "tpl_fb"  # the fallback outside the window
    assert second == {
        "name": "B",
        "weight": 1,
        "template": {
            "template_id": "tpl",
            "data": {"first": "您好", "keyword1": "奶粉"},
            "url": "https://brand.example/t",
        },
    }


def test_now_default_quiet_hours_and_caps_are_left_to_the_service() -> None:
    body = PushForm.parse([("name", "n"), ("segment_id", "s"), ("v-0-text", "hi")]).body(draft=False)
    assert "send_at" not in body and "quiet_hours" not in body and "cap" not in body
    assert body["variants"] == [{"name": "A", "weight": 1, "message": {"kind": "text", "text": "hi"}}]
    none = PushForm.parse([("quiet", "none")]).patch()
    assert none["quiet_hours"] is None and none["send_at"] is None and "draft" not in none


def test_a_saved_push_comes_back_as_its_form() -> None:
    saved = {
        "name": "n",
        "segment_id": "s",
        "version": 4,
        "send_at": "2026-12-05T01:30:00Z",
        "quiet_hours": {"start": "22:00:00", "end": "08:00:00"},
        "cap": {"per_day": 1, "per_week": 3},
        "variants": [
            {
                "name": "A",
                "weight": 2,
                "message": {"kind": "text", "text": "hi", "media_id": "", "articles": []},
                "template": {"template_id": "t", "data": {"first": "x"}, "url": ""},
                "subscription": None,
            },
            {
                "name": "B",
                "weight": 1,
                "message": None,
                "template": None,
                "subscription": {"template_id": "s", "data": {}, "page": "p"},
            },
        ],
    }
    form = PushForm.of(saved)
    assert form.version == "4" and form.send_at == "2026-12-05T09:30" and form.when == "at"
    assert (form.quiet, form.quiet_start, form.quiet_end) == ("custom", "22:00", "08:00")
    a, b = form.variants
    assert a.kind == "text" and a.fallback == "template" and a.data == "first: x"
    assert b.kind == "subscription" and b.page == "p"
    assert form.body(draft=True)["variants"][0]["template"]["data"] == {"first": "x"}


def test_variants_are_added_named_and_removed_but_never_the_last() -> None:
    form = PushForm()
    form.add_variant()
    form.add_variant()
    assert [v.name for v in form.variants] == ["A", "B", "C"]
    form.remove_variant(0)
    form.add_variant()
    assert [v.name for v in form.variants] == ["B", "C", "A"]
    single = PushForm(variants=[VariantForm()])
    single.remove_variant(0)
    assert len(single.variants) == 1


def test_api_field_errors_land_beside_their_fields() -> None:
    errors = form_errors(
        {"name": "too long", "variants.1.message.text": "needed", "variants.1": "empty", "cap.per_day": "x"}
    )
    assert errors == {"name": "too long", "v-1": "message.text: needed; empty", "cap": "x"}


def test_template_fields_are_read_one_per_line() -> None:
    assert parse_data("a: 1\nb=2\nc：3\nd") == {"a": "1", "b": "2", "c": "3", "d": ""}


def test_quiet_hours_now_and_when_they_end() -> None:
    night = {"start": "22:00:00", "end": "08:00:00"}
    assert quiet_until(night, datetime(2026, 12, 4, 15, 0, tzinfo=UTC)) == "08:00"  # 23:00 in Beijing
    assert quiet_until(night, datetime(2026, 12, 4, 23, 59, tzinfo=UTC)) == "08:00"  # 07:59
    assert quiet_until(night, datetime(2026, 12, 5, 0, 0, tzinfo=UTC)) is None  # 08:00
    assert quiet_until({"start": "12:00", "end": "14:00"}, datetime(2026, 12, 4, 5, 0, tzinfo=UTC)) == "14:00"
    assert quiet_until(None, datetime(2026, 12, 4, 15, 0, tzinfo=UTC)) is None


def test_each_variant_has_its_share_of_the_members() -> None:
    form = PushForm(variants=[VariantForm(name="A", weight="1"), VariantForm(name="B", weight="3")])
    assert form.shares() == [25, 75]
    form.variants[1].weight = "x"
    assert form.shares() == [None, None]


def test_a_subscription_message_may_stand_in_outside_the_window() -> None:
    posted = [("v-0-text", "hi"), ("v-0-fallback", "subscription"), ("v-0-template_id", "sub"), ("v-0-page", "p")]
    variant = PushForm.parse(posted).body(draft=True)["variants"][0]
    assert variant["message"] == {"kind": "text", "text": "hi"} and "template" not in variant
    assert variant["subscription"] == {"template_id": "sub", "data": {}, "page": "p"}
    again = VariantForm.of(variant)
    assert (again.kind, again.fallback, again.page) == ("text", "subscription", "p")


def test_a_push_counts_for_a_brand_project_when_one_is_chosen_and_an_edit_can_unlink_it() -> None:
    linked = PushForm.parse([("name", "x"), ("segment_id", "seg_1"), ("project_id", "proj_1")])
    assert linked.body(draft=True)["project_id"] == "proj_1" and linked.patch()["project_id"] == "proj_1"
    none = PushForm.parse([("name", "x"), ("segment_id", "seg_1"), ("project_id", "")])
    assert "project_id" not in none.body(draft=True) and none.patch()["project_id"] is None
    assert PushForm.of({"name": "x", "segment_id": "s", "project_id": "proj_2"}).project_id == "proj_2"
