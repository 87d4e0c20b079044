"""A GraphQL client over HTTP (the standard library's urllib, in a thread): the
`GraphQLClient` port of `services/ports.py`, used by `segmento demo --stream`."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


class HttpGraphQLClient:
    """POSTs operations to `url` with `key` as the bearer token."""

    def __init__(self, url: str, key: str, timeout: float = 30.0) -> None:
        self.url, self.key, self.timeout = url, key, timeout

    async def execute(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self._post, query, variables)

    def _post(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": dict(variables)}).encode()
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "authorization": f"Bearer {self.key}",
        }
        request = urllib.request.Request(self.url, body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return _json(response.read())
        except urllib.error.HTTPError as error:
            if error.code >= 500:
                raise ConnectionError(f"{self.url} answered {error.code}") from error
            return _json(error.read())
        except (urllib.error.URLError, OSError) as error:
            raise ConnectionError(f"no server answers at {self.url} ({error})") from error


def _json(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw)
    if not isinstance(data, Mapping):
        raise ValueError("the server's answer is not a GraphQL response")
    return dict(data)
