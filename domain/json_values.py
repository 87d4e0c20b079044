"""Free-form JSON the API stores (custom attributes, interaction properties): what it may
hold, and how stored values that break those rules are read back.

Integers must fit in a signed 64-bit integer: the JSON encoder of the responses (orjson),
Postgres' `bigint` and most clients' JSON parsers (JavaScript's numbers above 2^53 lose
digits) stop there. Floats must be finite: JSON has no NaN or Infinity, and Postgres'
`json` refuses them. Rows stored before these checks may hold larger integers; they are read
back as the nearest float (what orjson's reader does with them), so such a row is readable
again, with the digits past a float's precision lost (beyond a float's range: null).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from domain.errors import InvalidInput

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Integers orjson reads (and writes) as integers: signed and unsigned 64-bit.
_READABLE_INT_MIN, _READABLE_INT_MAX = INT64_MIN, 2**64 - 1
MAX_JSON_DEPTH = 16


def check_json_value(value: Any, name: str) -> None:
    """Refuse what cannot be stored and read back as given: integers past 64 bits, NaN and
    infinities, nesting deeper than MAX_JSON_DEPTH. The error names the input field."""
    pending: list[tuple[Any, str, int]] = [(value, name, 0)]
    while pending:
        item, where, depth = pending.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if not INT64_MIN <= item <= INT64_MAX:
                raise InvalidInput(
                    f"{where} is an integer outside the signed 64-bit range "
                    f"({INT64_MIN}..{INT64_MAX}); send it as a string",
                    field=name,
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInput(f"{where} must be a finite number", field=name)
        elif isinstance(item, Mapping | list | tuple):
            if depth >= MAX_JSON_DEPTH:
                raise InvalidInput(f"{name} nests deeper than {MAX_JSON_DEPTH} levels", field=name)
            children = item.items() if isinstance(item, Mapping) else enumerate(item)
            pending.extend((child, f"{where}.{key}", depth + 1) for key, child in children)
        else:
            raise InvalidInput(f"{where} is not a JSON value", field=name)


def _readable_int(text: str) -> int | float:
    if len(text) > 21:  # past 64 bits for sure, and maybe past int()'s 4,300 digits
        return float(text)
    number = int(text)
    return number if _READABLE_INT_MIN <= number <= _READABLE_INT_MAX else float(number)


def read_json(text: str | bytes) -> Any:
    """JSON text as stored, decoded so that it can always be encoded again: integers past
    64 bits become floats, as orjson's reader makes them (the fast read paths use it);
    past a float's range they become infinity, which responses show as null."""
    return json.loads(text, parse_int=_readable_int)
