"""Migrations that tell the truth: a database made at every released revision, as that
revision was released (frozen schemas in tests/fixtures/schemas, made by
scripts/freeze_schemas.py), filled with data and upgraded to head on both backends keeps
its data and ends with exactly the schema the models describe. Revision 0002 is frozen as
released, before it gained ``wording_vetoes``; revision 0003's batch migration of
``members`` meets members that issued copies refer to."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Boolean, Integer, LargeBinary, inspect, text
from sqlalchemy.types import DateTime, Numeric

from tests.conftest import TEST_SECRET, _pg_conninfo, _sqlalchemy_pg, pg_admin_url
from wenxing import schema
from wenxing.config import Settings
from wenxing.db import migrate
from wenxing.db.engine import make_engine
from wenxing.runtime import NotReady, open_runtime

SCHEMAS = Path(__file__).resolve().parent.parent / "fixtures" / "schemas"
RELEASED = sorted({p.name.split(".")[0] for p in SCHEMAS.glob("*.sql")})
AT = datetime(2026, 11, 20, 9, 30)
BODY = "同志们：\n今天召开会议，部署河湖长制工作。一是压实责任。二是抓好整改。\n谢谢大家！"

# One library, as rows; each revision gets the tables and columns it has.
ROWS: dict[str, list[dict]] = {
    "settings": [{"name": "brand", "value": '"酷乐文行"'}],
    "server_meta": [{"key": "secret_check", "value": "x" * 64}],
    "materials": [
        {
            "id": 1,
            "title": "在全县会议上的讲话",
            "kind": "讲话",
            "category": "讲话",
            "source_path": "a.txt",
            "status": "published",
            "published_at": AT,
            "current_version": 1,
            "created_at": AT,
            "updated_at": AT,
            "tags": "河湖",
        },
    ],
    "material_versions": [
        {
            "id": 1,
            "material_id": 1,
            "number": 1,
            "title": "在全县会议上的讲话",
            "kind": "讲话",
            "source_name": "a.txt",
            "source_format": "txt",
            "source_encoding": "utf-8",
            "content_hash": "c" * 64,
            "body_hash": "b" * 64,
            "body": BODY,
            "chars": len(BODY),
            "outline": "[]",
            "keywords": "[]",
            "minhash": b"\x00" * 8,
            "created_at": AT,
        },
    ],
    "members": [
        {
            "id": i,
            "number": f"WX-{10000 + i}",
            "name": f"会员{i}",
            "phone": None,
            "status": "active",
            "created_at": AT,
            "role": "user",
        }
        for i in (1, 2)
    ],
    "marking_plans": [
        {"id": 1, "version_id": 1, "profile": "light", "plan": "{}", "created_at": AT}
    ],
    "issued_copies": [
        {
            "id": i,
            "member_id": i,
            "material_id": 1,
            "version_id": 1,
            "plan_id": 1,
            "format": "txt",
            "actor": "publisher:cli",
            "created_at": AT,
        }
        for i in (1, 2)
    ],
    "subscriptions": [
        {
            "id": 1,
            "member_id": 1,
            "plan": "year",
            "starts_at": AT,
            "ends_at": datetime(2027, 11, 20, 9, 30),
            "source": "code:1",
            "created_at": AT,
        }
    ],
    "activation_codes": [
        {
            "id": 1,
            "code": "ABCDEFGHJKMNPQRST",
            "plan": "year",
            "state": "redeemed",
            "redeemed_by": 1,
            "redeemed_at": AT,
            "created_at": AT,
        }
    ],
    "audit_events": [
        {
            "id": 1,
            "type": "code:redeem",
            "actor": "member:web",
            "subject": "WX-10001",
            "at": AT,
            "details": "{}",
        }
    ],
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    from tests.conftest import BACKENDS

    if request.param not in BACKENDS:
        pytest.skip(f"{request.param} not in WENXING_TEST_BACKENDS")
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"wenxing_m_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield "postgresql", _sqlalchemy_pg(name)
    with psycopg.connect(pg_admin_url(), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _build(backend: str, url: str, revision: str) -> None:
    script = (SCHEMAS / f"{revision}.{backend}.sql").read_text()
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.executescript(script)
        conn.close()
    else:
        with psycopg.connect(_pg_conninfo(url.rpartition("/")[2]), autocommit=True) as conn:
            conn.execute(script)


def _fill(engine) -> dict[str, int]:
    found = inspect(engine)
    tables = set(found.get_table_names())
    counts = {}
    with engine.begin() as conn:
        for table, rows in ROWS.items():
            if table not in tables:
                continue
            columns = {c["name"]: c for c in found.get_columns(table)}
            for row in rows:
                values = {k: v for k, v in row.items() if k in columns}
                for name, column in columns.items():
                    if name not in values and not column["nullable"] and column["default"] is None:
                        values[name] = _blank(column["type"])
                names = ", ".join(f'"{n}"' for n in values)
                marks = ", ".join(f":{n}" for n in values)
                conn.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({marks})'), values)
            counts[table] = len(rows)
    return counts


def _blank(kind):
    if isinstance(kind, DateTime):
        return AT
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, (Integer, Numeric)):
        return 0
    if isinstance(kind, LargeBinary):
        return b""
    return ""


@pytest.mark.parametrize("revision", RELEASED)
def test_a_database_from_every_released_revision_upgrades_with_its_data(empty_url, revision):
    backend, url = empty_url
    _build(backend, url, revision)
    engine = make_engine(url)
    try:
        counts = _fill(engine)
        assert migrate.upgrade(engine) == migrate.head_revision()
        with engine.connect() as conn:
            for table, count in counts.items():
                kept = conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar()
                # (server_meta gains the facts later revisions record)
                assert kept == count or (table == "server_meta" and kept > count), table
            if "issued_copies" in counts:
                delivered = conn.execute(
                    text("SELECT count(*) FROM issued_copies WHERE delivered_at IS NOT NULL")
                ).scalar()
                assert delivered == counts["issued_copies"]
                legacy = conn.execute(
                    text("SELECT value FROM server_meta WHERE key = 'legacy_copy_id_max'")
                ).scalar()
                assert legacy == "2"
        assert "wording_vetoes" in inspect(engine).get_table_names()
        assert migrate.schema_drift(engine, schema.metadata) == []
    finally:
        engine.dispose()


def test_development_refuses_a_drifted_schema(runtime, settings):
    """A hand-made change (or an edited migration) shows at start-up in development."""
    runtime.close()
    engine = make_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_audit_events_actor"))
    engine.dispose()
    developing = Settings(**{**settings.model_dump(), "environment": "development"})
    with pytest.raises(NotReady, match="differs from what this wenxing expects"):
        open_runtime(developing)
    open_runtime(settings).close()  # production trusts the revision (the check is slow)
    assert TEST_SECRET
