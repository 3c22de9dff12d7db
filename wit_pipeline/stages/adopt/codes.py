"""The pipeline's error codes for img2dataset's free-text error messages, so filter's reasons and
the report's error table read an adopted shard as they read our own downloads."""

from __future__ import annotations

import re

_HTTP = re.compile(r"HTTP Error (\d{3})")
_RULES = (
    ("timed out", "timeout"),
    ("X-Robots-Tag", "x_robots_tag"),
    ("image too small", "too_small"),
    ("aspect ratio too large", "bad_aspect_ratio"),
    ("image area too large", "too_many_pixels"),
    ("Image decoding error", "decode_error"),
    ("cannot identify image file", "decode_error"),
    ("hash mismatch", "hash_mismatch"),
    ("Name or service not known", "dns_error"),
    ("nodename nor servname", "dns_error"),
    ("Temporary failure in name resolution", "dns_error"),
    ("CERTIFICATE_VERIFY_FAILED", "tls_error"),
    ("SSL", "tls_error"),
    ("IncompleteRead", "truncated"),
    ("unknown url type", "invalid_url"),
    ("no host given", "invalid_url"),
    ("Connection refused", "connection_error"),
    ("Connection reset", "connection_error"),
    ("Remote end closed connection", "connection_error"),
    ("urlopen error", "connection_error"),
    ("redirect error", "too_many_redirects"),
)
"""(text found in img2dataset's message, our code), first match wins."""


def error_code(message: str | None) -> str | None:
    """Our error code for one img2dataset error message (None for none, `other` when unknown)."""
    if message is None:
        return None
    http = _HTTP.search(message)
    if http is not None:
        return f"http_{http.group(1)}"
    return next((code for text, code in _RULES if text in message), "other")
