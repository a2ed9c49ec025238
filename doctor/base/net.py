"""Addresses: THE loopback rule, URL parts, "all interfaces". Pure functions shared by the checks, the
service and the status command, so "is this address reachable only from this machine?" has one answer."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
ALL_INTERFACES = ("", "0.0.0.0", "::", "[::]", "*")


def bare_host(host: str) -> str:
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.lower()


def is_loopback(host: str) -> bool:
    """Reachable only from this machine: localhost, 127.0.0.0/8, ::1, and 127.x written as an IPv4-mapped
    IPv6 address (::ffff:127.0.0.1, as the kernel reports a dual-stack socket). "All interfaces" is not."""
    host = bare_host(host)
    if host in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def binds_everywhere(host: str) -> bool:
    return bare_host(host) in ("", "0.0.0.0", "::", "*")


def split_url(url: str) -> tuple[str, str, int | None, str] | None:
    """(scheme, host, port, path) of a URL, or None when it cannot be read. Port None when absent/invalid."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            return None
    except ValueError:
        return None
    if not parts.scheme or not host:
        return None
    if port is None:
        port = 443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None
    return parts.scheme.lower(), host.lower(), port, parts.path


def without_userinfo(url: str) -> str:
    """`url` as it may be shown: scheme://host[:port]/path, never its `user:password@` (a proxy URL's
    userinfo is a credential) nor its query or fragment. A URL that cannot be read keeps its scheme and
    what follows its authority's last `@`, cut the same way."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        scheme, netloc, path = parts.scheme, parts.netloc, parts.path
    except ValueError:
        scheme, _, rest = url.partition("://") if "://" in url else ("", "", url)
        cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        netloc, path = rest[:cut], rest[cut:].split("?", 1)[0].split("#", 1)[0]
    if not netloc:  # no `//`: `user:password@host/path` reads as scheme `user`; cut to the last `@` all the same
        head, slash, tail = path.partition("/")
        path = head.rpartition("@")[2] + slash + tail
        return f"{scheme}:{path}" if scheme else path
    return f"{scheme}://{netloc.rpartition('@')[2]}{path}"
