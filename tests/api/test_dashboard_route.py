"""/dashboard serves the page and, from the contract itself, the operations it sends."""

from __future__ import annotations

from pathlib import Path

CONTRACT = Path(__file__).resolve().parents[2] / "frontend-contract" / "operations"


async def test_the_page_and_its_contract_operations_are_served(client):
    page = await client.get("/dashboard/")
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for path in sorted(CONTRACT.glob("Dashboard*.graphql")):
        served = await client.get(f"/dashboard/operations/{path.name}")
        assert served.status_code == 200, path.name
        assert served.text == path.read_text(encoding="utf-8")


async def test_only_dashboard_operations_are_served(client):
    for name in ("ApiKeys", "Dashboard..%2FApiKeys", "DashboardNope"):
        assert (await client.get(f"/dashboard/operations/{name}.graphql")).status_code == 404
