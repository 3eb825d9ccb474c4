"""The property and party marts on PostgreSQL: the session's `small_pg` build (small demo sources extracted into a
fresh database, whole dbt project built and published).

Skips without a PostgreSQL server, except under CI=true (see tests/conftest.py `small_pg`)."""

from __future__ import annotations


def test_property_party_marts_build_on_postgres(small_pg) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(small_pg.url)
    try:
        with engine.connect() as c:
            complaints = c.execute(
                sa.text("select sum(complaints) from mart_property.property_city_yearly")
            ).scalar()
            landed = c.execute(
                sa.text(
                    "select count(distinct trim(tsbh)) from raw_property.complaints "
                    "where nullif(trim(tsbh), '') is not null and nullif(trim(slsj), '') is not null"
                )
            ).scalar()
            grids = c.execute(sa.text("select count(*) from mart_party.party_grid_coverage")).scalar()
            regs = c.execute(
                sa.text("select sum(registrations) from mart_party.party_registrations_by_area")
            ).scalar()
    finally:
        engine.dispose()
    assert complaints == landed and grids == 634 and regs > 0
