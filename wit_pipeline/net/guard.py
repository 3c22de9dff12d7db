"""Refuse requests to loopback, private, link-local and cloud metadata addresses (SSRF).

A scraped URL list or a crawled page is attacker-controlled input: without this guard, a URL
pointing at 169.254.169.254 or an internal service would be fetched. Host names are resolved
here and every address is checked; IP literals in any spelling the C library accepts
(`2130706433`, `0177.0.0.1`, `0x7f.1`, `[::ffff:127.0.0.1]`) are read as the address they name,
and IPv6 forms that carry an IPv4 address (mapped, translated, compatible, NAT64, 6to4) are
judged by that address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254", "100.100.100.200"})

Resolver = Callable[[str, int], list[str]]
"""A name lookup: (host, port) -> addresses; raises socket.gaierror for an unknown name."""


class BlockedAddress(Exception):
    """The host resolves to an address that the guard refuses."""


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(address.split("%", 1)[0])


EMBEDDING_NETWORKS = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT, RFC 2765)
        "::/96",  # IPv4-compatible (deprecated, RFC 4291)
        "64:ff9b::/96",  # NAT64 well-known prefix (RFC 6052)
    )
)
"""IPv6 networks whose last 32 bits are an IPv4 address that a host or gateway reaches."""
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
"""NAT64 for local use (RFC 8215): the IPv4 address sits anywhere by prefix length, and the
network is never public, so it is refused whole."""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, translated, compatible, NAT64 or
    6to4), or None."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.is_loopback or ip.is_unspecified:
        return None
    if any(ip in network for network in EMBEDDING_NETWORKS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    """Whether an IP address is a public, routable unicast address (not metadata either)."""
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in LOCAL_NAT64:
            return False
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            return is_public(str(embedded))
    return ip.is_global and not ip.is_multicast and str(ip) not in METADATA_ADDRESSES


def host_key(address: str) -> str:
    """One name per host for per-host limits: the address itself, IPv4 for an IPv6 form
    that carries one, so `127.1`, `2130706433` and `[::ffff:127.0.0.1]` are one host."""
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address):
        ip = embedded_ipv4(ip) or ip
    return str(ip)


def literal_address(host: str) -> str | None:
    """The address a host spells as an IP literal (any inet_aton form, or IPv6), else None."""
    try:
        return str(_ip(host.strip("[]")))
    except ValueError:
        pass
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        return None


def system_resolver(host: str, port: int) -> list[str]:
    """The system's answer for `host` (getaddrinfo), every address of it."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


@dataclass(frozen=True)
class StaticResolver:
    """A local DNS stub, like curl's --resolve: fixed answers for some names; other names go to
    `fallback`, or fail as unknown when there is none (tests resolve without /etc/hosts)."""

    answers: tuple[tuple[str, tuple[str, ...]], ...]
    fallback: Resolver | None = None

    @classmethod
    def of(cls, answers: dict[str, Iterable[str]], fallback: Resolver | None = None):
        """A stub answering `answers` (host name -> addresses)."""
        return cls(tuple((k.lower(), tuple(v)) for k, v in answers.items()), fallback)

    def __call__(self, host: str, port: int) -> list[str]:
        for name, addresses in self.answers:
            if name == host.lower():
                return list(addresses)
        if self.fallback is None:
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: not in the static resolver")
        return self.fallback(host, port)


def resolve(
    host: str,
    port: int,
    allow_private: bool,
    resolver: Resolver | None = None,
    allowed: Iterable[str] = (),
) -> str:
    """Resolve `host` to the address to connect to; BlockedAddress if any is non-public.

    Every address is checked (a name with one public and one private address is refused), and
    the caller connects to the returned address, so DNS cannot change the answer in between.
    `allowed` lists addresses let through although private (an intranet image host).
    """
    literal = literal_address(host)
    addresses = [literal] if literal else (resolver or system_resolver)(host, port)
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host}: no address")
    if not allow_private:
        exempt = {str(_ip(a)) for a in allowed}
        blocked = [a for a in addresses if not is_public(a) and str(_ip(a)) not in exempt]
        if blocked:
            raise BlockedAddress(f"{host} resolves to non-public address {blocked[0]}")
    return addresses[0]
