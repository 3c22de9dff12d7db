"""Caption rules: which alt texts are worth keeping (the language check uses scoring.language).

Each rule returns the reason a caption is dropped, so the stage can count every drop by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BOILERPLATE_WORDS = frozenset(
    [
        "logo",
        "logos",
        "spacer",
        "icon",
        "icons",
        "image",
        "images",
        "img",
        "photo",
        "photos",
        "picture",
        "pic",
        "banner",
        "thumbnail",
        "thumb",
        "avatar",
        "placeholder",
        "blank",
        "pixel",
        "transparent",
        "arrow",
        "button",
        "loading",
        "untitled",
        "null",
        "undefined",
        "advertisement",
        "ad",
        "ads",
        "sprite",
        "badge",
        "rss",
        "feed",
        "home",
        "menu",
        "search",
        "close",
        "loader",
        "click",
        "next",
        "previous",
        "prev",
        "share",
        "download",
        "print",
        "email",
        "tweet",
        "facebook",
        "twitter",
        "gif",
        "jpg",
        "jpeg",
        "png",
        "webp",
        "svg",
    ]
)
_FILLER_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "our",
        "site",
        "company",
        "header",
        "footer",
        "default",
        "small",
        "large",
        "main",
        "top",
        "bottom",
        "left",
        "right",
        "click",
        "here",
        "read",
        "more",
        "go",
        "to",
        "back",
        "image",
    ]
)
_WORD = re.compile(r"[\w']+", re.UNICODE)
_FILENAME = re.compile(
    r"^[\w\-.()\s]*\.(jpe?g|png|gif|webp|bmp|svg|tiff?|heic|avif)$|"
    r"^(img|dsc|dscn|dscf|dcim|pxl|mvimg|screenshot|image|photo|p)[\s_-]*\d{2,}[\w-]*$|"
    r"^[\d\s_\-.]+$|^[0-9a-f]{16,}$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CaptionRules:
    """Thresholds for keeping a caption; every one is a command-line flag."""

    min_chars: int = 5
    min_words: int = 2
    max_chars: int = 1000
    drop_boilerplate: bool = True
    langs: frozenset[str] | None = None


def is_boilerplate(caption: str) -> bool:
    """Alts like 'logo', 'site logo', 'spacer image', 'click here': UI chrome, not a caption."""
    words = [w.lower() for w in _WORD.findall(caption)]
    return (
        bool(words)
        and all(w in BOILERPLATE_WORDS or w in _FILLER_WORDS for w in words)
        and any(w in BOILERPLATE_WORDS for w in words)
    )


def is_filename_like(caption: str) -> bool:
    """Alts like 'IMG_0042.JPG', 'DSC01234', '20230101_120000' or a hex digest."""
    return bool(_FILENAME.match(caption.strip()))


def caption_drop_reason(caption: str, rules: CaptionRules) -> str | None:
    """Why `caption` fails the text rules (not language), or None when it passes."""
    if not caption:
        return "empty_caption"
    if rules.drop_boilerplate and is_filename_like(caption):
        return "filename_like"
    if rules.drop_boilerplate and is_boilerplate(caption):
        return "boilerplate"
    if len(caption) < rules.min_chars:
        return "too_short"
    if len(caption) > rules.max_chars:
        return "too_long"
    if len(caption.split()) < rules.min_words:
        return "too_few_words"
    return None
