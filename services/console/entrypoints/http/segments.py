"""Segments: the list, the rule builder with its live size, a segment's page (versions, why a member
is in it, where it is used) and deleting one. Everything goes through the segments API as the operator.

The builder keeps the rule tree in the form (see :mod:`services.console.domain.segment_rules`): its
buttons post the whole form and get the builder back; typing posts it to the preview (debounced, a newer
request replacing an older one, ``hx-sync``), which asks the API for the size, the summary and a sample.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console.domain import segment_rules as rules
from services.console.domain.messages import N_
from services.console.entrypoints.http.deps import AccountPage, View
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable
from shared.maternal_infant import DEFAULT_TAXONOMY, SPEND_TIERS, Taxonomy, load_taxonomy

__all__ = ["router"]

router = APIRouter()

BASE = "/accounts/{appid}/segments"
_SAMPLE = 12
#: Tag families a rule can select by, in the order the tag select shows them.
_FAMILIES = {
    "interest": N_("Interests"),
    "purchase": N_("Purchases"),
    "stage": N_("Life stages"),
    "spend": N_("Spend"),
    "campaign": N_("Campaigns"),
    "ops": N_("Operations"),
}
_CAMPAIGN_KINDS = frozenset({"joined_campaign", "invited_at_least"})
#: Spend tiers with the yearly spend each starts at: "A (≥ ¥3,000)".
_SPEND_CHOICES = [(tier, f"{tier.removeprefix('spend.').upper()} (≥ ¥{floor:,})") for tier, floor in SPEND_TIERS]


@functools.cache
def _taxonomy() -> Taxonomy:
    """The platform's taxonomy (the shared kernel's file), for the tag select's names; read once."""
    return load_taxonomy(DEFAULT_TAXONOMY)


def _tag_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    tags = _taxonomy().tags
    return [
        (label, [(code, tag.name) for code, tag in tags.items() if code.split(".", 1)[0] == family])
        for family, label in _FAMILIES.items()
        if any(code.split(".", 1)[0] == family for code in tags)
    ]


def _tag_names() -> dict[str, str]:
    return {code: tag.name for code, tag in _taxonomy().tags.items()}


def _lang(view: View) -> str:
    return "zh" if view.locale.startswith("zh") else "en"


def _uses(tree: rules.Node, kinds: frozenset[str]) -> bool:
    return tree.kind in kinds or any(_uses(child, kinds) for child in tree.children)


async def _campaigns(view: View, tree: rules.Node) -> list[dict[str, Any]] | None:
    """The account's campaigns for the campaign selects (only when the rule asks about campaigns);
    None when the campaigns API cannot say, and the builder takes the campaign id as text."""
    if not _uses(tree, _CAMPAIGN_KINDS):
        return []
    try:
        found = await view.get(Api.CAMPAIGNS, view.account_path("/campaigns"), limit=200)
    except (ApiError, ApiUnavailable):
        return None
    items = found.get("items", []) if isinstance(found, dict) else found
    return [c for c in items if isinstance(c, dict) and "id" in c]


async def _builder_context(view: View, tree: rules.Node, problems: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "tree": tree,
        "problems": problems,
        "campaigns": await _campaigns(view, tree),
        "tag_groups": _tag_groups(),
        "tag_names": _tag_names(),
        "GROUP_KINDS": rules.GROUP_KINDS,
        "PREDICATES": rules.PREDICATES,
        "STAGES": rules.STAGES,
        "CONSENTS": rules.CONSENTS,
        "LIMITS": rules.LIMITS,
        "SPEND_CHOICES": _SPEND_CHOICES,
        "builder_url": view.account_path("/segments/builder"),
        "preview_url": view.account_path("/segments/preview"),
    }


async def _preview(view: View, tree: rules.Node) -> dict[str, Any]:
    """The API's preview of the tree, or the problems it found (by builder place)."""
    built = rules.to_rule(tree)
    try:
        reply = await view.call(
            Api.SEGMENTS, "POST", view.account_path("/segments/preview"), json={"rule": built.rule, "sample": _SAMPLE}
        )
    except ApiError as exc:
        if exc.status != 422:
            raise
        by_place = rules.problems_by_place(exc.detail, built.places)
        return {"problems": by_place or {"r": [exc.message]}, "labels": _labels(tree)}
    return {"result": reply.body, "problems": {}, "labels": {}}


def _labels(tree: rules.Node, place: str = rules.ROOT) -> dict[str, str]:
    """Place -> the English label of its node's kind, to say which condition a problem is about."""
    found = {place: rules.GROUP_KINDS.get(tree.kind) or rules.PREDICATES.get(tree.kind, tree.kind)}
    for i, child in enumerate(tree.children):
        found |= _labels(child, f"{place}.{i}")
    return found


