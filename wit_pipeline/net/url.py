"""URLs as a browser sends them: percent-encoded and IDNA-encoded by the WHATWG URL rules.

Pages and URL lists hold URLs as people write them (`images/café au lait.jpg`, a host in
Unicode, a backslash for a slash); a browser encodes them before asking the server, and so
must we, or such an image is never requested. Only http(s) URLs are rewritten; a URL that
cannot be encoded (a bad host or port, a lone surrogate) raises InvalidURL, a permanent
failure rather than a transient one.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import unquote_to_bytes, urldefrag, urljoin

import idna

DEFAULT_PORTS = {"http": "80", "https": "443"}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
_C0_CONTROL_OR_SPACE = "".join(chr(c) for c in range(0x21))
_QUERY_SET = frozenset(' "#<>')
_SPECIAL_QUERY_SET = _QUERY_SET | {"'"}
_PATH_SET = _QUERY_SET | frozenset("?^`{}")
_USERINFO_SET = _PATH_SET | frozenset("/:;=@[\\]|")
_FORBIDDEN_HOST = frozenset(" #%/:<>?@[\\]^|\x7f") | frozenset(chr(c) for c in range(0x20))


class InvalidURL(ValueError):
    """A URL no browser could request: no http(s) host, a bad port, an unencodable part."""


def _encode(text: str, unsafe: frozenset[str]) -> str:
    """Percent-encode C0 controls, non-ASCII and `unsafe` characters as UTF-8 (existing `%XX`
    escapes stay as they are, as in a browser)."""
    out = []
    for char in text:
        if char in unsafe or ord(char) < 0x20 or ord(char) > 0x7E:
            try:
                data = char.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InvalidURL(f"cannot encode {char!r} as UTF-8") from exc
            out.append("".join(f"%{byte:02X}" for byte in data))
        else:
            out.append(char)
    return "".join(out)


def _host(text: str) -> str:
    """The host as ASCII: IPv6 literals compressed, names lower-cased and IDNA-encoded (UTS 46,
    non-transitional, as browsers do)."""
    if not text:
        raise InvalidURL("no host")
    if text.startswith("["):
        if not text.endswith("]") or "%" in text:
            raise InvalidURL(f"bad IPv6 literal {text[:100]!r}")
        try:
            return f"[{ipaddress.IPv6Address(text[1:-1]).compressed}]"
        except ValueError as exc:
            raise InvalidURL(f"bad IPv6 literal {text[:100]!r}") from exc
    try:
        name = unquote_to_bytes(text).decode("utf-8")
    except UnicodeError as exc:
        raise InvalidURL(f"host {text[:100]!r} is not UTF-8") from exc
    if name.isascii():
        name = name.lower()
    else:
        try:
            mapped = idna.uts46_remap(name, std3_rules=False, transitional=False)
            name = ".".join(
                label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
                for label in mapped.split(".")
            )
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidURL(f"host {text[:100]!r} cannot be IDNA-encoded: {exc}") from exc
    bad = _FORBIDDEN_HOST.intersection(name)
    if bad or not name:
        raise InvalidURL(f"host {text[:100]!r} holds a forbidden character {min(bad or ' ')!r}")
    return name


def _port(text: str, scheme: str) -> str:
    if not text or text == DEFAULT_PORTS[scheme]:
        return ""
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        raise InvalidURL(f"bad port {text[:20]!r}")
    return f":{int(text)}"


def _split_authority(authority: str) -> tuple[str, str, str]:
    """(userinfo, host, port) of an authority; the host keeps IPv6 brackets."""
    userinfo, _, hostport = authority.rpartition("@")
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            raise InvalidURL(f"unclosed IPv6 literal in {authority[:100]!r}")
        host, after = hostport[: close + 1], hostport[close + 1 :]
        if after and not after.startswith(":"):
            raise InvalidURL(f"junk after the IPv6 literal in {authority[:100]!r}")
        return userinfo, host, after[1:]
    host, _, port = hostport.partition(":")
    return userinfo, host, port


def normalise_url(url: str) -> str:
    """`url` as a browser requests it (http and https URLs; any other URL comes back only
    stripped of tabs and newlines): host IDNA-encoded and lower-cased, default port dropped,
    backslashes in the path read as slashes, path and query percent-encoded as UTF-8, the
    fragment dropped. InvalidURL when it cannot be encoded."""
    text = url.strip(_C0_CONTROL_OR_SPACE).translate(_TAB_OR_NEWLINE)
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME.fullmatch(scheme):
        raise InvalidURL(f"no scheme in {text[:200]!r}")
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return text
    rest = urldefrag(rest)[0].lstrip("/\\")
    end = min((i for i in (rest.find(c) for c in "/\\?") if i >= 0), default=len(rest))
    userinfo, host, port = _split_authority(rest[:end])
    path, question, query = rest[end:].partition("?")
    path = _encode(path.replace("\\", "/"), _PATH_SET) or "/"
    query = question + _encode(query, _SPECIAL_QUERY_SET)
    if userinfo:
        user, colon, password = userinfo.partition(":")
        userinfo = _encode(user, _USERINFO_SET) + colon + _encode(password, _USERINFO_SET) + "@"
    return f"{scheme}://{userinfo}{_host(host)}{_port(port, scheme)}{path}{query}"


def join_url(base: str, reference: str) -> str:
    """Resolve `reference` (an href or src as written in a page) against `base` as a browser
    does: tabs and newlines removed, backslashes before the query read as slashes (for http(s)
    pages), the result normalised; InvalidURL when it cannot be."""
    reference = reference.strip(_C0_CONTROL_OR_SPACE).translate(_TAB_OR_NEWLINE)
    if base.lower().startswith(("http:", "https:")):
        head, question, tail = reference.partition("?")
        reference = head.replace("\\", "/") + question + tail
    try:
        joined = urljoin(base, reference)
    except ValueError as exc:
        raise InvalidURL(f"cannot resolve {reference[:200]!r}: {exc}") from exc
    return normalise_url(joined)
