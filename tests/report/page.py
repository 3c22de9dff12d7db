"""Read a report page back: its sections, embedded images, funnel rows and reason table."""

from html.parser import HTMLParser


class ReportPage(HTMLParser):
    """What a report's HTML holds, gathered while parsing: sections (id -> ran), their text,
    image sources, funnel counts by step, the reason table, and any external reference."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, bool] = {}
        self.section_text: dict[str, str] = {}
        self.image_sources: list[str] = []
        self.funnel: dict[str, int] = {}
        self.reasons: dict[str, tuple[int, int]] = {}
        self.external: list[str] = []
        self._section: str | None = None
        self._table: str | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "section":
            self._section = a["id"]
            self.sections[a["id"]] = a["data-ran"] == "true"
            self.section_text[a["id"]] = ""
        elif tag == "img":
            self.image_sources.append(a["src"])
        elif tag in ("script", "link", "iframe") or (tag != "a" and "href" in a):
            self.external.append(tag)
        elif tag == "table":
            self._table = a.get("class")
        elif tag == "tr":
            if "data-step" in a:
                self.funnel[a["data-step"]] = int(a["data-count"])
            self._row = []
        elif tag == "td" and self._row is not None:
            self._row.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None
        elif tag == "tr" and self._table == "reasons" and self._row:
            reason, first, applied = self._row
            self.reasons[reason] = (int(first.replace(",", "")), int(applied.replace(",", "")))
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._section:
            self.section_text[self._section] += data
        if self._row:
            self._row[-1] += data


def read_page(html: str) -> ReportPage:
    """Parse a report."""
    page = ReportPage()
    page.feed(html)
    page.close()
    return page