async def _form_items(request: Request) -> list[tuple[str, str]]:
    form = await request.form()
    return [(name, value) for name, value in form.multi_items() if isinstance(value, str)]


# -- the list -------------------------------------------------------------------------------------------


@router.get(BASE, response_class=HTMLResponse)
async def segment_list(view: AccountPage) -> HTMLResponse:
    segments = await view.get(Api.SEGMENTS, view.account_path("/segments"))
    ordered = sorted(segments, key=lambda s: s.get("updated_at", ""), reverse=True)
    return view.render("segments/list.html", segments=ordered, lang=_lang(view))


# -- the builder ----------------------------------------------------------------------------------------


async def _editor(
    view: View,
    tree: rules.Node,
    *,
    segment: dict[str, Any] | None,
    name: str,
    description: str,
    errors: dict[str, str] | None = None,
    problems: dict[str, list[str]] | None = None,
    preview: dict[str, Any] | None = None,
    fragment: bool = False,
    status_code: int = 200,
    from_version: int | None = None,
    base_version: int | None = None,
) -> HTMLResponse:
    save_url = view.account_path(f"/segments/{segment['id']}/edit" if segment else "/segments/new")
    context = await _builder_context(view, tree, problems or {})
    return view.render(
        "segments/_editor.html" if fragment else "segments/editor.html",
        status_code=status_code,
        segment=segment,
        name=name,
        description=description,
        errors=errors or {},
        preview=preview,
        save_url=save_url,
        from_version=from_version,
        # The version the edit started from, sent back as If-Match: a save made meanwhile is a conflict.
        base_version=base_version,
        lang=_lang(view),
        **context,
    )


@router.get(BASE + "/new", response_class=HTMLResponse)
async def new_segment(view: AccountPage) -> HTMLResponse:
    return await _editor(view, rules.new_tree(), segment=None, name="", description="")


@router.get(BASE + "/{segment_id}/edit", response_class=HTMLResponse)
async def edit_segment(view: AccountPage, segment_id: str, version: int | None = None) -> HTMLResponse:
    """The saved rule in the builder; ``version`` starts from an older version's rule instead."""
    segment = await view.get(Api.SEGMENTS, view.account_path(f"/segments/{segment_id}"))
    rule = segment["rule"]
    if version is not None and version != segment["version"]:
        versions = await view.get(Api.SEGMENTS, view.account_path(f"/segments/{segment_id}/versions"))
        rule = next((v["rule"] for v in versions if v["version"] == version), rule)
    tree = rules.from_rule(rule)
    return await _editor(
        view,
        tree,
        segment=segment,
        name=segment["name"],
        description=segment.get("description", ""),
        preview=await _preview(view, tree),
        from_version=version,
    )


@router.post(BASE + "/builder", response_class=HTMLResponse)
async def builder(view: AccountPage, request: Request) -> HTMLResponse:
    """An edit of the tree (add or remove a condition or a group, a kind changed): the builder again,
    with the preview of the new tree swapped in beside it."""
    items = await _form_items(request)
    op = next((value for name, value in items if name == "op"), "")
    tree = rules.apply(rules.from_form(items), op)
    context = await _builder_context(view, tree, {})
    return view.render("segments/_builder_swap.html", preview=await _preview(view, tree), lang=_lang(view), **context)


@router.post(BASE + "/preview", response_class=HTMLResponse)
async def preview(view: AccountPage, request: Request) -> HTMLResponse:
    tree = rules.from_form(await _form_items(request))
    return view.render("segments/_preview.html", preview=await _preview(view, tree), lang=_lang(view))


async def _save(view: AccountPage, request: Request, segment: dict[str, Any] | None) -> Response:
    items = await _form_items(request)
    form = dict(items)
    name, description = form.get("name", "").strip(), form.get("description", "").strip()
    tree = rules.from_form(items)
    built = rules.to_rule(tree)
    body = {"name": name, "description": description, "rule": built.rule}
    base = form.get("base_version", "")
    base_version = int(base) if base.isdigit() else (segment or {}).get("version")
    try:
        if segment is None:
            reply = await view.call(Api.SEGMENTS, "POST", view.account_path("/segments"), json=body)
        else:
            path = view.account_path(f"/segments/{segment['id']}")
            reply = await view.call(Api.SEGMENTS, "PUT", path, json=body, headers={"If-Match": f'"{base_version}"'})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = {key: value for key, value in exc.fields.items() if not key.startswith("rule")}
        saved_meanwhile = segment is not None and exc.status == 409 and base_version != segment["version"]
        if saved_meanwhile:
            # Shown against the newest version: saving again replaces it with this edit, knowingly.
            base_version = None
            since = view.gettext("Someone saved this segment since you opened it. Save again to replace it with yours.")
            view.flashes.append(("error", since))
        elif exc.status == 409:
            errors["name"] = view.error(exc)
        if not saved_meanwhile:
            view.flashes.append(("error", view.error(exc)))
        return await _editor(
            view,
            tree,
            segment=segment,
            name=name,
            description=description,
            errors=errors,
            problems=rules.problems_by_place(exc.detail, built.places),
            preview=await _preview(view, tree),
            fragment=True,
            status_code=200,
            base_version=base_version,
        )
    return view.redirect(view.account_path(f"/segments/{reply.body['id']}"))


