"""img2dataset's error messages get the pipeline's error codes."""

import pytest

from wit_pipeline.stages.adopt.codes import error_code


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (None, None),
        ("HTTP Error 404: Not Found", "http_404"),
        ("HTTP Error 503: Service Unavailable", "http_503"),
        ("timed out", "timeout"),
        ("<urlopen error timed out>", "timeout"),
        ("Use of image disallowed by X-Robots-Tag directive", "x_robots_tag"),
        ("image too small", "too_small"),
        ("Image decoding error", "decode_error"),
        ("<urlopen error [Errno 111] Connection refused>", "connection_error"),
        ("<urlopen error [Errno -2] Name or service not known>", "dns_error"),
        ("something nobody expected", "other"),
    ],
)
def test_error_code(message, code):
    assert error_code(message) == code
