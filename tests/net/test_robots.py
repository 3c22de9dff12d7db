"""robots.txt rules per origin, fetched once, failures allowing everything."""

from wit_pipeline.net.robots import RobotsCache


def test_rules_are_fetched_once_per_origin():
    calls = []

    def fetch(url):
        calls.append(url)
        return 200, b"User-agent: *\nDisallow: /private/\n"

    robots = RobotsCache()
    assert robots.allowed("http://a.test/img/1.jpg", fetch)
    assert not robots.allowed("http://a.test/private/2.jpg", fetch)
    assert robots.allowed("http://b.test/private/2.jpg", fetch) is False
    assert calls == ["http://a.test/robots.txt", "http://b.test/robots.txt"]


def test_missing_broken_and_forbidden_robots():
    statuses = {
        "http://gone.test/robots.txt": (404, b""),
        "http://forbidden.test/robots.txt": (403, b""),
    }

    def fetch(url):
        if url.startswith("http://down.test"):
            raise OSError("connection refused")
        return statuses[url]

    robots = RobotsCache()
    assert robots.allowed("http://gone.test/x.jpg", fetch)
    assert robots.allowed("http://down.test/x.jpg", fetch)
    assert not robots.allowed("http://forbidden.test/x.jpg", fetch)
