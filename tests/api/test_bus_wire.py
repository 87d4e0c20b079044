"""The bus's wire format: an event published by one process is the same event in another."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from api.bus import event_from_wire, event_to_wire
from domain.events import Event, EventType


def test_an_event_crosses_the_wire_as_json_and_comes_back_the_same():
    at = datetime(2026, 11, 23, 9, 30, 15, 250000, tzinfo=UTC)
    event = Event(EventType.SCORE_CHANGED, 7, {"delta": 5, "contact": {"email": "a@b.it"}}, at, 42)

    text = orjson.dumps(event_to_wire(event)).decode()
    back = event_from_wire(orjson.loads(text))

    assert (back.type, back.contact_id, back.payload, back.at, back.cursor) == (
        EventType.SCORE_CHANGED, 7, {"delta": 5, "contact": {"email": "a@b.it"}}, at, 42,
    )  # fmt: skip
