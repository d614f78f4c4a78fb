"""The H5 pages members open from WeChat (public; a signed link names the member): the interest page
(stage, interests and consents in one short form) and survey pages (answers and one lottery draw).

Server-rendered HTML (WeChat's browser, no script needed), zh-CN, sized for phones. The signed link
(``?t=``) names the member; a forged or expired one gets a page saying so, never a traceback. An
answer that breaks a rule comes back as the form with the reason.
"""

from __future__ import annotations

import html
from datetime import date
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response

from services.profiles.bootstrap import Profiles
from services.profiles.domain.profile import InterestPick, ProfileError
from services.profiles.domain.surveys import QuestionKind, Survey, SurveyError, SurveyStatus
from services.profiles.entrypoints.http.deps import AppId, Now, ProfilesDep, SurveyId, Token
from services.profiles.service_layer.h5 import submit_pick
from services.profiles.service_layer.surveys import answer_survey, result_text
from shared.maternal_infant import Basis
from shared.request_bodies import read_body
from shared.web import refuse_invalid_request as operator_refusal

__all__ = ["TAG", "refuse_invalid_request", "router"]

TAG = "h5 pages"
router = APIRouter(tags=[TAG])

_INTEREST_FORM_BYTES = 16 * 1024
_SURVEY_FORM_BYTES = 32 * 1024
_INTERESTS = "/h5/{appid}/interests"
_SURVEY = "/h5/{appid}/surveys/{survey_id}"
# No account check by path here: the signed link names the account, and a link for another is refused.

_STYLE = """
body{font-family:-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:0;background:#f7f7f7;color:#222}
main{max-width:560px;margin:0 auto;padding:20px}h1{font-size:20px}fieldset{border:0;background:#fff;
border-radius:10px;margin:0 0 14px;padding:14px}legend{font-weight:600;padding:0}label{display:block;
margin:8px 0}.error{background:#fdecea;color:#a31515;padding:10px;border-radius:8px}
button{width:100%;padding:12px;font-size:17px;border:0;border-radius:8px;background:#07c160;color:#fff}
"""
_INTEREST_TITLE = "告诉我们宝宝的情况"
_SURVEY_OVER = "<p>这个问卷已结束，感谢关注。</p>"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>",
        status_code=status,
    )


def _rejected() -> HTMLResponse:
    return _page("链接已失效", "<p>这个链接已过期或无效。请回到公众号，发送“资料”获取新的链接。</p>", status=403)


async def refuse_invalid_request(request: Request, exc: RequestValidationError) -> Response:
    """A member's browser gets the refusal page for a damaged link (token or path), not JSON; the
    operator API keeps FastAPI's 422."""
    if request.url.path.startswith("/h5/"):
        return _rejected()
    return await operator_refusal(request, exc)


def _interest_form(profiles: Profiles, appid: str, token: str, error: str | None = None) -> str:
    taxonomy = profiles.taxonomy
    interests = [tag for tag in taxonomy.family("interest") if tag.parent is not None]
    boxes = "".join(
        f'<label style="margin-left:{1.2 * (len(taxonomy.ancestors(tag.code)) - 1):.1f}em">'
        f'<input type="checkbox" name="interests" value="{html.escape(tag.code)}"> {html.escape(tag.name)}</label>'
        for tag in interests
    )
    problem = f'<p class="error">{html.escape(error)}</p>' if error else ""
    return f"""{problem}
<form method="post" action="/h5/{html.escape(appid)}/interests?t={html.escape(token)}">
<fieldset><legend>您现在是</legend>
<label><input type="radio" name="basis" value="due_date" required> 怀孕中（预产期）</label>
<label><input type="radio" name="basis" value="birthday"> 宝宝已出生（宝宝生日）</label>
<label><input type="radio" name="basis" value="preparing"> 备孕中</label>
<label>日期 <input type="date" name="on"></label></fieldset>
<fieldset><legend>您关心的内容</legend>{boxes}</fieldset>
<fieldset><legend>授权</legend>
<label><input type="checkbox" name="marketing" value="yes"> 愿意接收活动和优惠消息</label>
<label><input type="checkbox" name="data_use" value="yes"> 同意根据我的选择推荐内容</label></fieldset>
<button type="submit">提交</button></form>"""


def _interest_pick(fields: dict[str, list[str]]) -> InterestPick:
    """The form's answers; ValueError for a missing or impossible choice (checked fully by the profile)."""
    basis = Basis(fields.get("basis", [""])[0])
    raw_on = fields.get("on", [""])[0]
    on = date.fromisoformat(raw_on) if raw_on and basis is not Basis.PREPARING else None
    return InterestPick(
        basis,
        on,
        tuple(dict.fromkeys(fields.get("interests", []))),
        marketing=fields.get("marketing", [""])[0] == "yes",
        data_use=fields.get("data_use", [""])[0] == "yes",
    )


