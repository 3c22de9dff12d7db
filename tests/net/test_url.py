"""URLs as a browser requests them (WHATWG URL rules): percent-encoded path and query, IDNA
host, backslashes as slashes; a URL that cannot be encoded is InvalidURL."""

import pytest

from wit_pipeline.net.url import InvalidURL, join_url, normalise_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/images/café au lait.jpg", "http://h/images/caf%C3%A9%20au%20lait.jpg"),
        ("http://h/a%20b.jpg", "http://h/a%20b.jpg"),
        ("http://h/100%.jpg", "http://h/100%.jpg"),
        ("HTTP://Example.COM:80", "http://example.com/"),
        ("https://h:443/x", "https://h/x"),
        ("http://h:8080/x", "http://h:8080/x"),
        ("https://bücher.de/ä?q=ä b'c#frag", "https://xn--bcher-kva.de/%C3%A4?q=%C3%A4%20b%27c"),
        ("http://h/{x}^`|", "http://h/%7Bx%7D%5E%60|"),
        ('http://h/"<>', "http://h/%22%3C%3E"),
        ("http://h/a\\b\\c.jpg?x\\y", "http://h/a/b/c.jpg?x\\y"),
        ("  http://h/a\tb\nc.jpg \x00", "http://h/abc.jpg"),
        ("http://[::FFFF:127.0.0.1]:81/x", "http://[::ffff:7f00:1]:81/x"),
        ("http://user:p w@h/x", "http://user:p%20w@h/x"),
        ("data:image/png;base64,AAAA", "data:image/png;base64,AAAA"),
    ],
)
def test_urls_are_encoded_as_a_browser_does(url, expected):
    assert normalise_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "no scheme",
        "http://exa mple.org/x.jpg",
        "http://h:99999/x",
        "http://h:8o/x",
        "http://[::1/x",
        "http://[::1]x/",
        "http://[fe80::1%25eth0]/x",
        "http:///",
        "http://a%ZZ/x",
        "http://h/\ud800.jpg",
        "http://a<b/x",
    ],
)
def test_unencodable_urls_are_invalid(url):
    with pytest.raises(InvalidURL):
        normalise_url(url)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("images/café au lait.jpg", "http://h/dir/images/caf%C3%A9%20au%20lait.jpg"),
        ("../up.jpg#part", "http://h/up.jpg"),
        ("//cdn.example/x.jpg", "http://cdn.example/x.jpg"),
        ("\\\\cdn.example\\x.jpg", "http://cdn.example/x.jpg"),
        ("ima\nges/a.jpg", "http://h/dir/images/a.jpg"),
        ("?page=2", "http://h/dir/page.html?page=2"),
    ],
)
def test_references_resolve_against_the_page(reference, expected):
    assert join_url("http://h/dir/page.html", reference) == expected


def test_references_of_local_pages_are_only_joined():
    assert join_url("file:///tmp/p.html", "a b.jpg") == "file:///tmp/a b.jpg"
