"""Sign-in, sign-out, password change and "who am I"."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.identity.entrypoints.http.deps import DirectoryDep
from services.identity.entrypoints.http.schemas import GrantOut, LoginIn, LoginOut, MeOut, PasswordChangeIn
from shared.identity import SESSION_COOKIE, Actor, Identity, clear_session_cookie, set_session_cookie

#: Reached without credentials: it is how one gets some (throttled per account and per address).
public = APIRouter(prefix="/auth", tags=["auth"])
router = APIRouter(prefix="/auth", tags=["auth"])


def _me(identity: Identity, csrf_token: str | None = None) -> MeOut:
    return MeOut(
        id=identity.actor_id,
        name=identity.name,
        kind=identity.kind,
        grants=[GrantOut(role=g.role.value, appid=g.appid) for g in sorted(identity.grants)],
        session_id=identity.session_id,
        token_id=identity.token_id,
        scopes=None if identity.scopes is None else sorted(s.value for s in identity.scopes),
        csrf_token=csrf_token,
    )


@public.post("/login", summary="Sign in: sets the session cookie and returns the CSRF token")
async def login(body: LoginIn, directory: DirectoryDep, request: Request, response: Response) -> LoginOut:
    signed_in = await directory.login(body.name, body.password.get_secret_value())
    policy = directory.policy
    set_session_cookie(
        response,
        signed_in.secret,
        secure=request.app.state.identity_secure_cookies,
        max_age=int(policy.session_absolute.total_seconds()),
    )
    return LoginOut(
        operator=_me(signed_in.identity, signed_in.session.csrf_token),
        csrf_token=signed_in.session.csrf_token,
        idle_timeout_seconds=int(policy.session_idle.total_seconds()),
        expires_at=signed_in.session.created_at + policy.session_absolute,
    )


@router.post("/logout", status_code=204, summary="Sign out: the session ends on the server")
async def logout(actor: Actor, directory: DirectoryDep, request: Request, response: Response) -> None:
    await directory.logout(actor)
    clear_session_cookie(response, secure=request.app.state.identity_secure_cookies)


@router.post("/password", status_code=204, summary="Change one's password (other sessions end)")
async def change_password(body: PasswordChangeIn, actor: Actor, directory: DirectoryDep) -> None:
    await directory.change_password(actor, body.current.get_secret_value(), body.new.get_secret_value())


@router.get("/me", summary="The caller: operator, grants, and the session's CSRF token")
async def me(actor: Actor, directory: DirectoryDep, request: Request) -> MeOut:
    cookie = request.cookies.get(SESSION_COOKIE)
    csrf = await directory.session_csrf_token(cookie) if cookie and actor.session_id else None
    return _me(actor, csrf)
