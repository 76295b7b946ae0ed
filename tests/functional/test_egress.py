"""Issue 17's attacks through the real app, on both databases: what can be collected with
many requests and many free accounts is the public preview and the headings; what a member
collects carries their marks, is in the ledger and traces back to them."""

from __future__ import annotations

import pytest
from bench.egress import (
    MEMBER_SEEDS,
    PREVIEW,
    SEED,
    chain,
    outline_share,
    public_headings,
    recovered,
)
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import account, import_sample, signed_in
from wenxing import settings
from wenxing.db.base import utcnow
from wenxing.delivery.models import SNIPPET, IssuedCopy
from wenxing.delivery.queries import copies_of
from wenxing.fingerprint import strip_marks
from wenxing.materials import catalog
from wenxing.materials.outline import PUBLIC_ITEM_HEADING
from wenxing.reports.evidence import read_evidence_bytes
from wenxing.reports.trace import trace
from wenxing.search import service
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE
from wenxing.web.console import dashboard_figures

FREE_ACCOUNTS = 20


def api_search(client: TestClient, material: int):
    def run(query: str) -> list[str]:
        response = client.get("/api/v1/search", params={"q": query})
        if response.status_code != 200:
            return []
        return [h["snippet"] for h in response.json()["hits"] if h["material"] == material]

    return run


def page_search(client: TestClient):
    """The search page's snippets (text of its result sections, headings included)."""

    def run(query: str) -> list[str]:
        response = client.get("/search", params={"q": query})
        text = response.text
        return [part.split("</div>")[0] for part in text.split('<div class="section">')[1:]]

    return run


@pytest.fixture
def library(runtime):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        for n in range(FREE_ACCOUNTS):
            account(session, publisher, f"免费{n}", subscribed=False, username=f"free{n:02d}")
        member = account(session, publisher, "会员", subscribed=True, username="paid")
        number = member.number
    with runtime.db.reading() as session:
        body = catalog.material_document(session, 1)["body"]
    return create_app(runtime), body, number


def test_twenty_free_accounts_and_a_visitor_recover_only_the_preview_and_headings(runtime, library):
    app, body, _number = library
    visitor = TestClient(app)
    public = visitor.get("/api/v1/materials/1").json()
    # Public besides the preview: the headings, and the title and keywords naming it.
    headings = [*public_headings(public["outline"]), public["title"], "、".join(public["keywords"])]
    assert public["preview"] == body[:PREVIEW]
    collected: list[str] = [public["preview"], *headings]
    collected += chain(api_search(visitor, 1), SEED, 30)
    collected += chain(page_search(visitor), SEED, 5)
    for n in range(FREE_ACCOUNTS):
        client = signed_in(app, f"free{n:02d}")
        collected += chain(api_search(client, 1), SEED, 30)
        collected += chain(page_search(client), SEED, 3)
        collected.append(client.get("/materials/1").text)
        collected.append(client.get("/api/v1/notifications").text)
    assert recovered(body, collected, headings) == 0
    # Searches did find the material: its sections and headings are named.
    hits = visitor.get("/api/v1/search", params={"q": SEED}).json()["hits"]
    assert hits and all(h["snippet"] == "" for h in hits)
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(IssuedCopy)) == 0


