"""Which addresses a webhook may reach: every spelling of an inside address is refused, public
ones pass, and an operator's allow-list lifts the refusal for what it names only."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.network import (
    ALLOW_SETTING,
    NetworkPolicy,
    embedded_ipv4,
    forbidden_range,
    local_name,
    normalise_host,
    parse_ip,
    refusal_message,
    to_address,
)

DEFAULT = NetworkPolicy()
# The attacks, and the range each one lands in.
ATTACKS = [
    ("169.254.169.254", "169.254.0.0/16"),
    ("10.0.0.1", "10.0.0.0/8"),
    ("172.16.0.1", "172.16.0.0/12"),
    ("192.168.1.1", "192.168.0.0/16"),
    ("127.0.0.1", "127.0.0.0/8"),
    ("localhost", "localhost"),
    ("[::1]", "::1/128"),
    ("2130706433", "127.0.0.0/8"),
    ("0x7f000001", "127.0.0.0/8"),
    ("[::ffff:169.254.169.254]", "169.254.0.0/16"),
    ("metadata.google.internal", "*.internal"),
]
OTHER_INSIDE = [
    ("0177.0.0.1", "127.0.0.0/8"),
    ("127.1", "127.0.0.0/8"),
    ("0x7f.1", "127.0.0.0/8"),
    ("017700000001", "127.0.0.0/8"),
    ("0", "0.0.0.0/8"),
    ("0.0.0.0", "0.0.0.0/8"),
    ("100.64.0.1", "100.64.0.0/10"),
    ("224.0.0.1", "224.0.0.0/4"),
    ("255.255.255.255", "240.0.0.0/4"),
    ("198.18.0.1", "198.18.0.0/15"),
    ("[::]", "::/128"),
    ("[::127.0.0.1]", "::/8"),
    ("[fe80::1%25eth0]", "fe80::/10"),
    ("[fd00::1]", "fc00::/7"),
    ("[ff02::1]", "ff00::/8"),
    ("[64:ff9b::a9fe:a9fe]", "169.254.0.0/16"),
    ("[64:ff9b:1::1]", "64:ff9b:1::/48"),
    ("[2002:c0a8:101::1]", "192.168.0.0/16"),
    ("[2001::1]", "2001::/23"),
    ("\uff11\uff12\uff17\uff0e0\u30020.1", "127.0.0.0/8"),  # full-width forms
    ("LocalHost.", "localhost"),
    ("printer.local", "*.local"),
    ("router.home.arpa", "*.home.arpa"),
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "[2606:4700:4700::1111]", "[64:ff9b::808:808]",
          "[2002:808:808::1]", "hooks.example.com", "1.1.1.1", "localhost.example.com"]  # fmt: skip


@pytest.mark.parametrize(("host", "cidr"), ATTACKS + OTHER_INSIDE)
def test_every_spelling_of_an_inside_address_is_refused_with_its_range(host, cidr):
    refusal = DEFAULT.refuse_host(host)
    assert refusal is not None and refusal.range == cidr


@pytest.mark.parametrize("host", PUBLIC)
def test_public_addresses_and_ordinary_names_pass(host):
    assert DEFAULT.refuse_host(host) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
     ("10.1", "10.0.0.1"), ("192.168.257", "192.168.1.1"), ("[::1]", "::1"),
     ("0x", "0.0.0.0")],
)  # fmt: skip
def test_numeric_hosts_are_read_as_inet_aton_reads_them(host, expected):
    assert str(parse_ip(host)) == expected


@pytest.mark.parametrize(
    "host", ["example.com", "08.0.0.1", "1.2.3.4.5", "256.1.1.1", "4294967296", "1e3", "0x1g",
             "-1", "+1", "1..1", "[::g]", "\u0661\u0662\u0667.0.0.1"],
)  # fmt: skip
def test_anything_else_is_a_name(host):
    assert parse_ip(host) is None


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_the_numeric_forms_agree_with_the_c_library(number):
    address = IPv4Address(number)
    dotted_octal = ".".join(f"0{int(b):o}" for b in str(address).split("."))
    for form in (str(number), hex(number), dotted_octal, str(address)):
        assert parse_ip(form) == address
        assert socket.inet_aton(form) == address.packed


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_an_ipv6_wrapping_an_ipv4_address_is_judged_by_it(number):
    inner = IPv4Address(number)
    for wrapped in (
        IPv6Address(f"::ffff:{inner}"),
        IPv6Address(int(IPv6Address("64:ff9b::")) | number),
        IPv6Address((0x2002 << 112) | (number << 80) | 1),
    ):
        assert embedded_ipv4(wrapped) == inner
        assert forbidden_range(wrapped) == forbidden_range(inner)
        assert DEFAULT.refuse_host(f"[{wrapped}]") == DEFAULT.refuse_host(str(inner))


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=8, max_value=32))
def test_an_allowed_network_lets_through_exactly_its_addresses(number, prefix):
    address = IPv4Address(number)
    network = ip_network(f"{address}/{prefix}", strict=False)
    policy = NetworkPolicy.parse([str(network)])
    assert policy.refuse_address(address) is None
    assert policy.refuse_host(f"[::ffff:{address}]") is None
    last = network.broadcast_address
    outside = last + 1 if int(last) < 2**32 - 1 else network.network_address - 1
    assert policy.refuse_address(outside) == DEFAULT.refuse_address(outside)


def test_the_allow_setting_takes_cidrs_addresses_and_host_names():
    policy = NetworkPolicy.parse(["10.20.0.0/16", " 192.168.1.5 ", "CRM.corp.internal.", "",
                                  "[::1]", "0x7f000001"])  # fmt: skip
    assert [str(n) for n in policy.networks] == ["10.20.0.0/16", "192.168.1.5/32", "::1/128",
                                                 "127.0.0.1/32"]  # fmt: skip
    assert policy.hosts == {"crm.corp.internal"}
    assert policy.refuse_host("10.20.3.4") is None and policy.refuse_host("10.21.0.1")
    assert policy.refuse_host("crm.corp.internal") is None
    assert policy.refuse_resolved("crm.corp.internal", [IPv4Address("10.9.9.9")]) is None
    assert policy.refuse_host("other.corp.internal") is not None


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host!", "http://x", "*.corp.example"])
def test_a_bad_allow_entry_is_refused_at_start(entry):
    with pytest.raises(ValueError, match=ALLOW_SETTING):
        NetworkPolicy.parse([entry])


def test_a_name_is_refused_when_any_of_its_addresses_is_inside():
    addresses = [to_address("93.184.216.34"), to_address("fe80::1%eth0")]
    refusal = DEFAULT.refuse_resolved("rebind.example.com", addresses)
    assert refusal is not None and refusal.range == "fe80::/10"
    assert DEFAULT.refuse_resolved("hooks.example.com", addresses[:1]) is None


def test_the_refusal_message_names_the_range_and_the_setting_not_the_address():
    refusal = DEFAULT.refuse_resolved("db.example.com", [to_address("10.1.2.3")])
    assert refusal is not None
    message = refusal_message("db.example.com", refusal, resolved=True)
    assert "private (10.0.0.0/8)" in message and ALLOW_SETTING in message
    assert "10.1.2.3" not in message


def test_host_names_are_compared_normalised():
    assert normalise_host("[FE80::1%eth0]") == "fe80::1"
    assert normalise_host("Metadata.Google.Internal.") == "metadata.google.internal"
    assert local_name("localhost.example.com") is None
