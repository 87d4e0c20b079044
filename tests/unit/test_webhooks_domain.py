"""Webhooks in the domain: URL and event-type validation, the body, signing, backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.events import Event, EventType
from domain.webhooks import (
    AUTOMATION,
    DeliveryAttempt,
    RetryPolicy,
    allowed_event_types,
    clean_event_types,
    clean_secret,
    clean_url,
    event_envelope,
    headers,
    next_delay,
    sign,
    spread_for,
    verify,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
README = Path(__file__).resolve().parents[2] / "frontend-contract" / "README.md"


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex():
    body = '{"id":"7","type":"SCORE_CHANGED"}'
    expected = hmac.new(b"s3cret-s3cret-16", b'1795424400.{"id":"7","type":"SCORE_CHANGED"}',
                        hashlib.sha256).hexdigest()  # fmt: skip
    assert sign("s3cret-s3cret-16", 1795424400, body) == "sha256=" + expected
    assert sign("s3cret-s3cret-16", 1795424400, body.encode()) == "sha256=" + expected


def test_a_known_vector_computed_with_openssl():
    # echo -n '1795424400.{"id":"1"}' | openssl dgst -sha256 -hmac key
    expected = "274837b494a1377abce8a256f2be50be1cf8581764843d745bbfcc9e06ac774c"
    assert sign("key", 1795424400, '{"id":"1"}') == f"sha256={expected}"


def test_headers_carry_timestamp_signature_event_and_delivery():
    sent = headers("secret-secret-16", 42, "TIER_CHANGED", b"{}", 1795424400)
    assert sent["Content-Type"] == "application/json"
    assert sent["X-Segmento-Timestamp"] == "1795424400"
    assert sent["X-Segmento-Event"] == "TIER_CHANGED"
    assert sent["X-Segmento-Delivery"] == "42"
    assert verify("secret-secret-16", sent["X-Segmento-Timestamp"], b"{}",
                  sent["X-Segmento-Signature"])  # fmt: skip


def test_verify_refuses_an_old_timestamp_and_a_wrong_secret():
    signature = sign("secret-secret-16", 1000, b"{}")
    assert verify("secret-secret-16", 1000, b"{}", signature, now=1000 + 300)
    assert not verify("secret-secret-16", 1000, b"{}", signature, now=1000 + 301)
    assert not verify("another-secret-16", 1000, b"{}", signature)
    assert not verify("secret-secret-16", "not-a-number", b"{}", signature)


@given(
    secret=st.text(min_size=1, max_size=40),
    timestamp=st.integers(min_value=0, max_value=2**40),
    body=st.binary(max_size=300),
    data=st.data(),
)
def test_a_signature_verifies_and_any_flipped_byte_breaks_it(secret, timestamp, body, data):
    signature = sign(secret, timestamp, body)
    assert verify(secret, timestamp, body, signature)
    if body:
        at = data.draw(st.integers(0, len(body) - 1))
        bit = data.draw(st.integers(0, 7))
        flipped = bytearray(body)
        flipped[at] ^= 1 << bit
        assert not verify(secret, timestamp, bytes(flipped), signature)
    assert not verify(secret, timestamp + 1, body, signature)
    pos = data.draw(st.integers(len("sha256="), len(signature) - 1))
    other = "0" if signature[pos] != "0" else "1"
    assert not verify(secret, timestamp, body, signature[:pos] + other + signature[pos + 1 :])


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/segmento", "http://127.0.0.1:8080/in?x=1", "HTTPS://Example.com"],
)
def test_http_and_https_urls_with_a_host_are_accepted(url):
    assert clean_url(f"  {url} ") == url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/in", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("example.com/in", "http:// or https://"),
        ("https:///no-host", "no host"),
        ("http://exa mple.com", "spaces"),
        ("http://example.com:99999/", "not a valid URL"),
        ("", "required"),
        ("https://example.com/" + "a" * 2000, "2000 characters"),
    ],
)
def test_other_urls_are_bad_user_input_on_the_url_field(url, says):
    with pytest.raises(InvalidInput) as refused:
        clean_url(url)
    assert refused.value.code == "BAD_USER_INPUT"
    assert refused.value.field == "url"
    assert says in refused.value.message


def test_event_types_are_the_event_log_types_plus_automation_each_once():
    assert set(allowed_event_types()) == {t.value for t in EventType} | {AUTOMATION}
    assert clean_event_types(["score_changed", "AUTOMATION", "SCORE_CHANGED"]) == (
        "SCORE_CHANGED",
        "AUTOMATION",
    )


def test_an_unknown_event_type_names_its_position_and_the_allowed_ones():
    with pytest.raises(InvalidInput) as refused:
        clean_event_types(["SCORE_CHANGED", "SCORE_CHANGD"])
    assert refused.value.field == "eventTypes[1]"
    assert "TIER_CHANGED" in refused.value.message and "AUTOMATION" in refused.value.message
    with pytest.raises(InvalidInput) as empty:
        clean_event_types([])
    assert empty.value.field == "eventTypes"


def test_a_short_secret_is_refused():
    with pytest.raises(InvalidInput) as refused:
        clean_secret("short")
    assert refused.value.field == "secret"


def test_backoff_doubles_from_the_base_and_is_capped():
    assert [next_delay(n, 30, 3600) for n in range(1, 9)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600,
    ]  # fmt: skip
    assert next_delay(0, 30, 3600) == 0
    assert next_delay(10_000, 30, 3600) == 3600


def test_jitter_stretches_the_delay_by_at_most_its_fraction_deterministically():
    assert next_delay(3, 30, 3600, jitter=0.1, spread=0.5) == pytest.approx(120 * 1.05)
    assert next_delay(3, 30, 3600, jitter=0.1, spread=5.0) == pytest.approx(132)
    assert spread_for(7) == spread_for(7) and 0 <= spread_for(7) < 1


def test_the_retry_policy_gives_up_after_the_last_attempt():
    policy = RetryPolicy(max_attempts=3, base_seconds=10, jitter=0)
    assert policy.retry_at(1, NOW) == NOW + timedelta(seconds=10)
    assert policy.retry_at(2, NOW) == NOW + timedelta(seconds=20)
    assert policy.retry_at(3, NOW) is None


def test_an_attempt_succeeds_only_with_a_2xx():
    def attempt(code: int | None, error: str | None = None) -> DeliveryAttempt:
        return DeliveryAttempt(1, NOW, code, error, 5)

    assert attempt(200).succeeded and attempt(204).succeeded
    assert not attempt(301).succeeded and not attempt(503).succeeded
    assert not attempt(None, "ConnectError").succeeded
    assert attempt(503).describe() == "HTTP 503"
    assert attempt(None, "ConnectError: refused").describe() == "ConnectError: refused"


def test_the_body_carries_the_event_id_type_time_contact_and_camel_case_data():
    event = Event(
        EventType.SCORE_CHANGED, 12,
        {"old_score": 0, "new_score": 9, "delta": 9,
         "contact": {"email": "a@b.it", "lead_status": "COLD", "company_id": 4,
                     "tag_points": {"fiera_milano": 2}}},
        NOW, cursor=345,
    )  # fmt: skip
    body = event_envelope(event)
    assert body == {
        "id": "345",
        "type": "SCORE_CHANGED",
        "at": "2026-11-23T09:00:00+00:00",
        "contactId": "12",
        "data": {"oldScore": 0, "newScore": 9, "delta": 9,
                 "contact": {"email": "a@b.it", "leadStatus": "COLD", "companyId": "4",
                             "tagPoints": {"fiera_milano": 2}}},
    }  # fmt: skip
    assert json.loads(json.dumps(body)) == body


def readme_verifier() -> Callable[..., bool]:
    """The Python snippet of the contract's "Verifying the signature" section, run as is."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Verifying the signature") :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "no Python snippet under 'Verifying the signature'"
    namespace: dict[str, Any] = {}
    exec(found.group(1), namespace)
    return namespace["verify_segmento"]  # type: ignore[no-any-return]


def test_the_documented_snippet_accepts_our_requests_and_refuses_forged_or_old_ones():
    check = readme_verifier()
    body = '{"id":"4","type":"SCORE_CHANGED","data":{"city":"Forlì"}}'.encode()
    now = int(time.time())
    sent = {
        k.lower(): v for k, v in headers("secret-secret-16", 9, "SCORE_CHANGED", body, now).items()
    }
    assert check("secret-secret-16", sent, body)
    assert not check("another-secret-16", sent, body)
    assert not check("secret-secret-16", sent, body.replace(b"4", b"5"))
    old = {k.lower(): v for k, v in headers("secret-secret-16", 9, "X", body, now - 301).items()}
    assert not check("secret-secret-16", old, body)