@router.post(BASE + "/new", response_model=None)
async def create_segment(view: AccountPage, request: Request) -> Response:
    return await _save(view, request, None)


@router.post(BASE + "/{segment_id}/edit", response_model=None)
async def update_segment(view: AccountPage, request: Request, segment_id: str) -> Response:
    segment = await view.get(Api.SEGMENTS, view.account_path(f"/segments/{segment_id}"))
    return await _save(view, request, segment)


# -- one segment ----------------------------------------------------------------------------------------


async def _quietly(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except (ApiError, ApiUnavailable):
        return None


async def _used_by(view: View, segment: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The pushes that target the segment: the API says so in ``used_by``; an API without it is asked
    for the account's pushes (None when the operator may not read pushes)."""
    if segment.get("used_by") is not None:
        return list(segment["used_by"])
    pushes = await _quietly(view.get(Api.SEGMENTS, view.account_path("/pushes")))
    if pushes is None:
        return None
    return [p for p in pushes if p.get("segment_id") == segment["id"]]


@router.get(BASE + "/{segment_id}", response_class=HTMLResponse)
async def segment_page(view: AccountPage, segment_id: str, version: int | None = None) -> HTMLResponse:
    path = view.account_path(f"/segments/{segment_id}")
    segment = await view.get(Api.SEGMENTS, path)
    versions, sample = await asyncio.gather(
        view.get(Api.SEGMENTS, path + "/versions"), _quietly(view.get(Api.SEGMENTS, path + "/preview", sample=_SAMPLE))
    )
    shown = next((v for v in versions if v["version"] == version), None) if version is not None else None
    old_preview = None
    if shown is not None and shown["version"] != segment["version"]:
        # What that version would select today, and its summary (versions keep the rule only).
        old_preview = (await _preview(view, rules.from_rule(shown["rule"]))).get("result")
    return view.render(
        "segments/detail.html",
        segment=segment,
        versions=versions,
        sample=sample,
        shown=shown,
        old_preview=old_preview,
        tree=rules.from_rule((shown or segment)["rule"]),
        used_by=await _used_by(view, segment),
        lang=_lang(view),
        tag_names=_tag_names(),
        GROUP_KINDS=rules.GROUP_KINDS,
        PREDICATES=rules.PREDICATES,
        STAGES=rules.STAGES,
        CONSENTS=rules.CONSENTS,
    )


@router.get(BASE + "/{segment_id}/explain", response_class=HTMLResponse)
async def explain(view: AccountPage, segment_id: str, openid: str = "") -> HTMLResponse:
    """Why a member is (or is not) in the segment: the API's tree of held and not-held parts."""
    openid = openid.strip()
    if not openid:
        return view.render("segments/_explain.html", why=None, openid="", problem=view.gettext("Enter an openid."))
    try:
        why = await view.get(
            Api.SEGMENTS, view.account_path(f"/segments/{segment_id}/members/{openid}"), lang=_lang(view)
        )
    except ApiError as exc:
        if exc.status not in (403, 404, 422):
            raise
        problem = view.gettext("No profile for this member.") if exc.status == 404 else view.error(exc)
        return view.render("segments/_explain.html", why=None, openid=openid, problem=problem)
    return view.render("segments/_explain.html", why=why, openid=openid, problem="")


@router.post(BASE + "/{segment_id}/delete", response_model=None)
async def delete_segment(view: AccountPage, segment_id: str) -> Response:
    """Deleting is refused by the API while a push still to send targets the segment: its reason is shown."""
    try:
        await view.call(Api.SEGMENTS, "DELETE", view.account_path(f"/segments/{segment_id}"))
    except ApiError as exc:
        if exc.status != 409:
            raise
        return view.render("segments/_refused.html", message=view.error(exc))
    return view.redirect(view.account_path("/segments"))
