"""HTML-escaping of captions in three styles, so alt texts carry real entity references."""

from __future__ import annotations

import html
from html.entities import codepoint2name

ENTITY_STYLES = ("raw", "named", "numeric")


def encode_text(text: str, style: str) -> str:
    """`text` escaped for HTML; non-ASCII kept raw or written as named or numeric references."""
    escaped = html.escape(text, quote=True)
    if style == "raw":
        return escaped
    out = []
    for char in escaped:
        code = ord(char)
        if code < 128:
            out.append(char)
        elif style == "named" and code in codepoint2name:
            out.append(f"&{codepoint2name[code]};")
        else:
            out.append(f"&#{code};")
    return "".join(out)
