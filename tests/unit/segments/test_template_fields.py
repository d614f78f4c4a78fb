"""Template fields WeChat no longer shows (``first``, ``remark``) are refused at composition (issue 22,
item 3): the API used to take them and report the message delivered while the member saw nothing of
them. Pushes stored before still send what they hold."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.segments.domain.pushes import MessageContent, TemplateContent, Variant, check_variants
from services.segments.entrypoints.http.schemas import PushIn, PushPatch


def _variant(data: dict[str, str]) -> dict[str, Any]:
    return {"message": {"kind": "text", "text": "hi"}, "template": {"template_id": "tpl", "data": data}}


@pytest.mark.parametrize("field", ["first", "remark"])
def test_a_new_push_with_a_retired_field_is_refused_naming_it(field: str) -> None:
    body = {"name": "p", "segment_id": "s", "variants": [_variant({"thing1": "奶粉", field: "lost text"})]}
    with pytest.raises(ValidationError) as refused:
        PushIn.model_validate(body)
    (error,) = refused.value.errors()
    assert error["loc"] == ("variants", 0, "template", "data", field, "[key]")
    assert "no longer shown by WeChat" in error["msg"]


def test_a_draft_edit_is_refused_too() -> None:
    with pytest.raises(ValidationError, match="'first' is no longer shown"):
        PushPatch.model_validate({"variants": [_variant({"first": "x"})]})


def test_keyword_fields_and_subscription_data_pass() -> None:
    variant = _variant({"keyword1": "a", "thing2": "b", "first_name": "c"})
    variant["subscription"] = {"template_id": "sub", "data": {"thing1": "x"}}
    push = PushIn.model_validate({"name": "p", "segment_id": "s", "variants": [variant]})
    assert push.variants[0].variant().template == TemplateContent(
        "tpl", {"keyword1": "a", "thing2": "b", "first_name": "c"}
    )


def test_pushes_stored_before_the_rule_still_make_a_push() -> None:
    stored = Variant("A", 1, MessageContent("text", text="hi"), template=TemplateContent("tpl", {"first": "hi"}))
    check_variants([stored], broadcast=False)  # no exception: what was accepted then is still sent
