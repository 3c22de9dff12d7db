"""Server-side request forgery: loopback, private, link-local and metadata addresses, in every
spelling (IPv6 forms that carry an IPv4 address included: mapped, translated, compatible,
NAT64, 6to4), behind host names (a local DNS stub, no /etc/hosts) and behind redirects, are
refused by the downloader and the crawler before any connection, unless private networks are
allowed.

A "secret" service listens on 127.0.0.2: every refused request would have reached it, so its
request log staying empty proves nothing was sent (and the allowed control run reaches it).
"""

import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.reliability.sites import html, jpeg, redirect, serving
from wit_pipeline.core.workspace import Workspace
from wit_pipeline.net.fetch import Fetcher, FetchOptions
from wit_pipeline.net.guard import StaticResolver, system_resolver
from wit_pipeline.stages.scrape import CrawlOptions, ScrapeOptions, scrape

SECRET_HOST = "127.0.0.2"
SECRET_DECIMAL = "2130706434"
"""127.0.0.2 written as one 32-bit number."""


def spellings(port: int) -> list[str]:
    """URLs of the secret service in the forms a URL filter might miss."""
    return [
        f"http://{SECRET_HOST}:{port}/a.jpg",
        f"http://{SECRET_DECIMAL}:{port}/b.jpg",
        f"http://0177.0.0.2:{port}/c.jpg",
        f"http://0x7f.0.0.2:{port}/d.jpg",
        f"http://127.0.2:{port}/e.jpg",
        f"http://[::ffff:127.0.0.2]:{port}/f.jpg",
        f"http://secret.test:{port}/g.jpg",
        f"http://mixed.test:{port}/h.jpg",
    ]


OTHER_INWARD_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://10.1.2.3/x.jpg",
    "http://172.16.5.4/x.jpg",
    "http://192.168.0.1/x.jpg",
    "http://[fd00::1]/x.jpg",
    "http://[fe80::1]/x.jpg",
    "http://[::1]/x.jpg",
    "http://0.0.0.0/x.jpg",
    "http://2130706433/x.jpg",
    "http://[2002:7f00:1::]/x.jpg",
    "http://[::127.0.0.2]/x.jpg",
    "http://[64:ff9b::127.0.0.2]/x.jpg",
    "http://[64:ff9b:1::127.0.0.2]/x.jpg",
    "http://[::ffff:0:127.0.0.2]/x.jpg",
    "http://[::a9fe:a9fe]/latest/meta-data/",
    "http://metadata.test/latest/meta-data/",
    "http://intranet.test/x.jpg",
    "http://v6.test/x.jpg",
    "http://localhost/x.jpg",
]
STUB = StaticResolver.of(
    {
        "secret.test": [SECRET_HOST],
        "mixed.test": ["93.184.216.34", SECRET_HOST],
        "metadata.test": ["169.254.169.254"],
        "intranet.test": ["10.1.2.3"],
        "v6.test": ["fd00::1"],
    },
    fallback=system_resolver,
)
"""A local DNS stub: names that resolve inwards (one public and one private address for
mixed.test); other names (localhost) go to the system resolver."""


@pytest.fixture
def secret():
    with serving({"*": jpeg()}, host=SECRET_HOST) as site:
        yield site


def _fetcher(**overrides) -> Fetcher:
    options = {"timeout": 2.0, "retries": 2, "resolver": STUB, "backoff": 0.01, **overrides}
    return Fetcher(FetchOptions(**options))


def test_every_spelling_and_name_of_an_inward_address_is_refused(secret):
    port = int(secret.origin.rsplit(":", 1)[1])
    fetcher = _fetcher()
    for url in spellings(port) + OTHER_INWARD_URLS:
        result = fetcher.fetch(url)
        assert (result.error_code, result.attempts) == ("ssrf_blocked", 1), (url, result)
    assert secret.requests == [], "a refused URL reached the secret service"


def test_the_refused_spellings_do_reach_the_service_when_allowed(secret):
    port = int(secret.origin.rsplit(":", 1)[1])
    fetcher = _fetcher(allow_private_networks=True, respect_robots=False)
    reachable = [u for u in spellings(port) if "[::ffff:" not in u and "mixed" not in u]
    for url in reachable:
        assert fetcher.fetch(url).ok, url
    assert len(secret.requests) == len(reachable)


def test_redirects_inwards_are_refused_at_the_hop(secret):
    port = int(secret.origin.rsplit(":", 1)[1])
    # the front server's own address is exempted; 127.0.0.1 spelled otherwise is that address
    front_address = ("http://2130706433/x.jpg", "http://localhost/x.jpg")
    inward = [u for u in OTHER_INWARD_URLS if u not in front_address]
    targets = [secret.origin + "/x.jpg", *spellings(port)[1:], *inward]
    answers = {f"/r{i}": redirect(target) for i, target in enumerate(targets)}
    with serving(answers) as front:
        fetcher = _fetcher(allowed_addresses=frozenset({"127.0.0.1"}))
        for path in answers:
            result = fetcher.fetch(front.origin + path)
            assert result.error_code == "ssrf_blocked", (path, result)
        assert secret.requests == []
        opened = _fetcher(allow_private_networks=True, respect_robots=False)
        assert opened.fetch(front.origin + "/r0").final_url == secret.origin + "/x.jpg"
    assert secret.requests == ["/x.jpg"]


def test_the_crawler_obeys_the_guard(secret, tmp_path):
    page = (
        f'<img src="/cat.jpg" alt="a grey cat on a mat"><a href="{secret.origin}/admin">a</a>'
        '<a href="/away">b</a><a href="http://metadata.test/latest/">c</a>'
    )
    answers = {"/": html(page), "/away": redirect(secret.origin + "/admin")}
    with serving(answers) as front:
        crawl = CrawlOptions(
            requests_per_second=1000,
            same_host=False,
            allowed_addresses=frozenset({"127.0.0.1"}),
            resolver=STUB,
        )
        summary = scrape(
            Workspace(tmp_path / "w"),
            [front.origin + "/"],
            ScrapeOptions(crawl=crawl, progress=False),
        )
        refused = scrape(
            Workspace(tmp_path / "v"), [secret.origin + "/"], ScrapeOptions(progress=False)
        )
    assert summary.pairs == 1 and summary.counts["ssrf_blocked"] == 3
    assert refused.pairs == 0 and refused.counts["ssrf_blocked"] == 1
    assert secret.requests == []


def test_the_download_command_refuses_inward_urls(secret, tmp_path):
    port = int(secret.origin.rsplit(":", 1)[1])
    urls = [u for u in spellings(port) + OTHER_INWARD_URLS if ".test" not in u]
    path = tmp_path / "urls.parquet"
    pq.write_table(pa.table({"url": urls, "caption": ["a red square"] * len(urls)}), path)
    command = [
        sys.executable,
        "-m",
        "wit_pipeline",
        "--workdir",
        str(tmp_path / "w"),
        "download",
        str(path),
        "--timeout",
        "2",
        "--processes",
        "1",
        "-q",
    ]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    assert subprocess.run(command, env=env, timeout=300).returncode == 0
    rows = pq.read_table(tmp_path / "w" / "raw" / "00000.parquet").to_pylist()
    assert [(r["url"], r["error_code"]) for r in rows] == [(u, "ssrf_blocked") for u in urls]
    assert secret.requests == []
