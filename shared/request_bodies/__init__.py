"""Request bodies the HTTP services read themselves: bounded, and ``multipart/form-data`` forms.

:func:`read_body` reads a body under a size limit (declared or streamed); :class:`BodyLimit` puts the
same limit in front of a whole JSON API. :func:`parse_multipart`
splits a form that was read that way; the uploads here (poster templates, coupon-code lists,
simulated media) are small, so a plain parser over bytes is enough and the platform does not depend
on a streaming form library.
"""

from shared.request_bodies._limit import BodyLimit
from shared.request_bodies._parser import FormPart, MultipartError, parse_multipart
from shared.request_bodies._read import read_body

__all__ = ["BodyLimit", "FormPart", "MultipartError", "parse_multipart", "read_body"]
