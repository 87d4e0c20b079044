"""Which network addresses a webhook may reach (SSRF): never the server's own network —
loopback, private, link-local (cloud metadata), CGNAT, multicast, reserved — unless an
operator allows a CIDR or a host by name.

Hosts are read the way resolvers read them: `2130706433`, `0x7f000001`, `0177.1` and
`127.1` are all 127.0.0.1, and an IPv6 address that embeds an IPv4 one (mapped, NAT64,
6to4) is judged by the IPv4 address it reaches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network
ALLOW_SETTING = "SEGMENTO_WEBHOOK_ALLOW"

_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local, cloud metadata"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved, broadcast"),
)
_V6: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local NAT64"),
    ("::/8", "reserved, IPv4-compatible"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignments, Teredo"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_TABLE: tuple[tuple[Network, str], ...] = tuple(
    (ip_network(cidr), label) for cidr, label in _V4 + _V6
)
_NAT64 = IPv6Network("64:ff9b::/96")
# Names that never leave the machine or the site (RFC 6761, 6762, 8375; ICANN's .internal).
_LOCAL_NAMES = ("localhost", "local", "internal", "home.arpa", "localdomain")
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_V4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


@dataclass(frozen=True)
class Refusal:
    """Why a target is refused: the range (or name rule) and what it is."""

    range: str
    label: str

    def describe(self) -> str:
        return f"{self.label} ({self.range})"


def normalise_host(host: str) -> str:
    """Lower case, brackets and a zone id off, full-width forms folded, no trailing dot."""
    value = unicodedata.normalize("NFKC", host).translate(_DOTS).strip().lower()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    value = value.split("%", 1)[0] if ":" in value else value
    return value.rstrip(".") if value != "." else value


def parse_ip(host: str) -> Address | None:
    """The address a host names literally, in any form `inet_aton` or IPv6 accepts; None
    for a name."""
    value = normalise_host(host)
    if ":" in value:
        try:
            return IPv6Address(value)
        except ValueError:
            return None
    return _inet_aton(value)


def _inet_aton(value: str) -> IPv4Address | None:
    """`a`, `a.b`, `a.b.c` or `a.b.c.d`, each part decimal, octal (0…) or hex (0x…); the last
    part fills the bytes left."""
    parts = value.split(".")
    if not 1 <= len(parts) <= 4 or not all(_V4_PART.fullmatch(p) for p in parts):
        return None
    numbers = [_number(p) for p in parts]
    last_bits = 8 * (5 - len(parts))
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 1 << last_bits:
        return None
    total = 0
    for n in numbers[:-1]:
        total = total << 8 | n
    return IPv4Address(total << last_bits | numbers[-1])


def _number(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part[0] == "0":
        return int(part, 8)
    return int(part)


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one leads to: mapped (::ffff:a.b.c.d), NAT64
    (64:ff9b::a.b.c.d) or 6to4 (2002:aabb:ccdd::)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def forbidden_range(address: Address) -> Refusal | None:
    """The forbidden range an address is in (or leads to), None for a public address."""
    if isinstance(address, IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return forbidden_range(inner)
    for network, label in _TABLE:
        if address.version == network.version and address in network:
            return Refusal(str(network), label)
    if not address.is_global:  # whatever the table misses, Python's registry knows
        return Refusal("IANA special-purpose registry", "not globally routable")
    return None


def local_name(host: str) -> Refusal | None:
    """A name that only means something inside the site (`localhost`, `*.internal`…)."""
    value = normalise_host(host)
    for suffix in _LOCAL_NAMES:
        if value == suffix or value.endswith("." + suffix):
            return Refusal(f"*.{suffix}" if value != suffix else suffix, "local name")
    return None


@dataclass(frozen=True)
class NetworkPolicy:
    """Forbidden ranges and local names are refused unless allowed here by the operator."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, entries: Iterable[str]) -> NetworkPolicy:
        """Comma-separated setting items: a CIDR (`10.20.0.0/16`), an address, or a host
        name (`crm.corp.internal`). Raises ValueError on anything else."""
        networks: list[Network] = []
        hosts: set[str] = set()
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            try:
                networks.append(ip_network(normalise_host(entry), strict=False))
                continue
            except ValueError:
                pass
            literal = parse_ip(entry)
            if literal is not None:
                networks.append(ip_network(literal))
            elif re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", normalise_host(entry)):
                hosts.add(normalise_host(entry))
            else:
                raise ValueError(f"{ALLOW_SETTING}: {entry!r} is neither a CIDR nor a host")
        return cls(tuple(networks), frozenset(hosts))

    def host_allowed(self, host: str) -> bool:
        return normalise_host(host) in self.hosts

    def refuse_address(self, address: Address) -> Refusal | None:
        candidates: list[Address] = [address]
        if isinstance(address, IPv6Address) and (inner := embedded_ipv4(address)):
            candidates.append(inner)
        if any(a.version == n.version and a in n for a in candidates for n in self.networks):
            return None
        return forbidden_range(address)

    def refuse_host(self, host: str) -> Refusal | None:
        """Before any lookup: a literal address in a forbidden range, or a local name."""
        if self.host_allowed(host):
            return None
        literal = parse_ip(host)
        return local_name(host) if literal is None else self.refuse_address(literal)

    def refuse_resolved(self, host: str, addresses: Iterable[Address]) -> Refusal | None:
        """After the lookup: refused if any address the host resolves to is forbidden."""
        if self.host_allowed(host):
            return None
        for address in addresses:
            refusal = self.refuse_address(address)
            if refusal is not None:
                return refusal
        return None


def to_address(value: str) -> Address:
    """An address as a resolver gives it (an IPv6 one may carry a `%zone`)."""
    return ip_address(value.split("%", 1)[0])


def refusal_message(host: str, refusal: Refusal, *, resolved: bool) -> str:
    where = "resolves to an address in" if resolved else "is in"
    return (
        f"url host {host!r} {where} a forbidden range: {refusal.describe()}; webhooks may "
        f"not reach the server's own network. An operator can allow a CIDR or host with "
        f"{ALLOW_SETTING} (comma-separated)"
    )
