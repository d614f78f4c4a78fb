"""What operators do with profiles: read one, and add or remove a tag by hand (audited in the history)."""

from __future__ import annotations

from datetime import datetime

from services.profiles.domain.profile import Profile
from services.profiles.domain.tags import TagSource
from services.profiles.service_layer.ports import ProfileReader, ProfilesUnitOfWork
from shared.maternal_infant import Taxonomy
from shared.storage import retry_transient

__all__ = ["NoProfile", "NoSuchTag", "NotFollowing", "add_tag", "follower", "profile_of", "remove_tag"]


class NoProfile(LookupError):
    """Nothing is known about this member (the message names them)."""

    def __init__(self, appid: str, openid: str) -> None:
        super().__init__(f"no profile for {openid!r} in {appid!r}")


class NotFollowing(LookupError):
    """The member does not follow the account (now): no H5 link is issued for them."""

    def __init__(self, appid: str, openid: str) -> None:
        super().__init__(f"{openid!r} does not follow {appid!r}")


class NoSuchTag(LookupError):
    """The profile carries no tag of that code from that source."""

    def __init__(self, code: str, source: TagSource) -> None:
        super().__init__(f"no {source.value} tag {code!r} on this profile")


async def profile_of(reader: ProfileReader, appid: str, openid: str) -> Profile:
    profile = await reader.get(appid, openid)
    if profile is None:
        raise NoProfile(appid, openid)
    return profile


async def follower(reader: ProfileReader, appid: str, openid: str) -> Profile:
    """The profile of a member who follows the account; links to the H5 pages are issued only for them."""
    profile = await reader.get(appid, openid)
    if profile is None or not profile.follow.following:
        raise NotFollowing(appid, openid)
    return profile


async def add_tag(
    uow: ProfilesUnitOfWork,
    taxonomy: Taxonomy,
    appid: str,
    openid: str,
    code: str,
    weight: float,
    actor: str,
    now: datetime,
) -> Profile:
    """An ops tag on the member's profile (made if need be); ProfileError for a code ops may not set.
    A write conflict (the account's coverage counters are shared by every write) is tried again."""

    async def attempt() -> Profile:
        async with uow:
            profile = await uow.profiles.get_or_new(appid, openid)
            changes = profile.add_tag(taxonomy, code, TagSource.OPS, now, weight, actor=actor)
            if changes:
                await uow.profiles.save(profile, changes)
            await uow.commit()
        return profile

    return await retry_transient(attempt)


async def remove_tag(
    uow: ProfilesUnitOfWork, appid: str, openid: str, code: str, source: TagSource, actor: str, now: datetime
) -> Profile:
    """Take a tag off; NoProfile or NoSuchTag when there is nothing to take off (conflicts tried again)."""

    async def attempt() -> Profile:
        async with uow:
            profile = (await uow.profiles.get_many([(appid, openid)])).get((appid, openid))
            if profile is None:
                raise NoProfile(appid, openid)
            changes = profile.remove_tag(code, source, now, actor)
            if not changes:
                raise NoSuchTag(code, source)
            await uow.profiles.save(profile, changes)
            await uow.commit()
        return profile

    return await retry_transient(attempt)
