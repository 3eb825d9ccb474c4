"""Each property, party, grid-timeliness and lists mart reconciled against raw_* by an independent SQL query (small demo city)."""

from __future__ import annotations

import pytest


def one(db, sql: str):
    return db.execute(sql).fetchone()[0]


def test_property_complaints_match_distinct_tsbh_landed(small_db) -> None:
    landed = one(
        small_db,
        "select count(distinct trim(tsbh)) from raw_property.complaints "
        "where nullif(trim(tsbh), '') is not null and nullif(trim(slsj), '') is not null",
    )
    city = one(small_db, "select sum(complaints) from mart_property.property_city_yearly")
    per_estate = one(small_db, "select sum(complaints) from mart_property.property_estate_yearly")
    unmatched = one(
        small_db, "select sum(complaints_unmatched_estate) from mart_property.property_city_yearly"
    )
    assert landed > 0
    assert city == landed
    assert per_estate + unmatched == landed


def test_property_rate_formula_and_null_for_zero_households(small_db) -> None:
    bad = one(
        small_db,
        """
        select count(*) from mart_property.property_estate_yearly
        where (coalesce(households, 0) = 0 and complaints_per_100_households is not null)
           or (households > 0 and abs(complaints_per_100_households - complaints * 100.0 / households) > 1e-9)""",
    )
    assert bad == 0
    first_years = one(
        small_db,
        """
        select count(*) from mart_property.property_estate_yearly e
        where year = (select min(year) from mart_property.property_estate_yearly) and yoy_change is not null""",
    )
    assert first_years == 0
    # the comparison's pooled figures equal the sums over the per-estate rows
    diff = one(
        small_db,
        """
        select count(*) from mart_property.property_mechanism_comparison c
        join (select year, sum(complaints) filter (where has_joint_mechanism) cw, sum(households) filter (where has_joint_mechanism) hw
              from mart_property.property_estate_yearly where complaints_per_100_households is not null group by year) e
          on e.year = c.year
        where c.complaints_with <> e.cw or c.households_with <> e.hw""",
    )
    assert diff == 0


def test_party_registrations_match_raw_dj_bd(small_db) -> None:
    raw = one(
        small_db,
        """
        with v as (select trim(bd_id) id, trim(zt) zt,
                          row_number() over (partition by trim(bd_id) order by gxsj desc, _loaded_at desc) rn
                   from raw_party.dj_bd where nullif(trim(bd_id), '') is not null)
        select count(*) from v where rn = 1 and zt = '已报到'""",
    )
    mart = one(small_db, "select sum(registrations) from mart_party.party_registrations_by_area")
    assert raw > 0 and mart == raw


def test_party_service_hours_and_points_match_raw(small_db) -> None:
    raw_h, raw_p, raw_n = small_db.execute("""
        select sum(cast(fwsc as double)), sum(cast(cast(jf as double) as integer)), count(*)
        from (select distinct on (trim(jl_id)) * from raw_party.dj_fwjl where nullif(trim(fwrq), '') is not null)""").fetchone()
    mart_h, mart_p, mart_n = small_db.execute(
        "select sum(service_hours), sum(points), sum(service_records) from mart_party.party_service_monthly"
    ).fetchone()
    assert mart_n == raw_n
    assert float(mart_h) == pytest.approx(raw_h)
    assert mart_p == raw_p
    leaked = one(
        small_db, "select count(*) from mart_party.party_service_monthly where member_key like 'DY%'"
    )
    assert leaked == 0


def test_party_meetings_of_branches_match_raw(small_db) -> None:
    raw = one(
        small_db,
        """
        select count(distinct trim(m.hy_id)) from raw_party.dj_shyk m
        join raw_party.dj_org o on trim(o.org_id) = trim(m.org_id)
        where trim(o.org_type) like '%支部' and nullif(trim(m.jxsj), '') is not null""",
    )
    mart = one(
        small_db,
        """select sum(general_assemblies + committee_meetings + group_meetings + party_lectures)
                            from mart_party.party_meeting_compliance""",
    )
    assert raw > 0 and mart == raw
    # each branch appears once per quarter that had any meeting city-wide
    q = one(small_db, "select count(distinct quarter_start) from mart_party.party_meeting_compliance")
    b = one(
        small_db,
        "select count(distinct trim(org_id)) from raw_party.dj_org where trim(org_type) like '%支部'",
    )
    assert one(small_db, "select count(*) from mart_party.party_meeting_compliance") == q * b


def test_party_grid_coverage_lists_every_grid(small_db) -> None:
    grids = one(small_db, "select count(distinct trim(wgbm)) from raw_grid.wg_grid")
    assert one(small_db, "select count(*) from mart_party.party_grid_coverage") == grids
    # grid branches whose text names the grid exactly are all found
    exact = one(
        small_db,
        """
        select count(*) from raw_party.dj_org o join raw_grid.wg_grid g on trim(g.wgmc) = trim(o.wgmc)
        where trim(o.org_type) = '网格党支部'""",
    )
    assert one(small_db, "select sum(grid_branches) from mart_party.party_grid_coverage") >= exact
    without = one(small_db, "select count(*) from mart_party.party_grid_coverage where not has_party_org")
    assert 0 < without < grids


