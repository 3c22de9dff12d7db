"""Refuse requests to loopback, private, link-local and cloud metadata addresses (SSRF).

A scraped URL list is attacker-controlled input: without this guard, a URL pointing at
169.254.169.254 or an internal service would be fetched by the downloader.
"""

from __future__ import annotations

import ipaddress
import socket

METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254", "100.100.100.200"})


class BlockedAddress(Exception):
    """The host resolves to an address that the guard refuses."""


def is_public(address: str) -> bool:
    """Whether an IP address is a public, routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or str(ip) in METADATA_ADDRESSES
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
    )


def resolve(host: str, port: int, allow_private: bool) -> str:
    """Resolve `host` to the address to connect to; BlockedAddress if any is non-public.

    Every address is checked (a name with one public and one private address is refused), and
    the caller connects to the returned address, so DNS cannot change the answer in between.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    if not allow_private:
        blocked = [a for a in addresses if not is_public(a)]
        if blocked:
            raise BlockedAddress(f"{host} resolves to non-public address {blocked[0]}")
    return addresses[0]
