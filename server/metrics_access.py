"""Who may read /metrics: loopback by default, else the networks in METRICS_ALLOW, or whoever
shows the bearer token METRICS_TOKEN.

The client address is `request.remote_addr`, which ProxyFix rewrites from X-Forwarded-For when
PROXY_COUNT > 0. Behind a proxy with PROXY_COUNT=0 every request comes from the proxy's address,
so a proxy on the same host would make /metrics public: set PROXY_COUNT (see README).
"""

from __future__ import annotations

import hmac
import ipaddress

from .config import UnsafeConfiguration

DEFAULT_ALLOW = "127.0.0.0/8,::1/128"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str | None) -> tuple[Network, ...]:
    """Comma-separated CIDRs (a bare address is a /32 or /128); a typo refuses to start rather
    than silently opening or closing the endpoint."""
    networks = []
    for part in (DEFAULT_ALLOW if value is None else value).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part))  # strict: 10.0.0.5/8 is a typo
        except ValueError as exc:
            raise UnsafeConfiguration(
                f"METRICS_ALLOW: {part[:60]!r} is no network: {exc}"
            ) from None
    return tuple(networks)


class MetricsAccess:
    def __init__(self, allow: str | None, token: str | None):
        self.networks = parse_networks(allow)
        self._token = (token or "").encode()

    def permits(self, remote_addr: str | None, authorization: str | None) -> bool:
        return self._has_token(authorization) or self._from_allowed(remote_addr)

    def _has_token(self, authorization: str | None) -> bool:
        if not self._token or not authorization:
            return False
        scheme, _, given = authorization.partition(" ")
        # constant time: the comparison must not tell how much of a guess was right
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), self._token
        )

    def _from_allowed(self, remote_addr: str | None) -> bool:
        try:
            address = ipaddress.ip_address(remote_addr or "")
        except ValueError:
            return False  # no address, or a forwarded header's junk
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 from a dual-stack socket
        return any(address in network for network in self.networks)