def test_grid_timeliness_matches_raw_wg_sj(small_db) -> None:
    """Every raw event is counted, placed in the grid the identity layer gives it (identity.grid_xref by sjbh), not
    by its stated wgbm: events without a code (or with one the grid system does not know) that the identity layer
    places by coordinates or address are no longer dropped — the totals against raw differ from the old
    stated-code reconciliation by exactly those events. Events it places in no grid are the unplaced rows
    (grid_code NULL) and in neither group of the comparison."""
    events = """
        select e.*, x.grid_code as placed_grid
        from (select distinct on (trim(sjbh)) * from raw_grid.wg_sj where nullif(trim(sbsj), '') is not null) as e
        left join identity.grid_xref as x
            on x.source_system = 'grid' and x.source_table = 'wg_sj' and x.source_key = trim(e.sjbh)"""
    totals = """
        select count(*) filter (where nullif(trim(jasj), '') is not null),
               count(*) filter (where cast(jasj as timestamp) <= cast(clsx as timestamp))
        from ({events}) as e {where}"""
    raw_closed, raw_on_time = small_db.execute(totals.format(events=events, where="")).fetchone()
    closed, on_time = small_db.execute(
        "select sum(events_closed), sum(closed_on_time) from mart_demands.demands_grid_timeliness"
    ).fetchone()
    assert (closed, on_time) == (raw_closed, raw_on_time)
    placed = small_db.execute(totals.format(events=events, where="where placed_grid is not null")).fetchone()
    cmp = small_db.execute(
        "select sum(closed_certified + closed_other), sum(on_time_certified + on_time_other) "
        "from mart_demands.demands_timeliness_comparison"
    ).fetchone()
    assert cmp == placed


def test_needs_list_counts_every_record(small_db) -> None:
    raw = one(
        small_db,
        """
        select (select count(distinct trim(gdbh)) from raw_hotline.tickets where nullif(trim(gdbh), '') is not null)
             + (select count(distinct trim(sjbh)) from raw_grid.wg_sj)
             + (select count(distinct trim(tsbh)) from raw_property.complaints where nullif(trim(tsbh), '') is not null)""",
    )
    assert one(small_db, "select sum(needs) from mart_lists.lists_needs") == raw


def test_department_pairing_is_the_top_handler(small_db) -> None:
    """An event's community is the identity layer's placement (identity.grid_xref by sjbh), not the first 12 digits
    of its stated wgbm, so events without a code count for the community their coordinates or address give."""
    mismatches = one(
        small_db,
        """
        with h as (select x.community_code c, upper(trim(czbm_uscc)) d, count(*) n
                   from (select distinct on (trim(sjbh)) * from raw_grid.wg_sj) e
                   join identity.grid_xref x
                     on x.source_system = 'grid' and x.source_table = 'wg_sj' and x.source_key = trim(e.sjbh)
                   where x.community_code is not null and nullif(trim(czbm_uscc), '') is not null
                     and upper(trim(czbm_uscc)) in (select upper(trim(uscc)) from raw_reference.departments)
                   group by 1, 2),
             top as (select c, max(n) n from h group by c)
        select count(*) from mart_lists.lists_department_pairing p
        join top t on t.c = p.community_code
        where p.events_handled <> t.n""",
    )
    assert mismatches == 0
    assert one(small_db, "select count(*) from mart_lists.lists_department_pairing") > 0


def test_no_raw_identifiers_in_public_marts(small_db) -> None:
    cols = small_db.execute("""select table_schema, table_name, column_name from information_schema.columns
                           where table_schema in ('mart_property', 'mart_party', 'mart_lists', 'mart_demands')""").fetchall()
    names = {c[2] for c in cols}
    assert not names & {"id_no", "phone", "name", "member_id", "sfzh", "sjhm", "xm"}


IN_SERVICE_SQL = """
    with v as (select trim(dy_id) id, trim(djzt) djzt, nullif(trim(gzdw), '') gzdw,
                      row_number() over (partition by trim(dy_id) order by gxsj desc, _loaded_at desc) rn
               from raw_party.dj_dy where nullif(trim(dy_id), '') is not null)
    select count(*) from v where rn = 1 and djzt = '正常' and gzdw is not null and gzdw not in ('退休', '离休', '离退休')"""


def test_party_check_in_rate_counts_every_in_service_member(small_db, schema: str = "mart_party") -> None:
    mart = f"{schema}.party_check_in_rate_by_community"
    members, checked = small_db.execute(
        f"select sum(in_service_members), sum(members_checked_in) from {mart}"
    ).fetchone()
    assert members == one(small_db, IN_SERVICE_SQL) > 0
    registered = one(
        small_db, "select count(distinct trim(dy_id)) from raw_party.dj_bd where trim(zt) = '已报到'"
    )
    assert 0 < checked <= registered
    bad = one(
        small_db,
        f"""select count(*) from {mart}
        where (in_service_members = 0 and check_in_rate is not null)
           or (in_service_members > 0 and abs(check_in_rate - members_checked_in * 1.0 / in_service_members) > 1e-12)""",
    )
    assert bad == 0
    # one row per community of the divisions reference, plus the row of unknown home communities
    communities = one(
        small_db,
        "select count(distinct trim(division_code)) from raw_reference.divisions where trim(level) = '社区'",
    )
    assert one(small_db, f"select count(community_code) from {mart}") >= communities
    assert one(small_db, f"select count(*) from {mart} where community_code is null") == 1
