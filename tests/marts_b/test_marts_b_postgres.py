"""dbt build of the part-B marts on PostgreSQL (small demo sources extracted into a fresh database).

Skips without a PostgreSQL server, except under CI=true (see tests/conftest.py `pg_url`)."""

from __future__ import annotations

from pipeline_helper import build_marts_b, extract


def test_marts_b_build_on_postgres(small_demo, pg_url) -> None:
    import sqlalchemy as sa

    extract(small_demo, ["party", "grid", "approval", "services", "property", "hotline"], warehouse_url=pg_url)
    u = sa.engine.make_url(pg_url)
    env = {"YIWANG_PG_HOST": u.host or "127.0.0.1", "YIWANG_PG_PORT": str(u.port or 5432),
           "YIWANG_PG_USER": u.username or "postgres", "YIWANG_PG_PASSWORD": u.password or "",
           "YIWANG_PG_DBNAME": u.database}
    build_marts_b(small_demo, target="postgres", env=env)
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as c:
            complaints = c.execute(sa.text("select sum(complaints) from mart_property.property_city_yearly")).scalar()
            landed = c.execute(sa.text("select count(distinct trim(tsbh)) from raw_property.complaints "
                                       "where nullif(trim(tsbh), '') is not null and nullif(trim(slsj), '') is not null")).scalar()
            grids = c.execute(sa.text("select count(*) from mart_party.party_grid_coverage")).scalar()
            regs = c.execute(sa.text("select sum(registrations) from mart_party.party_registrations_by_area")).scalar()
    finally:
        engine.dispose()
    assert complaints == landed and grids == 634 and regs > 0
