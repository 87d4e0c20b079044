"""The sales dashboard (/dashboard) in a real browser: Debian's Chromium (installed by
scripts/install-browser.sh, never by Playwright), driven by Playwright, against a real
`segmento serve` process on SQLite. Screenshots go to tests/e2e/artifacts/."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    Page,
    Request,
    Response,
    Route,
    WebSocketRoute,
    expect,
    sync_playwright,
)

from tests.servers import first_key, free_port, sqlite_url, start, stop, wait_healthy

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
IN_CI = os.environ.get("CI", "").lower() == "true"
CONTRACT_OPERATIONS = ROOT / "frontend-contract" / "operations"
SLOW = 20_000  # ms: generous waits for reconnects and reloads (never a timing assertion)
RECORD = """mutation($items: [InteractionInput!]!) {
  recordInteractions(interactions: $items) { errorCount } }"""
_numbers = itertools.count()


@dataclass
class Server:
    db: Path
    port: int
    key: str
    process: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restart(self) -> None:
        """Stops the process (closing every WebSocket) and starts a new one on the same
        database file and port."""
        stop(self.process)
        self.process = start(sqlite_url(self.db), self.port, ENV)
        wait_healthy(self.port, self.process)


ENV = {"SEGMENTO_DECAY_INTERVAL_SECONDS": "0"}


def serve(db: Path) -> Iterator[Server]:
    port = free_port()
    process = start(sqlite_url(db), port, ENV)
    server = Server(db, port, "", process)
    try:
        server.key = first_key(process)
        wait_healthy(port, process)
        yield server
    finally:
        stop(server.process)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serve(tmp_path_factory.mktemp("dashboard") / "dashboard.db")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: run scripts/install-browser.sh (make test does)"
        if IN_CI:
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    third_party: list[str] = []
    opened.on(
        "request",
        lambda r: None if r.url.startswith((server.url, "data:")) else third_party.append(r.url),
    )
    uncaught: list[str] = []
    opened.on("pageerror", lambda error: uncaught.append(str(error)))
    yield opened
    context.close()
    assert not third_party, f"the page asked another host: {third_party}"
    assert not uncaught, f"uncaught errors in the page: {uncaught}"


def graphql(server: Server, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {server.key}"},
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def record(server: Server, email: str, *types: str) -> None:
    items = [
        {"email": email, "type": kind, "occurredAt": "2026-11-23T08:00:00+00:00",
         "idempotencyKey": f"dashboard-{next(_numbers)}"}
        for kind in types
    ]  # fmt: skip
    assert graphql(server, RECORD, {"items": items})["recordInteractions"]["errorCount"] == 0


def make_hot(server: Server, email: str) -> None:
    """A demo request (+40) and a purchase (+60): score 100, into Tier 2+, a hot lead."""
    record(server, email, "DEMO_REQUEST", "PURCHASE")


def counts(server: Server) -> tuple[int, int]:
    """(contacts, contacts in Tier 2+)."""
    data = graphql(
        server,
        """{ all: contacts { totalCount }
      top: contacts(filter: {tierIn: ["Tier 2+"]}) { totalCount } }""",
    )
    return data["all"]["totalCount"], data["top"]["totalCount"]


def open_with_key(page: Page, server: Server, key: str) -> None:
    page.goto(f"{server.url}/dashboard")
    expect(page.locator("#key-panel")).to_be_visible()
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")


def until_live(page: Page, server: Server) -> None:
    """Waits until the page is live and its subscriptions deliver. They subscribe with the
    cursor of the connection_ack (live.js), so an event written once the page shows "live"
    reaches them, however long the server takes to register them."""
    expect(page.locator("#status")).to_have_attribute("data-state", "live", timeout=SLOW)
    email = f"warm.up.{next(_numbers)}@dashboard.it"
    record(server, email, "EMAIL_OPEN")
    expect(page.locator("#tier-move")).to_contain_text(email, timeout=SLOW)


def alert(page: Page, email: str) -> Any:
    return page.locator(f'#alerts li[data-email="{email}"]')


def tier_count(page: Page, tier: str) -> Any:
    return page.locator(f'.tier-row[data-tier="{tier}"]')


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)


def test_hot_leads_arrive_live_and_none_is_lost_or_doubled_across_a_server_restart(
    page: Page, server: Server
) -> None:
    # given the dashboard, live, with its subscriptions seen working
    sent: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(json.loads(f))))
    open_with_key(page, server, server.key)
    until_live(page, server)
    total, top = counts(server)
    expect(page.locator("#tier-total")).to_have_text(str(total), timeout=SLOW)
    # when a contact becomes hot, its alert is in the feed (how fast: bench/, not here)
    make_hot(server, "first.hot@dashboard.it")
    expect(alert(page, "first.hot@dashboard.it")).to_have_count(1, timeout=SLOW)
    expect(alert(page, "first.hot@dashboard.it")).to_contain_text("entered Tier 2+")
    # and the chart follows
    expect(tier_count(page, "Tier 2+")).to_have_attribute("data-count", str(top + 1), timeout=SLOW)
    expect(page.locator("#tier-total")).to_have_text(str(total + 1), timeout=SLOW)
    expect(page.locator("#contacts-body tr").first).to_contain_text("first.hot@dashboard.it")

    # when the server restarts, and the page cannot reconnect until more leads got hot
    outage = {"over": False}

    def gate(ws: WebSocketRoute) -> None:
        if outage["over"]:
            ws.connect_to_server()
        else:
            ws.close(code=1012, reason="service restart")

    page.route_web_socket("**/graphql", gate)
    last_seen = alert(page, "first.hot@dashboard.it").get_attribute("data-cursor")
    before_restart = len(sent)
    server.restart()
    expect(page.locator("#status")).to_have_attribute("data-state", "reconnecting")
    missed = [f"missed.{n}@dashboard.it" for n in range(3)]
    for email in missed:
        make_hot(server, email)
    record(server, "missed.cold@dashboard.it", "EMAIL_OPEN")
    outage["over"] = True
    page.evaluate("window.dispatchEvent(new Event('online'))")  # retry now, not after backoff

    # then, once back, it shows each missed alert exactly once
    expect(page.locator("#status")).to_have_attribute("data-state", "live", timeout=SLOW)
    for email in missed:
        expect(alert(page, email)).to_have_count(1, timeout=SLOW)
    # for it resumed the feed from the last alert it saw
    resumed = [m["payload"]["variables"] for m in sent[before_restart:]
               if m.get("payload", {}).get("operationName") == "DashboardHotLeads"]  # fmt: skip
    assert resumed == [{"after": last_seen}]
    make_hot(server, "after.restart@dashboard.it")  # anything doubled would come before it
    expect(alert(page, "after.restart@dashboard.it")).to_have_count(1, timeout=SLOW)
    expect(page.locator("#alerts li")).to_have_count(5)
    expect(alert(page, "first.hot@dashboard.it")).to_have_count(1)
    expect(page.locator("#alert-count")).to_have_text("5")
    emails = page.locator("#alerts li").evaluate_all("items => items.map(i => i.dataset.email)")
    assert emails[0] == "after.restart@dashboard.it"  # newest first
    assert emails[-1] == "first.hot@dashboard.it"
    expect(tier_count(page, "Tier 2+")).to_have_attribute("data-count", str(top + 5), timeout=SLOW)
    expect(page.locator("#tier-total")).to_have_text(str(total + 6), timeout=SLOW)
    shoot(page, "dashboard-after-restart.png")


def test_the_top_contacts_table_filters_by_score_and_pages(page: Page, server: Server) -> None:
    for n in range(12):
        record(server, f"table.{n:02d}@dashboard.it", *["EMAIL_OPEN"] * (n % 4 + 1))
    open_with_key(page, server, server.key)
    until_live(page, server)
    page.fill("#score-above", "20")
    page.click("#contacts-filter button")
    rows = page.locator("#contacts-body tr")
    expect(page.locator("#page-info")).to_contain_text("Page 1", timeout=SLOW)
    scores = [int(s) for s in page.locator("#contacts-body td.score").all_inner_texts()]
    assert scores and all(s > 20 for s in scores) and scores == sorted(scores, reverse=True)
    total = graphql(server, "{ contacts(filter: {scoreAbove: 20}) { totalCount } }")
    expected = total["contacts"]["totalCount"]
    expect(page.locator("#page-info")).to_have_text(f"Page 1 · {expected} contacts")
    assert expected > 10  # more than one page of 10
    first_page = rows.all_inner_texts()
    page.click("#next-page")
    expect(page.locator("#page-info")).to_contain_text("Page 2", timeout=SLOW)
    expect(rows).to_have_count(min(10, expected - 10))
    assert not set(rows.all_inner_texts()) & set(first_page)
    page.click("#prev-page")
    expect(page.locator("#page-info")).to_contain_text("Page 1", timeout=SLOW)
    assert rows.all_inner_texts() == first_page


def test_a_refused_key_is_said_plainly_and_never_retried(page: Page, server: Server) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_with_key(page, server, "sgm_not-a-real-key")
    expect(page.locator("#key-error")).to_have_text(
        "This API key was refused: it is unknown or has been revoked. Enter another key."
    )
    expect(page.locator("#status")).to_have_attribute("data-state", "bad-key")
    expect(page.locator("#status")).to_contain_text("API key refused")
    expect(page.locator("#status .spinner")).to_be_hidden()
    expect(page.locator("#board")).to_be_hidden()
    shoot(page, "dashboard-bad-key.png")
    page.wait_for_timeout(2_500)  # several reconnect delays: none may be attempted
    assert len(sockets) == 1
    expect(page.locator("#status")).to_have_attribute("data-state", "bad-key")
    assert page.evaluate("localStorage.getItem('segmento.dashboard.apiKey')") is None


def test_a_key_revoked_while_watching_stops_the_page_plainly(page: Page, server: Server) -> None:
    created = graphql(
        server,
        'mutation { createApiKey(name: "wall screen", scope: READ) { secret apiKey { id } } }',
    )["createApiKey"]
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_with_key(page, server, created["secret"])
    until_live(page, server)
    graphql(server, "mutation($id: ID!) { revokeApiKey(id: $id) }", {"id": created["apiKey"]["id"]})
    make_hot(server, "after.revoke@dashboard.it")  # the next event finds the key revoked
    expect(page.locator("#status")).to_have_attribute("data-state", "bad-key", timeout=SLOW)
    expect(page.locator("#key-error")).to_contain_text("This API key was refused")
    page.wait_for_timeout(1_500)  # a reconnect delay or more: proving none takes a window
    assert len(sockets) == 1


def test_a_thousand_alerts_keep_200_rows_in_the_page_and_are_all_counted(
    page: Page, server: Server
) -> None:
    open_with_key(page, server, server.key)
    until_live(page, server)
    emails = [f"crowd.{n:04d}@dashboard.it" for n in range(1000)]
    for first in range(0, 1000, 500):  # two writes of 1,000 interactions: 1,000 hot leads
        batch = emails[first : first + 500]
        items = [
            {"email": email, "type": kind, "occurredAt": "2026-11-23T08:00:00+00:00",
             "idempotencyKey": f"crowd-{kind}-{email}"}
            for email in batch for kind in ("DEMO_REQUEST", "PURCHASE")
        ]  # fmt: skip
        assert graphql(server, RECORD, {"items": items})["recordInteractions"]["errorCount"] == 0
    expect(page.locator("#alert-count")).to_have_text("1,000", timeout=60_000)
    expect(page.locator("#alerts li")).to_have_count(200)
    expect(page.locator("#alerts li").first).to_have_attribute("data-email", emails[-1])
    expect(page.locator("#alert-capped")).to_be_visible()
    expect(page.locator("#status")).to_have_attribute("data-state", "live")
    shoot(page, "dashboard-1000-alerts.png")


def record_now(server: Server, email: str, *types: str) -> None:
    """Like record, at the current time: inside any KPI window."""
    at = datetime.now(UTC).isoformat()
    items = [
        {"email": email, "type": kind, "occurredAt": at, "idempotencyKey": f"kpi-{next(_numbers)}"}
        for kind in types
    ]
    assert graphql(server, RECORD, {"items": items})["recordInteractions"]["errorCount"] == 0


def is_kpis(response: Response) -> bool:
    return '"DashboardKpis"' in (response.request.post_data or "")


def kpi_cells(page: Page) -> list[list[str]]:
    cells: list[list[str]] = page.locator("#kpi-body tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    return cells


def expect_kpis_as_served(page: Page, server: Server, variables: dict[str, Any]) -> None:
    """Once the page shows the answer to `variables`, it is what the server answers for them:
    contacts and transitions exactly, average and rates as rounded for display."""
    expect(page.locator("#kpi-table")).to_have_attribute("data-to", variables["to"], timeout=SLOW)
    document = (CONTRACT_OPERATIONS / "DashboardKpis.graphql").read_text(encoding="utf-8")
    served = graphql(server, document, variables)["kpis"]
    shown = {cells[0]: cells[1:] for cells in kpi_cells(page)}
    assert len(shown) == len(served), (shown, served)

    def close(text: str, value: float | None, scale: float = 1) -> bool:
        if value is None:
            return text == "—"
        return abs(float(text.removesuffix(" %")) - value * scale) <= 0.051

    for row in served:
        contacts, average, conversion, opens, moves = shown[row["name"] or row["key"] or "—"]
        assert int(contacts.replace(",", "")) == row["contacts"]
        assert close(average, row["averageScore"])
        assert close(conversion, row["conversionRate"], 100)
        assert close(opens, row["emailOpenRate"], 100)
        assert int(moves.replace(",", "")) == row["tierTransitions"]


def test_the_kpi_panel_shows_the_servers_kpis_and_follows_events_at_most_every_10_s(
    page: Page, server: Server
) -> None:
    # given contacts with email sends, opens and a purchase, and the page's KPI requests seen
    sent: list[dict[str, Any]] = []

    def watch(request: Request) -> None:
        if request.method == "POST" and '"DashboardKpis"' in (request.post_data or ""):
            sent.append(request.post_data_json)

    page.on("request", watch)
    page.clock.install()  # time flows as usual; fast_forward skips the 10 s throttle
    record_now(server, "kpi.buyer@dashboard.it", "EMAIL_SENT", "EMAIL_OPEN", "PURCHASE")
    record_now(server, "kpi.reader@dashboard.it", "EMAIL_SENT", "EMAIL_SENT", "EMAIL_OPEN")
    # when the page is live and the reload its warm-up events asked for has come
    open_with_key(page, server, server.key)
    until_live(page, server)
    expect(page.locator("#kpi-body tr, #kpi-error").first).to_be_visible(timeout=SLOW)
    expect(page.locator("#kpi-error")).to_be_hidden()
    with page.expect_response(is_kpis, timeout=SLOW):
        page.clock.fast_forward(10_000)
    # then it sent the committed document, by tier over the last 30 days, and shows the rows
    document = (CONTRACT_OPERATIONS / "DashboardKpis.graphql").read_text(encoding="utf-8")
    assert sent and all(body["query"] == document for body in sent)
    variables = sent[-1]["variables"]
    assert variables["groupBy"] == "TIER"
    span = datetime.fromisoformat(variables["to"]) - datetime.fromisoformat(variables["from"])
    assert span == timedelta(days=30)
    expect_kpis_as_served(page, server, variables)
    expect(page.locator("#kpi-group-head")).to_have_text("Tier")
    assert any(cells[3] not in ("0.0 %", "—") for cells in kpi_cells(page))  # the purchase
    assert any(cells[4] not in ("0.0 %", "—") for cells in kpi_cells(page))  # the opens

    # when events arrive, it reloads once the 10 s have passed, and only once
    before = len(sent)
    make_hot(server, "kpi.hot@dashboard.it")
    expect(alert(page, "kpi.hot@dashboard.it")).to_have_count(1, timeout=SLOW)
    record_now(server, "kpi.later@dashboard.it", "EMAIL_OPEN")
    expect(page.locator("#tier-move")).to_contain_text("kpi.later@dashboard.it", timeout=SLOW)
    page.wait_for_timeout(500)  # proving no early reload takes a window (bounded)
    assert len(sent) == before
    with page.expect_response(is_kpis, timeout=SLOW):
        page.clock.fast_forward(10_000)
    expect_kpis_as_served(page, server, sent[-1]["variables"])
    assert len(sent) == before + 1
    assert kpi_cells(page)[0][0] == "Tier 2+"  # the tier chart's order: top tier first

    # when a selector changes, it reloads at once
    graphql(
        server,
        "mutation($input: ContactListInput!) { createList(input: $input) { id } }",
        {"input": {"name": "Score above 50", "kind": "DYNAMIC", "filter": {"scoreAbove": 50}}},
    )
    with page.expect_response(is_kpis, timeout=SLOW):
        page.select_option("#kpi-group", "LIST")
    expect(page.locator("#kpi-group-head")).to_have_text("List", timeout=SLOW)
    expect(page.locator("#kpi-body td.group")).to_have_text("Score above 50")
    with page.expect_response(is_kpis, timeout=SLOW):
        page.select_option("#kpi-window", "7")
    assert sent[-1]["variables"]["groupBy"] == "LIST"
    expect_kpis_as_served(page, server, sent[-1]["variables"])
    shoot(page, "dashboard-kpis.png")

    # and an error is said plainly in the panel
    def refuse(route: Route) -> None:
        if '"DashboardKpis"' in (route.request.post_data or ""):
            route.fulfill(json={"errors": [{"message": "the KPIs are unavailable"}]})
        else:
            route.continue_()

    page.route("**/graphql", refuse)
    page.select_option("#kpi-group", "SEGMENT")
    expect(page.locator("#kpi-error")).to_have_text(
        "Could not load the KPIs: DashboardKpis: the KPIs are unavailable", timeout=SLOW
    )
    expect(page.locator("#kpi-body tr")).to_have_count(0)
    page.unroute("**/graphql")
    page.select_option("#kpi-window", "90")
    expect(page.locator("#kpi-error")).to_be_hidden(timeout=SLOW)
    assert sent[-1]["variables"]["groupBy"] == "SEGMENT"
    expect_kpis_as_served(page, server, sent[-1]["variables"])


def test_the_page_sends_exactly_the_committed_dashboard_operations() -> None:
    """The page loads its documents from /dashboard/operations/, which serves the contract's
    own files: each name the script asks for must be one."""
    committed = sorted(p.stem for p in CONTRACT_OPERATIONS.glob("Dashboard*.graphql"))
    script = (ROOT / "api" / "dashboard" / "static" / "dashboard.js").read_text()
    asked = sorted(set(re.findall(r'"(Dashboard[A-Za-z]+)"', script)))
    assert asked == committed
