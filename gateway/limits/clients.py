"""Who is calling: the client's address, as the network says, not as the client claims.

Behind a load balancer every connection comes from the balancer, so the client's own
address is in X-Forwarded-For; but anyone can send that header. It is read only when the
connection comes from one of STORECHAT_TRUSTED_PROXIES (by default loopback: what reaches
a gateway bound to 127.0.0.1 is a reverse proxy on the same host), and then from the
right, across all of the request's X-Forwarded-For lines (a proxy may add its own line
after the client's): the last address that is not itself a trusted proxy is the client
(the ones before it are what the client wrote).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence

from aiohttp import web

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK = "127.0.0.0/8, ::1"
_untrusted_warned = False


def parse_networks(raw: str) -> tuple[Network, ...]:
    """'10.0.0.0/8, 127.0.0.1' → networks; a bad entry raises ValueError naming it."""
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network") from None
    return tuple(networks)


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str:
    """The client's address: the peer's, or from X-Forwarded-For when the peer is a trusted proxy."""
    peer = peer or "unknown"
    if not forwarded_for or not _trusted(peer, proxies):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _trusted(hop, proxies):
            return hop
    return peer


def request_address(request: web.BaseRequest, proxies: Sequence[Network]) -> str:
    """The client's address of an HTTP request: every X-Forwarded-For line, read as one list.
    Warns once per process when the header comes from a peer that is not trusted."""
    global _untrusted_warned
    forwarded_for = ",".join(request.headers.getall("X-Forwarded-For", []))
    if forwarded_for and not _untrusted_warned and not _trusted(request.remote or "", proxies):
        _untrusted_warned = True
        log.warning("X-Forwarded-For from %s ignored: not one of STORECHAT_TRUSTED_PROXIES "
                    "(set it to your load balancers' addresses if this is one)", request.remote)
    return client_address(request.remote, forwarded_for, proxies)


def rate_client(address: str) -> str:
    """What an address's rules count: the address itself, or its /64 for IPv6 (one
    subscriber's line gets a whole /64, so counting single IPv6 addresses counts nothing)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
