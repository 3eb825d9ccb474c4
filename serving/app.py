"""Read-only API for portals: published marts only (the read snapshot on DuckDB), never raw or staging, paged.

uvicorn serving.app:app --host 127.0.0.1 --port 8080     (YIWANG_HOME / YIWANG_WAREHOUSE_URL as usual)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Query

from yiwang.settings import get_settings

PUBLISHED = {"catalog": ("mart_catalog", "service_catalog", "item_code")}


def _read(
    schema: str, table: str, order: str, limit: int, offset: int, filters: dict[str, str]
) -> list[dict]:
    """Rows of a published mart, from the read snapshot (yiwang.snapshot): never the file the pipeline writes."""
    from yiwang.snapshot import NotPublished, open_published

    where = " and ".join(f'"{k}" = ?' for k in filters) or "true"
    sql = f'select * from "{schema}"."{table}" where {where} order by "{order}" limit ? offset ?'
    params: list[Any] = [*filters.values(), limit, offset]
    try:
        with open_published(get_settings()) as reader:
            cols, rows = reader.query(sql, params)
    except NotPublished as e:
        raise HTTPException(503, str(e)) from e
    return [dict(zip(cols, r, strict=True)) for r in rows]


def create_app() -> FastAPI:
    app = FastAPI(title="yiwang marts (read-only)", version="0.1.0")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/catalog")
    def catalog(
        item_kind: str | None = Query(None, pattern="^(government|life)$"),
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0),
    ) -> dict[str, Any]:
        schema, table, key = PUBLISHED["catalog"]
        filters = {"item_kind": item_kind} if item_kind else {}
        items = _read(schema, table, key, limit, offset, filters)
        return {"items": items, "limit": limit, "offset": offset}

    return app


app = create_app()
