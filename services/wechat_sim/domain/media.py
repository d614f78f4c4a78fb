"""Temporary media: the types, sizes and formats ``media/upload`` accepts, kept for three days."""

from __future__ import annotations

from dataclasses import dataclass

from services.wechat_sim.domain.errors import ApiError

MEDIA_TYPES = ("image", "voice", "video", "thumb")
_SIZE_ERRORS = {"image": 40009, "voice": 40010, "video": 40011, "thumb": 40012}


@dataclass(frozen=True)
class MediaLimits:
    image_bytes: int = 10 * 1024 * 1024
    voice_bytes: int = 2 * 1024 * 1024
    video_bytes: int = 10 * 1024 * 1024
    thumb_bytes: int = 64 * 1024
    ttl_seconds: int = 3 * 86_400

    def max_bytes(self, media_type: str) -> int:
        return {
            "image": self.image_bytes,
            "voice": self.voice_bytes,
            "video": self.video_bytes,
            "thumb": self.thumb_bytes,
        }[media_type]


@dataclass(frozen=True)
class MediaItem:
    media_id: str
    type: str
    content: bytes
    content_type: str
    filename: str
    created_at: float

    def is_live(self, now: float, ttl_seconds: int) -> bool:
        return now < self.created_at + ttl_seconds


def sniff(content: bytes) -> str | None:
    """The content type from the file's first bytes, for the formats the platform takes."""
    signatures = (
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"BM", "image/bmp"),
        (b"#!AMR", "audio/amr"),
        (b"ID3", "audio/mpeg"),
    )
    for magic, content_type in signatures:
        if content.startswith(magic):
            return content_type
    if len(content) > 2 and content[0] == 0xFF and content[1] & 0xE0 == 0xE0:
        return "audio/mpeg"
    if content[4:8] == b"ftyp":
        return "video/mp4"
    return None


_ACCEPTED = {
    "image": {"image/png", "image/jpeg", "image/gif", "image/bmp"},
    "thumb": {"image/jpeg"},
    "voice": {"audio/amr", "audio/mpeg"},
    "video": {"video/mp4"},
}


def check_upload(media_type: str, content: bytes | None, limits: MediaLimits) -> str:
    """The stored content type, or the platform's refusal."""
    if media_type not in MEDIA_TYPES:
        raise ApiError(40004)
    if content is None:
        raise ApiError(41005)
    if not content:
        raise ApiError(44001)
    if len(content) > limits.max_bytes(media_type):
        raise ApiError(_SIZE_ERRORS[media_type])
    content_type = sniff(content)
    if content_type not in _ACCEPTED[media_type]:
        raise ApiError(40005)
    return content_type
