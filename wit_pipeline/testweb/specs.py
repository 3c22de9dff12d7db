"""The plan's records: what each image URL is and serves, and what each page holds."""

from __future__ import annotations

from dataclasses import dataclass

from .scene import Scene


@dataclass(frozen=True)
class Encoding:
    """How an image's bytes are made: format, PIL mode, pixel size and lossy quality."""

    fmt: str
    mode: str
    width: int
    height: int
    quality: int

    @property
    def extension(self) -> str:
        """The file extension that goes with the format."""
        return {"jpeg": "jpg"}.get(self.fmt, self.fmt)


@dataclass(frozen=True)
class Variant:
    """How a duplicate derives from its source image (box and factor only where they apply)."""

    kind: str
    source: int
    box: tuple[int, int, int, int] | None = None
    factor: float = 1.0


@dataclass(frozen=True)
class ImageSpec:
    """One image URL: what the page says about it, what it shows, and how it is served."""

    id: int
    path: str
    kind: str
    page: int | None
    scene: Scene | None
    encoding: Encoding
    true_caption: str
    page_caption: str
    caption_lang: str | None
    caption_source: str
    markup: str
    url_form: str
    entity_style: str
    final_path: str | None
    dup_group: int | None = None
    dup_kind: str = "none"
    variant: Variant | None = None
    mismatched: bool = False
    noise: str = "none"
    boilerplate: str = "none"


@dataclass(frozen=True)
class PageSpec:
    """One content page: where it lives and which images it shows, in order."""

    index: int
    path: str
    section: int
    title: str
    base_href: bool
    items: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    """The whole synthetic web before any pixel is drawn."""

    images: tuple[ImageSpec, ...]
    pages: tuple[PageSpec, ...]
    sections: int
