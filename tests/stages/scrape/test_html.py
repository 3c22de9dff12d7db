"""Image and caption extraction from HTML: every markup form the web uses."""

from hypothesis import given, settings
from hypothesis import strategies as st

from wit_pipeline.stages.scrape.html import (
    BAD_URL,
    extract_images,
    extract_links,
    largest_srcset_candidate,
    parse_html,
    parse_srcset,
)

PAGE = "http://example.test/dir/page.html"


def _images(html, page_url=PAGE):
    return [
        (i.url, i.caption, i.caption_source) for i in extract_images(parse_html(html), page_url)
    ]


def test_relative_absolute_root_and_protocol_relative_urls():
    html = """<img src="a.jpg" alt="one two"><img src="/b.jpg" alt="x y">
    <img src="//cdn.test/c.jpg" alt="p q"><img src="https://other.test/d.png" alt="r s">"""
    assert [u for u, _, _ in _images(html)] == [
        "http://example.test/dir/a.jpg",
        "http://example.test/b.jpg",
        "http://cdn.test/c.jpg",
        "https://other.test/d.png",
    ]
    assert _images('<img src="//cdn.test/c.jpg">', "https://example.test/")[0][0] == (
        "https://cdn.test/c.jpg"
    )


def test_base_href_wins_over_page_url_and_is_itself_resolved():
    html = '<head><base href="/static/img/"></head><img src="x.jpg" alt="a b"><a href="p.html">'
    tree = parse_html(html)
    assert extract_images(tree, PAGE)[0].url == "http://example.test/static/img/x.jpg"
    assert extract_links(tree, PAGE) == ["http://example.test/static/img/p.html"]


def test_srcset_largest_and_lazy_data_src():
    html = """<img src="s.jpg" srcset="s.jpg 320w, l.jpg 1280w, m.jpg 640w" alt="a b">
    <img src="data:image/gif;base64,R0lGOD" data-src="lazy.jpg" alt="c d">
    <img src="1.jpg" srcset="1.jpg, 2.jpg 2x, 3.jpg 3x" alt="e f">"""
    assert [u.rsplit("/", 1)[1] for u, _, _ in _images(html)] == ["l.jpg", "lazy.jpg", "3.jpg"]


def test_data_uri_only_is_kept_as_data_uri_for_counting():
    ((url, _, _),) = _images('<img src="data:image/png;base64,AAAA" alt="a b">')
    assert url.startswith("data:")


def test_caption_sources_alt_figcaption_title_none():
    html = """<img src="a.jpg" alt="  an   alt\n text ">
    <figure><div><img src="b.jpg" alt=""></div>
    <figcaption>A <b>bold</b> caption</figcaption></figure>
    <img src="c.jpg" title="a title text"><img src="d.jpg">"""
    assert [(c, s) for _, c, s in _images(html)] == [
        ("an alt text", "alt"),
        ("A bold caption", "figcaption"),
        ("a title text", "title"),
        ("", "none"),
    ]


def test_entities_are_decoded():
    html = '<img src="a.jpg" alt="Escudo d&#39;armas &amp; caf&eacute; &quot;x&quot;">'
    assert _images(html)[0][1] == 'Escudo d\'armas & café "x"'


def test_images_inside_links_and_fragments_dropped():
    html = '<a href="big.jpg#z"><img src="thumb.jpg#frag" alt="a b"></a>'
    assert _images(html)[0][0] == "http://example.test/dir/thumb.jpg"
    assert extract_links(parse_html(html), PAGE) == ["http://example.test/dir/big.jpg"]


def test_links_skip_javascript_and_mailto():
    html = '<a href="javascript:void(0)">x</a><a href="mailto:a@b">y</a><a href="/n">z</a>'
    assert extract_links(parse_html(html), PAGE) == ["http://example.test/n"]


def test_srcset_parsing_keeps_commas_inside_urls():
    assert parse_srcset("https://c/w_1,h_2/a.jpg 100w, https://c/w_9/b.jpg 900w") == [
        ("https://c/w_1,h_2/a.jpg", "100w"),
        ("https://c/w_9/b.jpg", "900w"),
    ]
    assert largest_srcset_candidate("") is None
    assert largest_srcset_candidate("a.jpg 1.5x, b.jpg 2x") == "b.jpg"


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_arbitrary_input_never_raises(data):
    tree = parse_html(data)
    images = extract_images(tree, PAGE)
    assert all(isinstance(i.caption, str) for i in images)
    assert all(link.startswith("http") for link in extract_links(tree, PAGE))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                '<img src="',
                '" alt="',
                '">',
                "<figure>",
                "</figure>",
                "<figcaption>",
                "<base href='",
                "srcset='",
                " 2x, ",
                "&amp;",
                "//",
                "data:",
                "'>",
                "x.jpg",
                " ",
            ]
        ),
        max_size=40,
    )
)
def test_arbitrary_markup_fragments_never_raise(parts):
    extract_images(parse_html("".join(parts)), PAGE)


def test_unparsable_urls_are_marked_not_raised():
    html = (
        '<base href="http://[bad/"><img src="http://[bad/x.jpg" alt="a b">'
        '<img src="good.jpg" alt="c d"><a href="http://[x/">x</a><a href="/ok">y</a>'
    )
    tree = parse_html(html)
    bad, good = extract_images(tree, PAGE)
    assert bad.url.startswith(BAD_URL) and good.url == "http://example.test/dir/good.jpg"
    assert extract_links(tree, PAGE) == ["http://example.test/ok"]
