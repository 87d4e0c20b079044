"""The webhook target guard on a fake resolver: literal addresses are judged without a lookup,
names after one (every address counts), an allowed host is not judged at all, and a name
that does not resolve at registration is left to the deliveries."""

from __future__ import annotations

import asyncio
import re
from ipaddress import ip_address

import pytest

from api.app import create_app
from api.settings import Settings
from domain.errors import InvalidInput
from domain.network import NetworkPolicy
from services.targets import TargetGuard, TargetRefused
from tests.fakes import FakeResolver


def guard(*allow: str, **records: list[list[str]]) -> TargetGuard:
    return TargetGuard(NetworkPolicy.parse(allow), FakeResolver(records))


async def test_a_literal_address_is_judged_without_a_lookup():
    targets = guard()
    with pytest.raises(TargetRefused) as refused:
        await targets.addresses("0x7f000001", 80)
    assert (refused.value.refusal.range, refused.value.resolved) == ("127.0.0.0/8", False)
    assert await targets.addresses("93.184.216.34", 80) == [ip_address("93.184.216.34")]
    assert targets.resolver.asked == []  # type: ignore[attr-defined]


async def test_a_name_is_refused_if_any_of_its_addresses_is_inside():
    targets = guard(**{"mixed.example.com": [["93.184.216.34", "::ffff:10.0.0.1"]]})
    with pytest.raises(TargetRefused) as refused:
        await targets.addresses("Mixed.Example.com.", 443)
    assert (refused.value.refusal.range, refused.value.resolved) == ("10.0.0.0/8", True)
    assert targets.resolver.asked == ["mixed.example.com"]  # type: ignore[attr-defined]


async def test_an_allowed_host_may_resolve_anywhere():
    targets = guard("crm.corp.internal", **{"crm.corp.internal": [["10.1.1.1", "fe80::1%eth0"]]})
    assert [str(a) for a in await targets.addresses("crm.corp.internal", 443)] == [
        "10.1.1.1", "fe80::1",
    ]  # fmt: skip


async def test_registration_refuses_with_bad_user_input_on_url():
    targets = guard(**{"rebind.example.com": [["169.254.169.254"]]})
    with pytest.raises(InvalidInput) as refused:
        await targets.check_url("https://rebind.example.com/in")
    assert refused.value.field == "url"
    assert "link-local, cloud metadata (169.254.0.0/16)" in refused.value.message
    assert "169.254.169.254" not in refused.value.message


async def test_registration_accepts_a_name_that_does_not_resolve_or_answers_too_late(
    monkeypatch: pytest.MonkeyPatch,
):
    targets = guard()
    await targets.check_url("https://not-yet.example.com/in")  # NXDOMAIN: accepted

    class Slow(FakeResolver):
        async def resolve(self, host: str, port: int) -> list[str]:
            await asyncio.sleep(10)
            return ["10.0.0.1"]

    monkeypatch.setattr("services.targets.REGISTRATION_LOOKUP_SECONDS", 0.01)
    await TargetGuard(NetworkPolicy(), Slow()).check_url("https://slow.example.com/in")


def test_the_allow_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SEGMENTO_WEBHOOK_ALLOW", " 10.20.0.0/16, crm.corp.internal ,,")
    assert Settings.from_env().webhook_allow == ("10.20.0.0/16", "crm.corp.internal")
    monkeypatch.delenv("SEGMENTO_WEBHOOK_ALLOW")
    assert Settings.from_env().webhook_allow == ()


def test_a_bad_allow_entry_stops_the_app_from_starting():
    with pytest.raises(ValueError, match=re.escape("SEGMENTO_WEBHOOK_ALLOW: '10.0.0.0/40'")):
        create_app(
            Settings(database_url="sqlite+aiosqlite:///:memory:", webhook_allow=("10.0.0.0/40",))
        )
