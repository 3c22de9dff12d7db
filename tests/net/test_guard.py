"""The SSRF guard refuses every non-public address, including through names."""

import pytest

from wit_pipeline.net.guard import BlockedAddress, host_key, is_public, resolve


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
        "::127.0.0.2",  # IPv4-compatible
        "::a9fe:a9fe",  # IPv4-compatible 169.254.169.254
        "64:ff9b::127.0.0.2",  # NAT64, well-known prefix
        "64:ff9b::10.0.0.1",
        "64:ff9b:1::808:808",  # NAT64 for local use: refused whole
        "::ffff:0:127.0.0.2",  # IPv4-translated
        "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
    ],
)
def test_non_public_addresses(address):
    assert not is_public(address)


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "64:ff9b::8.8.8.8", "::ffff:8.8.8.8"],
)
def test_public_addresses(address):
    assert is_public(address)


def test_one_host_has_one_key_however_it_is_written():
    assert {host_key(a) for a in ("127.0.0.1", "::ffff:127.0.0.1", "::ffff:0:127.0.0.1")} == {
        "127.0.0.1"
    }
    assert host_key("::1") == "::1" and host_key("2606:4700::1111") == "2606:4700::1111"


def test_names_are_resolved_before_the_check():
    with pytest.raises(BlockedAddress, match="localhost resolves to non-public address"):
        resolve("localhost", 80, allow_private=False)
    assert resolve("127.0.0.1", 80, allow_private=True) == "127.0.0.1"
