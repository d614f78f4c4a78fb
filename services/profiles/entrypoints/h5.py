"""The H5 interest page members open from WeChat: stage, interests and consents, in one short form.

Server-rendered HTML (WeChat's browser, no script needed), zh-CN, sized for phones. The signed link
(``?t=``) names the member; a forged or expired one gets a page saying so, never a traceback.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from services.profiles.bootstrap import Profiles
from services.profiles.domain.profile import InterestPick, ProfileError
from services.profiles.service_layer.h5 import submit_pick
from shared.maternal_infant import Basis
from shared.request_bodies import read_body

__all__ = ["TAG_H5", "h5_router", "page", "rejected"]

TAG_H5 = "h5 pages"
_MAX_FORM_BYTES = 16 * 1024
AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Token = Annotated[str, Query(min_length=10, max_length=600)]

_STYLE = """
body{font-family:-apple-system,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:0;background:#f7f7f7;color:#222}
main{max-width:560px;margin:0 auto;padding:20px}h1{font-size:20px}fieldset{border:0;background:#fff;
border-radius:10px;margin:0 0 14px;padding:14px}legend{font-weight:600;padding:0}label{display:block;
margin:8px 0}.error{background:#fdecea;color:#a31515;padding:10px;border-radius:8px}
button{width:100%;padding:12px;font-size:17px;border:0;border-radius:8px;background:#07c160;color:#fff}
"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>",
        status_code=status,
    )


def rejected() -> HTMLResponse:
    return page("链接已失效", "<p>这个链接已过期或无效。请回到公众号，发送“资料”获取新的链接。</p>", status=403)


def _form(profiles: Profiles, appid: str, token: str, error: str | None = None) -> str:
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


def h5_router(now: Callable[[], datetime]) -> APIRouter:
    router = APIRouter(tags=[TAG_H5])

    @router.get("/h5/{appid}/interests", response_class=HTMLResponse, summary="The interest page (signed link)")
    async def interestpage(appid: AppId, t: Token, request: Request) -> HTMLResponse:
        profiles: Profiles = request.app.state.profiles
        if profiles.member_of(appid, t) is None:
            return rejected()
        return page("告诉我们宝宝的情况", _form(profiles, appid, t))

    @router.post("/h5/{appid}/interests", response_class=HTMLResponse, summary="The interest page's answers")
    async def submit_interests(appid: AppId, t: Token, request: Request) -> HTMLResponse:
        profiles: Profiles = request.app.state.profiles
        openid = profiles.member_of(appid, t)
        if openid is None:
            return rejected()
        body = await read_body(request.scope, request.receive, _MAX_FORM_BYTES)
        if body is None:
            return page("告诉我们宝宝的情况", _form(profiles, appid, t, "提交的内容过多"), status=413)
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=64)
        try:
            basis = Basis(fields.get("basis", [""])[0])
            raw_on = fields.get("on", [""])[0]
            on = date.fromisoformat(raw_on) if raw_on and basis is not Basis.PREPARING else None
            pick = InterestPick(
                basis,
                on,
                tuple(dict.fromkeys(fields.get("interests", []))),
                marketing=fields.get("marketing", [""])[0] == "yes",
                data_use=fields.get("data_use", [""])[0] == "yes",
            )
            await submit_pick(profiles.uow(), profiles.taxonomy, appid, openid, pick, now())
        except ValueError as exc:  # ProfileError included: it names the field
            message = str(exc) if isinstance(exc, ProfileError) else "请选择您的情况并填写正确的日期"
            return page("告诉我们宝宝的情况", _form(profiles, appid, t, message), status=422)
        return page("提交成功", "<p>谢谢！我们会根据您的情况推荐合适的内容。可以随时回到这个链接修改。</p>")

    return router
