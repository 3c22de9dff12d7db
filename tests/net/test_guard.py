"""The SSRF guard refuses every non-public address, including through names."""

import pytest

from wit_pipeline.net.guard import BlockedAddress, is_public, resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.5.5.5",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses(address):
    assert is_public(address)


def test_names_are_resolved_before_the_check():
    with pytest.raises(BlockedAddress, match="localhost resolves to non-public address"):
        resolve("localhost", 80, allow_private=False)
    assert resolve("127.0.0.1", 80, allow_private=True) == "127.0.0.1"
