"""``multipart/form-data`` bodies (file uploads) read with the standard library.

The services take small uploads (poster templates, coupon-code lists, simulated media) whose bodies
are already read in full under a size limit, so a plain parser over bytes is enough and the
platform does not depend on a streaming form library.
"""

from shared.multipart._parser import FormPart, MultipartError, parse_multipart

__all__ = ["FormPart", "MultipartError", "parse_multipart"]