def test_api_searches_of_many_accounts_from_one_address_share_its_day(
    runtime, library, monkeypatch
):
    """Free accounts opened to probe the library through the API count against the
    address they search from: a third account from it finds the day spent."""
    app, _body, _number = library
    monkeypatch.setattr(service, "DAY_MINUTES", 1)
    monkeypatch.setattr(service, "ADDRESS_ACCOUNTS", 2)
    with runtime.db.transaction() as session:
        settings.change(session, "search_per_minute", 3, actor="admin:test", audited=False)

    def statuses(client: TestClient, times: int) -> list[int]:
        return [client.get("/api/v1/search", params={"q": SEED}).status_code for _ in range(times)]

    assert statuses(signed_in(app, "free00"), 4) == [200, 200, 200, 429]
    assert statuses(signed_in(app, "free01"), 3) == [200, 200, 200]
    refused = signed_in(app, "free02").get("/api/v1/search", params={"q": SEED})
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_a_member_collecting_snippets_leaves_a_trail_that_traces_back(runtime, library):
    app, body, number = library
    client = signed_in(app, "paid")
    search = api_search(client, 1)
    texts: list[str] = []
    for seed in MEMBER_SEEDS:  # a chain from each (marked tails rarely chain far)
        texts += [t for t in chain(search, seed, 4) if t not in texts]
    stitched = "\n".join(texts)
    assert recovered(body, texts, []) > 600  # the member may read it: they get the text…
    assert stitched != strip_marks(stitched)  # …marked for them
    with runtime.db.reading() as session:
        rows = session.scalars(select(IssuedCopy).where(IssuedCopy.format == SNIPPET)).all()
        assert rows and all(r.material_id == 1 for r in rows if r.version_id == 1)
        assert copies_of(session, rows[0].member_id) == []  # no download spent
        assert (
            sum(dashboard_figures(session, utcnow(), "Asia/Shanghai")["downloads"]) == 0
        )  # nor counted as one in the console
        evidence = read_evidence_bytes(stitched.encode(), ".txt")
        result = trace(session, runtime.secret, evidence, 1e-6)
    assert [a["member"] for a in result.accused] == [number]


def test_the_public_outline_carries_headings_only(library):
    app, body, _number = library
    outline = TestClient(app).get("/api/v1/materials/1").json()["outline"]

    def items(nodes):
        for node in nodes:
            if node["type"] == "item":
                yield node
            yield from items(node["children"])

    found = list(items(outline))
    assert found and all(len(n["heading"]) <= PUBLIC_ITEM_HEADING for n in found)
    # The sample's items are all short run-in headings (一是着力构建良好发展环境。…): they
    # stay, and nothing of the running text after them.
    assert outline_share(body, outline) <= 0.03
    for node in found:
        at = body.find(node["marker"] + node["heading"])
        assert at >= 0 and body[at + len(node["marker"] + node["heading"])] in "。；：！？\n"


def test_a_link_from_another_site_issues_no_copy(runtime, library):
    app, _body, _number = library
    client = signed_in(app, "paid")

    def ledger() -> int:
        with runtime.db.reading() as session:
            return session.scalar(select(func.count()).select_from(IssuedCopy))

    for path in ("/materials/1/download/txt", "/materials/1/read"):
        for site in ("cross-site", "same-site"):
            response = client.get(path, headers={"Sec-Fetch-Site": site})
            assert response.status_code == 200 and "X-Wenxing-Copy" not in response.headers
            assert 'method="post"' in response.text and "确认领取" in response.text
    assert ledger() == 0
    # A form on another site posting to the copy route: refused (no token, foreign origin).
    token = client.cookies[CSRF_COOKIE]
    assert client.post("/materials/1/download/txt").status_code == 403
    refused = client.post(
        "/materials/1/download/txt",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    assert ledger() == 0
    # The site's own button: a copy.
    taken = client.post(
        "/materials/1/download/txt",
        data={"csrf_token": token},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    )
    assert taken.status_code == 200 and taken.headers["X-Wenxing-Copy"]
    assert ledger() == 1
    # The API by cookie needs the page's CSRF header and never answers another site.
    assert client.get("/api/v1/materials/1/copy").status_code == 403
    assert (
        client.get(
            "/api/v1/materials/1/copy",
            headers={"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"},
        ).status_code
        == 403
    )
    again = client.get("/api/v1/materials/1/copy", headers={"X-CSRF-Token": token})
    # The same material and format the same day: the member's copy of today again.
    assert again.status_code == 200
    assert again.headers["X-Wenxing-Copy"] == taken.headers["X-Wenxing-Copy"]
    assert ledger() == 1


def test_the_material_page_offers_copies_as_forms(library):
    app, _body, _number = library
    page = signed_in(app, "paid").get("/materials/1").text
    assert 'href="/materials/1/download/' not in page
    assert 'action="/materials/1/download/txt"' in page and 'name="csrf_token"' in page