@router.get(_INTERESTS, response_class=HTMLResponse, summary="The interest page (signed link)")
async def interest_page(appid: AppId, t: Token, profiles: ProfilesDep) -> HTMLResponse:
    if profiles.member_of(appid, t, "interests") is None:
        return _rejected()
    return _page(_INTEREST_TITLE, _interest_form(profiles, appid, t))


@router.post(_INTERESTS, response_class=HTMLResponse, summary="The interest page's answers")
async def submit_interests(appid: AppId, t: Token, request: Request, profiles: ProfilesDep, now: Now) -> HTMLResponse:
    openid = profiles.member_of(appid, t, "interests")
    if openid is None:
        return _rejected()
    body = await read_body(request.scope, request.receive, _INTEREST_FORM_BYTES)
    if body is None:
        return _page(_INTEREST_TITLE, _interest_form(profiles, appid, t, "提交的内容过多"), status=413)
    try:
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=64)
    except ValueError:  # more fields than any answer has
        return _page(_INTEREST_TITLE, _interest_form(profiles, appid, t, "提交的内容过多"), status=413)
    try:
        await submit_pick(profiles.uow(), profiles.taxonomy, appid, openid, _interest_pick(fields), now)
    except ValueError as exc:  # ProfileError included: it names the field
        message = str(exc) if isinstance(exc, ProfileError) else "请选择您的情况并填写正确的日期"
        return _page(_INTEREST_TITLE, _interest_form(profiles, appid, t, message), status=422)
    return _page("提交成功", "<p>谢谢！我们会根据您的情况推荐合适的内容。可以随时回到这个链接修改。</p>")


def _survey_form(survey: Survey, action: str, error: str | None = None) -> str:
    parts = [f'<p class="error">{html.escape(error)}</p>' if error else "", f'<form method="post" action="{action}">']
    for question in survey.questions:
        name = html.escape(question.id)
        parts.append(f"<fieldset><legend>{html.escape(question.text)}</legend>")
        if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            kind = "radio" if question.kind is QuestionKind.SINGLE else "checkbox"
            for option in question.options:
                parts.append(
                    f'<label><input type="{kind}" name="{name}" value="{html.escape(option.id)}"> '
                    f"{html.escape(option.label)}</label>"
                )
        elif question.kind is QuestionKind.DATE:
            parts.append(f'<label><input type="date" name="{name}"></label>')
        else:
            parts.append(f'<label><input type="text" name="{name}" maxlength="200"></label>')
        parts.append("</fieldset>")
    parts.append('<button type="submit">提交并抽奖</button></form>')
    return "".join(parts)


def _survey_page(survey_id: str) -> str:
    """The page a survey's links are signed for (the same string the link's path carries)."""
    return f"surveys/{survey_id}"


def _survey_action(appid: str, survey_id: str, token: str) -> str:
    return f"/h5/{html.escape(appid)}/surveys/{html.escape(survey_id)}?t={html.escape(token)}"


@router.get(_SURVEY, response_class=HTMLResponse, summary="The survey page (signed link)")
async def survey_page(appid: AppId, survey_id: SurveyId, t: Token, profiles: ProfilesDep) -> HTMLResponse:
    if profiles.member_of(appid, t, _survey_page(survey_id)) is None:
        return _rejected()
    survey = await profiles.surveys.get(appid, survey_id)
    if survey is None:
        return _rejected()
    if survey.status is not SurveyStatus.PUBLISHED:
        return _page(survey.title, _SURVEY_OVER, status=410)
    return _page(survey.title, _survey_form(survey, _survey_action(appid, survey_id, t)))


@router.post(_SURVEY, response_class=HTMLResponse, summary="The survey's answers: tags and one draw")
async def answer_survey_page(
    appid: AppId, survey_id: SurveyId, t: Token, request: Request, profiles: ProfilesDep, now: Now
) -> HTMLResponse:
    openid = profiles.member_of(appid, t, _survey_page(survey_id))
    if openid is None:
        return _rejected()
    survey = await profiles.surveys.get(appid, survey_id)
    if survey is None:
        return _rejected()
    action = _survey_action(appid, survey_id, t)
    body = await read_body(request.scope, request.receive, _SURVEY_FORM_BYTES)
    if body is None:
        return _page(survey.title, _survey_form(survey, action, "提交的内容过多"), status=413)
    try:
        raw = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=200)
    except ValueError:  # more fields than any answer has
        return _page(survey.title, _survey_form(survey, action, "提交的内容过多"), status=413)
    try:
        result = await answer_survey(
            profiles.uow, profiles.taxonomy, profiles.messenger(appid), survey, appid, openid, raw, now
        )
    except SurveyError as exc:
        if exc.field == "survey":
            return _page(survey.title, _SURVEY_OVER, status=410)
        return _page(survey.title, _survey_form(survey, action, exc.message), status=422)
    note = "" if result.first else "<p>您已参与过这个问卷，以下是您的抽奖结果。</p>"
    return _page("问卷已提交", f"{note}<p>{html.escape(result_text(result))}</p>")
