"""Webhooks must not reach inside the network (issue 16, SSRF): every attack of the issue is
refused at createWebhook / updateWebhook and stores nothing; at delivery the host is resolved
again and checked (DNS rebinding) before any connection, the socket goes to the checked
address, and what is kept of a failure is a status code or a generic reason — through the
app's own delivery worker, against real sockets on loopback."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api.app import create_app
from api.settings import Settings
from domain.network import ALLOW_SETTING
from tests.api.test_webhooks import CREATE, DELIVERIES, LIST, UPDATE, create_hook, hook
from tests.factories import gql

ATTACKS = [
    ("http://169.254.169.254/latest/meta-data/", "link-local, cloud metadata (169.254.0.0/16)"),
    ("http://10.0.0.1/", "private (10.0.0.0/8)"),
    ("http://172.16.0.1/", "private (172.16.0.0/12)"),
    ("http://192.168.1.1/", "private (192.168.0.0/16)"),
    ("http://127.0.0.1:6379/", "loopback (127.0.0.0/8)"),
    ("http://localhost:8000/", "local name (localhost)"),
    ("http://[::1]:8000/", "loopback (::1/128)"),
    ("http://2130706433/", "loopback (127.0.0.0/8)"),
    ("http://0x7f000001/", "loopback (127.0.0.0/8)"),
    ("http://[::ffff:169.254.169.254]/", "link-local, cloud metadata (169.254.0.0/16)"),
    ("http://metadata.google.internal/computeMetadata/v1/", "local name (*.internal)"),
    ("http://100.64.0.1/", "carrier-grade NAT (100.64.0.0/10)"),
]
FORBIDDEN = "target resolves to a forbidden address"
SECRET_PAGE = "root:x:0:0 internal-only page"


@pytest.fixture
def allow() -> tuple[str, ...]:
    return ()


@pytest.fixture
async def app(database_url, clock, resolver, allow) -> AsyncIterator[object]:
    settings = Settings(database_url=database_url, migrate_on_start=False, webhook_allow=allow)
    application = create_app(settings, clock=clock, resolver=resolver)
    yield application
    await application.state.db.dispose()


class Listener:
    """A TCP server on loopback that counts connections and answers each request with
    `status` and `body` (and `location`, for a redirect)."""

    def __init__(
        self,
        status: int = 200,
        body: str = "",
        location: str = "",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.status, self.body, self.location, self.tls = status, body, location, tls
        self.connections = 0
        self.requests: list[bytes] = []

    async def __aenter__(self) -> Listener:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
        self.requests.append(head + await reader.readexactly(length))
        body = self.body.encode()
        extra = f"Location: {self.location}\r\n" if self.location else ""
        writer.write(f"HTTP/1.1 {self.status} Whatever The Server Says\r\n{extra}"
                     f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)  # fmt: skip
        await writer.drain()
        writer.close()


async def closed_port() -> int:
    async with Listener() as listener:
        return listener.port


async def stored_hook(uows, clock, url: str) -> int:
    """A webhook row as one registered before this check existed would be."""
    async with uows(write=True) as uow:
        values = {"name": f"old {url}", "url": url, "event_types": ("AUTOMATION",),
                  "secret": "s" * 32, "active": True}  # fmt: skip
        webhook = await uow.webhooks.insert(values, clock())
        await uow.commit()
    return webhook.id


async def deliver_one(app, uows, clock, webhook_id: int) -> None:
    async with uows(write=True) as uow:
        await uow.webhooks.enqueue(webhook_id, "AUTOMATION", {"note": "hi"}, None, clock())
        await uow.commit()
    assert await app.state.webhooks.run_once() == 1


async def the_delivery(client, key, webhook_id) -> dict[str, object]:
    result = await gql(client, DELIVERIES, {"id": str(webhook_id)}, key=key)
    (node,) = result.ok()["webhook"]["deliveries"]["nodes"]
    return node


@pytest.mark.parametrize(("url", "range_"), ATTACKS)
async def test_create_webhook_refuses_every_inside_target_and_stores_nothing(
    client, admin_key, url, range_
):
    result = await gql(client, CREATE, hook(url=url), key=admin_key)
    assert result.data == {"createWebhook": None}
    assert result.codes == ["BAD_USER_INPUT"]
    error = result.errors[0]
    assert error["extensions"]["field"] == "url"
    assert range_ in error["message"] and ALLOW_SETTING in error["message"]
    assert (await gql(client, LIST, key=admin_key)).ok() == {"webhooks": []}


async def test_a_name_resolving_inside_is_refused_without_telling_its_address(
    client, admin_key, resolver
):
    resolver.answer("db.example.com", ["93.184.216.34", "10.20.30.40"])
    result = await gql(client, CREATE, hook(url="https://db.example.com/in"), key=admin_key)
    assert result.codes == ["BAD_USER_INPUT"]
    assert (
        "resolves to an address in a forbidden range: private (10.0.0.0/8)"
        in (result.errors[0]["message"])
    )
    assert "10.20.30.40" not in json.dumps(result.errors)
    assert resolver.asked == ["db.example.com"]
    assert (await gql(client, LIST, key=admin_key)).ok() == {"webhooks": []}


async def test_update_webhook_refuses_an_inside_target_and_keeps_the_old_url(
    client, admin_key, resolver
):
    resolver.answer("hooks.example.com", ["93.184.216.34"])
    created = (await create_hook(client, admin_key))["webhook"]
    for url in ("http://169.254.169.254/latest/meta-data/", "http://0x7f000001/"):
        variables = {"id": created["id"], "input": {"url": url}}
        result = await gql(client, UPDATE, variables, key=admin_key)
        assert (result.codes, result.errors[0]["extensions"]["field"]) == (
            ["BAD_USER_INPUT"], "url",
        )  # fmt: skip
    assert (await gql(client, LIST, key=admin_key)).ok() == {"webhooks": [created]}


@pytest.mark.parametrize("allow", [("10.0.0.0/8", "crm.corp.internal")])
async def test_an_operator_allows_named_cidrs_and_hosts_and_nothing_else(
    client, admin_key, resolver
):
    resolver.answer("crm.corp.internal", ["10.9.8.7"])
    assert await create_hook(client, admin_key, name="a", url="http://10.1.2.3:8080/in")
    assert await create_hook(client, admin_key, name="b", url="https://crm.corp.internal/in")
    for url in ("http://169.254.169.254/", "http://192.168.1.1/", "http://other.corp.internal/"):
        refused = await gql(client, CREATE, hook(name="c", url=url), key=admin_key)
        assert refused.codes == ["BAD_USER_INPUT"], url
    assert len((await gql(client, LIST, key=admin_key)).ok()["webhooks"]) == 2


async def test_dns_rebinding_is_refused_at_delivery_before_any_connection(
    app, client, admin_key, uows, clock, resolver
):
    async with Listener() as inside:
        # public when registered, loopback when delivered
        resolver.answer("rebind.example.com", ["93.184.216.34"], ["127.0.0.1"])
        url = f"http://rebind.example.com:{inside.port}/in"
        created = await create_hook(client, admin_key, url=url, types=["AUTOMATION"])
        webhook_id = int(created["webhook"]["id"])
        await deliver_one(app, uows, clock, webhook_id)
    assert inside.connections == 0
    assert resolver.asked == ["rebind.example.com", "rebind.example.com"]
    done = await the_delivery(client, admin_key, webhook_id)
    assert (done["status"], done["lastError"]) == ("PENDING", FORBIDDEN)
    assert [(a["statusCode"], a["error"]) for a in done["attempts"]] == [(None, FORBIDDEN)]


async def test_stored_inside_targets_are_no_port_scanner(app, client, admin_key, uows, clock):
    closed = await closed_port()
    async with Listener(500, SECRET_PAGE) as open_:
        ids = [await stored_hook(uows, clock, f"http://{host}:{port}/")
               for host in ("127.0.0.1", "2130706433", "[::ffff:127.0.0.1]")
               for port in (open_.port, closed)]  # fmt: skip
        for webhook_id in ids:
            await deliver_one(app, uows, clock, webhook_id)
    assert open_.connections == 0
    errors = {(await the_delivery(client, admin_key, i))["lastError"] for i in ids}
    assert errors == {FORBIDDEN}  # open and closed ports look alike


@pytest.mark.parametrize("allow", [("127.0.0.1/32",)])
async def test_an_allowed_name_is_reached_at_its_checked_address_with_its_host_header(
    app, client, admin_key, uows, clock, resolver
):
    resolver.answer("hooks.example.com", ["127.0.0.1"])
    async with Listener(204) as receiver:
        url = f"http://hooks.example.com:{receiver.port}/in"
        created = await create_hook(client, admin_key, url=url, types=["AUTOMATION"])
        webhook_id = int(created["webhook"]["id"])
        await deliver_one(app, uows, clock, webhook_id)
    (request,) = receiver.requests
    assert request.startswith(b"POST /in HTTP/1.1\r\n")
    assert f"\r\nhost: hooks.example.com:{receiver.port}\r\n".encode() in request.lower()
    done = await the_delivery(client, admin_key, webhook_id)
    assert (done["status"], done["lastError"]) == ("DELIVERED", None)


@pytest.mark.parametrize("allow", [("127.0.0.1/32",)])
async def test_a_failed_answer_keeps_only_its_status_and_a_closed_port_a_generic_reason(
    app, client, admin_key, uows, clock
):
    closed = await closed_port()
    async with Listener(500, SECRET_PAGE) as failing:
        failed = await stored_hook(uows, clock, f"http://127.0.0.1:{failing.port}/")
        refused = await stored_hook(uows, clock, f"http://127.0.0.1:{closed}/")
        for webhook_id in (failed, refused):
            await deliver_one(app, uows, clock, webhook_id)
    assert failing.connections == 1
    answered = await the_delivery(client, admin_key, failed)
    assert answered["lastError"] == "HTTP 500 Internal Server Error"
    assert answered["attempts"][0]["statusCode"] == 500
    unreachable = await the_delivery(client, admin_key, refused)
    assert unreachable["lastError"] == "could not connect"
    everything = json.dumps([answered, unreachable])
    assert "internal-only" not in everything and "Whatever" not in everything
    assert "refused" not in everything.lower() and "errno" not in everything.lower()


@pytest.mark.parametrize("allow", [("127.0.0.1/32",)])
async def test_a_redirect_is_not_followed(app, client, admin_key, uows, clock):
    async with Listener(302, location="http://169.254.169.254/latest/meta-data/") as receiver:
        webhook_id = await stored_hook(uows, clock, f"http://127.0.0.1:{receiver.port}/")
        await deliver_one(app, uows, clock, webhook_id)
    assert receiver.connections == 1
    done = await the_delivery(client, admin_key, webhook_id)
    assert done["lastError"] == "HTTP 302 Found"


async def test_a_name_that_does_not_resolve_is_accepted_and_fails_generically_later(
    app, client, admin_key, uows, clock, resolver
):
    created = await create_hook(client, admin_key, url="https://soon.example.com/in",
                                types=["AUTOMATION"])  # fmt: skip
    webhook_id = int(created["webhook"]["id"])
    await deliver_one(app, uows, clock, webhook_id)
    done = await the_delivery(client, admin_key, webhook_id)
    assert done["lastError"] == "could not resolve the host"
    assert resolver.asked == ["soon.example.com", "soon.example.com"]


@pytest.fixture
def certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A self-signed certificate for hooks.example.com, trusted through SSL_CERT_FILE; the
    server's context, which records the names clients ask for (SNI)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", key, "-out", cert, "-subj", "/CN=hooks.example.com",
                    "-addext", "subjectAltName=DNS:hooks.example.com"],
                   check=True, capture_output=True)  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.asked = []  # type: ignore[attr-defined]
    context.sni_callback = lambda _sock, name, ctx: ctx.asked.append(name)  # type: ignore[attr-defined]
    return context


@pytest.mark.parametrize("allow", [("127.0.0.1/32",)])
async def test_tls_names_the_host_while_connecting_to_its_checked_address(
    app, client, admin_key, uows, clock, resolver, certificate
):
    resolver.answer("hooks.example.com", ["127.0.0.1"])
    resolver.answer("other.example.com", ["127.0.0.1"])
    async with Listener(204, tls=certificate) as receiver:
        ids = []
        for name in ("hooks", "other"):
            url = f"https://{name}.example.com:{receiver.port}/in"
            created = await create_hook(client, admin_key, name=name, url=url, types=["AUTOMATION"])
            ids.append(int(created["webhook"]["id"]))
            await deliver_one(app, uows, clock, ids[-1])
    assert certificate.asked == ["hooks.example.com", "other.example.com"]  # type: ignore[attr-defined]
    good, wrong_name = [await the_delivery(client, admin_key, i) for i in ids]
    assert (good["status"], good["lastError"]) == ("DELIVERED", None)
    assert wrong_name["lastError"] == "could not connect"  # the certificate is not for it
    assert len(receiver.requests) == 1
