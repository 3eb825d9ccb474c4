"""Throwaway raw warehouse for dbt tests.

``build_raw_fixture(conn)`` creates every raw table of the source contract
(``raw_<system>.<table>``: every contract field as VARCHAR, plus ``_batch_id``,
``_loaded_at`` TIMESTAMP, ``_row_hash`` and, for file systems, ``_source_file``) and inserts a
handful of hand-written, contract-shaped rows per table, dirt included. Works with a DuckDB
connection or a psycopg (3) connection. ``EXPECTED_ROWS`` gives the row count each dbt model
must produce from these rows.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

CONTRACT = Path(__file__).resolve().parents[2] / "yiwang" / "contracts" / "source_systems.yaml"

T0 = datetime(2026, 11, 1, 2, 0, 0)  # first batch (UTC)
T1 = datetime(2026, 11, 2, 2, 0, 0)  # second batch (UTC)


def contract_tables() -> list[tuple[str, str, list[str], bool]]:
    """(system, table, fields, is_file_system) for every raw table of the contract."""
    contract = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    out: list[tuple[str, str, list[str], bool]] = []
    for tname, t in contract["reference"].items():
        out.append(("reference", tname, list(t["fields"]), False))
    for system, body in contract["systems"].items():
        is_file = body["delivery"]["kind"] == "files"
        tables = next(body[k] for k in ("tables", "resources", "files", "records") if k in body)
        for tname, t in tables.items():
            fields = t.get("fields") or t["headers"]
            out.append((system, tname, list(fields), is_file))
    return out


def _r(batch: str = "b1", loaded: datetime = T0, source_file: str | None = None, **fields: Any) -> dict:
    row = {k: (None if v is None else str(v)) for k, v in fields.items()}
    row["_batch_id"] = batch
    row["_loaded_at"] = loaded
    if source_file is not None:
        row["_source_file"] = source_file
    return row


U_DEPT = "11420100MB1234567X"  # a department present in reference.departments
PF = "acme"  # property company folder

ROWS: dict[tuple[str, str], list[dict]] = {
    ("reference", "divisions"): [
        _r(division_code="420100000000", name="某市", level="市", parent_code=None),
        _r(division_code="420106000000", name="某区", level="区", parent_code="420100000000"),
        _r(division_code="420106001000", name="某街道", level="街道", parent_code="420106000000"),
        _r(division_code="420106001001", name="前进社区", level="社区", parent_code="420106001000"),
    ],
    ("reference", "departments"): [
        _r(uscc=U_DEPT, dept_name="某市行政审批局", short_name="审批局", dept_type="政府工作部门"),
        _r(uscc="11420100MB7654321Y", dept_name="某市民政局", short_name="民政局", dept_type="政府工作部门"),
    ],
    ("reference", "event_categories"): [
        _r(category_code="0101", major_name="市容环境", minor_name="暴露垃圾", default_limit_hours="24"),
        _r(category_code="0102", major_name="市容环境", minor_name="积存垃圾渣土", default_limit_hours="48"),
        _r(category_code="0180", major_name="市容环境", minor_name="本地增补", default_limit_hours="72"),
    ],
    ("party", "dj_org"): [
        _r(
            org_id="ORG001",
            org_name="中共某街道工作委员会",
            org_type="街道党工委",
            parent_id=None,
            qhdm="420106001000",
            wgmc=None,
            host_uscc=None,
            sj_xm="王建国（书记）",
            lxdh="027-85551234",
            gxsj="2026-10-01 09:00:00",
        ),
        _r(
            org_id="ORG002",
            org_name="中共前进社区委员会",
            org_type="社区党委",
            parent_id="ORG001",
            qhdm="420106001001",
            wgmc="第3网格",
            host_uscc="12345678-9",
            sj_xm="李红",
            lxdh="13912345678",
            gxsj="2026-10-01 09:00:00",
        ),
        # a later version of ORG002 (new secretary): staging must keep this one
        _r(
            "b2",
            T1,
            org_id=" ORG002 ",
            org_name="中共前进社区委员会",
            org_type="社区党委",
            parent_id="ORG001",
            qhdm="420106001001",
            wgmc="420106001001003",
            host_uscc="11420100mb1234567x",
            sj_xm="張偉",
            lxdh="+86 139-1234-5678",
            gxsj="2026-10-20 09:00:00",
        ),
    ],
    ("party", "dj_dy"): [
        _r(
            dy_id="DY001",
            xm="张三（书记） ",
            xb="男",
            sfzh="420106640215123",
            csrq="1964-02-15",
            mz="汉",
            xl="本科",
            rylb="正式党员",
            rdrq="1990-07-01",
            org_id="ORG002",
            gzdw="某公司",
            sjhm="+86 138-0013-8000",
            jtzz="前进小区3栋2单元501",
            sfldy="false",
            djzt="正常",
            gxsj="2026-10-01 09:00:00",
        ),
        _r(
            dy_id="DY002",
            xm="於明",
            xb="2",
            sfzh="42010619800101012x",
            csrq="1980/1/1",
            mz="汉族",
            xl=None,
            rylb="预备党员",
            rdrq="2025/7/1",
            org_id="ORG002",
            gzdw=None,
            sjhm="8613800138000",
            jtzz="3-2-501",
            sfldy="0",
            djzt="正常",
            gxsj="2026-10-01 09:00:00",
        ),
        _r(
            dy_id="DY003",
            xm="阿依古丽.买买提",
            xb="F",
            sfzh="４２０１０６１９８００１０１０１２Ｘ",
            csrq="19800101",
            mz="05",
            xl="大专",
            rylb="正式党员",
            rdrq="20000701",
            org_id="ORG002",
            gzdw=None,
            sjhm="13812345678/13987654321",
            jtzz="三栋二单元五〇一",
            sfldy="true",
            djzt="失联",
            gxsj="2026-10-01 09:00:00",
        ),
        _r(
            dy_id="DY004",
            xm="陳麗華",
            xb="M",
            sfzh="4.20103E+17",
            csrq="23422",
            mz="01",
            xl=None,
            rylb="正式党员",
            rdrq="1985年3月1日",
            org_id="ORG002",
            gzdw=None,
            sjhm="13800000000",
            jtzz="前进小区",
            sfldy="1",
            djzt="正常",
            gxsj="2026-10-01 09:00:00",
        ),
        _r(
            dy_id="DY005",
            xm="刘 洋",
            xb="1",
            sfzh="420106 1980-0101-0021",
            csrq="1980年1月1日",
            mz="汉",
            xl=None,
            rylb="正式党员",
            rdrq="2001-07-01",
            org_id="ORG002",
            gzdw=None,
            sjhm="(027)85551234",
            jtzz="前进小区",
            sfldy="false",
            djzt="正常",
            gxsj="2026-10-01 09:00:00",
        ),
        _r(
            dy_id="DY006",
            xm="赵六",
            xb="女",
            sfzh=None,
            csrq="not a date",
            mz="汉族",
            xl=None,
            rylb="正式党员",
            rdrq="2001-07-01",
            org_id="ORG002",
            gzdw=None,
            sjhm=None,
            jtzz="前进小区",
            sfldy="false",
            djzt="正常",
            gxsj="2026-10-01 09:00:00",
        ),
    ],
    ("party", "dj_bd"): [
        _r(
            bd_id="BD001",
            dy_id="DY001",
            xm="张三",
            sfzh="420106196402151231",
            czd_sq="前进社区居委会",
            czd_dz="前进小区3栋2单元501",
            wgmc="前进社区3网格",
            bdrq="2024-03-01",
            zt="已报到",
            gxsj="2026-10-01 09:00:00",
        ),
        _r(
            bd_id="BD002",
            dy_id="DY002",
            xm="於明",
            sfzh=None,
            czd_sq="前进居委会",
            czd_dz="前进小区1栋",
            wgmc=None,
            bdrq="2024/3/2",
            zt="已注销",
            gxsj="2026-10-01 09:00:00",
        ),
    ],
    ("party", "dj_fwjl"): [
        _r(
            jl_id="JL001",
            dy_id="DY001",
            hdlx="志愿服务",
            wgmc="第3网格",
            fwrq="2026-09-10",
            fwsc="2.5",
            jf="5",
            gxsj="2026-10-01 09:00:00",
        ),
        _r(
            jl_id="JL002",
            dy_id="DY002",
            hdlx="为群众办实事",
            wgmc=None,
            fwrq="2026-09-11",
            fwsc="1",
            jf="2",
            gxsj="2026-10-01 09:00:00",
        ),
    ],
    ("party", "dj_shyk"): [
        _r(
            hy_id="HY001",
            org_id="ORG002",
            hylx="支部党员大会",
            jxsj="2026-09-15 14:30:00",
            ydrs="30",
            sdrs="28",
            gxsj="2026-10-01 09:00:00",
        ),
        _r(
            hy_id="HY002",
            org_id="ORG002",
            hylx="党课",
            jxsj="2026/9/20 9:00",
            ydrs="30",
            sdrs="25",
            gxsj="2026-10-01 09:00:00",
        ),
    ],
    ("grid", "wg_grid"): [
        _r(
            wgbm="420106001001003",
            wgmc="前进社区第3网格",
            sqbm="420106001001",
            sqmc="前进社区",
            jdbm="420106001",
            jdmc="某街道",
            wglx="成熟小区",
            hs="420",
            rks="1100",
            wgy_id="WGY001",
            bj_wkt="POLYGON((114.1 30.5,114.2 30.5,114.2 30.6,114.1 30.5))",
            update_time="2026-10-01 08:00:00",
        ),
        _r(
            wgbm="420106001001004",
            wgmc="前进社区第4网格",
            sqbm="420106001001",
            sqmc="前进社区",
            jdbm="420106001",
            jdmc="某街道",
            wglx="散居楼院",
            hs="300",
            rks="800",
            wgy_id=None,
            bj_wkt=None,
            update_time="2026-10-01 08:00:00",
        ),
    ],
    ("grid", "wg_wgy"): [
        _r(
            wgy_id="WGY001",
            xm="孙丽",
            sfzh="420106199001011231",
            sjhm="13700001111",
            wgbm="420106001001003",
            rylx="专职",
            sgzs="1",
            rzrq="2020-05-01",
            zt="在岗",
            update_time="2026-10-01 08:00:00",
        ),
        _r(
            wgy_id="WGY002",
            xm="周强",
            sfzh="42010619900201002X",
            sjhm="13700002222",
            wgbm="420106001001004",
            rylx="兼职",
            sgzs="0",
            rzrq="2021-06-01",
            zt="离岗",
            update_time="2026-10-01 08:00:00",
        ),
    ],
    ("grid", "wg_syrk"): [
        _r(
            rkid="RK001",
            xm="张三",
            sfzh="420106196402151231",
            sjhm="13800138000",
            xb="男",
            csrq="1964-02-15",
            jzdz="前进小区3栋2单元501",
            wgbm="420106001001003",
            jzlx="户籍",
            tsbq="独居老人",
            djsj="2020-01-01 10:00:00",
            sfsc="0",
            update_time="2026-10-01 08:00:00",
        ),
        _r(
            rkid="RK002",
            xm="王五",
            sfzh=None,
            sjhm=None,
            xb="2",
            csrq=None,
            jzdz="前进小区1栋",
            wgbm="420106001001003",
            jzlx="流动",
            tsbq=None,
            djsj="2021-01-01 10:00:00",
            sfsc="0",
            update_time="2026-10-01 08:00:00",
        ),
        # RK002 moved away: a later version soft-deletes it; it must stay, flagged
        _r(
            "b2",
            T1,
            rkid="RK002",
            xm="王五",
            sfzh=None,
            sjhm=None,
            xb="2",
            csrq=None,
            jzdz="前进小区1栋",
            wgbm="420106001001003",
            jzlx="流动",
            tsbq=None,
            djsj="2021-01-01 10:00:00",
            sfsc="1",
            update_time="2026-10-25 08:00:00",
        ),
        _r(
            rkid="RK003",
            xm="錢七",
            sfzh="420106800101002",
            sjhm="027-85551234",
            xb="F",
            csrq="1980/01/01",
            jzdz="前进小区2栋",
            wgbm="420106001001004",
            jzlx="寄住",
            tsbq="低保,残疾",
            djsj="2022-01-01 10:00:00",
            sfsc="0",
            update_time="2026-10-01 08:00:00",
        ),
    ],
    ("grid", "wg_sj"): [
        _r(
            sjbh="SJ20261001001",
            sjly="网格员巡查",
            lbdm="0101",
            sjms="小区门口暴露垃圾",
            fsdz="前进小区北门",
            jd="114.150000",
            wd="30.550000",
            wgbm="420106001001003",
            sbr_xm="孙丽",
            sbr_dh="13700001111",
            czbm_uscc=U_DEPT,
            zt="结案",
            sbsj="2026-10-01 09:00:00",
            clsx="2026-10-02 09:00:00",
            jasj="2026-10-01 18:00:00",
            myd="5",
            update_time="2026-10-01 18:00:00",
        ),
        _r(
            sjbh="SJ20261001002",
            sjly="居民上报",
            lbdm=None,
            sjms="噪音扰民",
            fsdz="前进小区3栋",
            jd=None,
            wd=None,
            wgbm=None,
            sbr_xm=None,
            sbr_dh=None,
            czbm_uscc=None,
            zt="上报",
            sbsj="2026-10-01 10:00:00",
            clsx="2026-10-03 10:00:00",
            jasj=None,
            myd=None,
            update_time="2026-10-01 10:00:00",
        ),
    ],
    ("grid", "wg_sjlz"): [
        _r(
            lzid="LZ001",
            sjbh="SJ20261001001",
            hj="上报",
            czdw="前进社区",
            czr="孙丽",
            czsj="2026-10-01 09:00:00",
            bz=None,
        ),
        _r(
            lzid="LZ002",
            sjbh="SJ20261001001",
            hj="结案",
            czdw="某街道城管科",
            czr="李四",
            czsj="2026-10-01 18:00:00",
            bz="已清理",
        ),
        _r(
            lzid="LZ003",
            sjbh="SJ20261001002",
            hj="上报",
            czdw="前进社区",
            czr="系统",
            czsj="2026-10-01 10:00:00",
            bz=None,
        ),
    ],
    ("approval", "items"): [
        _r(
            sxbm="XK00123001",
            ssbm="11420100MB1234567X4XK00123001",
            sxmc="食品经营许可",
            sxlx="行政许可",
            bmUscc=U_DEPT,
            bmmc="市审批局",
            xscj="市级",
            fdsx="20",
            cnsx="5",
            bjlx="承诺件",
            wbsd="全程网办",
            dxcs="0",
            updatedAt="2026-10-01T09:00:00+08:00",
        ),
        _r(
            sxbm="QR00456001",
            ssbm="11420100MB7654321Y4QR00456001",
            sxmc="高龄津贴资格确认",
            sxlx="行政确认",
            bmUscc="11420100MB9999999Z",
            bmmc="区民政局",
            xscj="区级",
            fdsx="10",
            cnsx="3",
            bjlx="承诺件",
            wbsd="一次办",
            dxcs="1",
            updatedAt="2026-10-01T01:00:00Z",
        ),
        _r(
            sxbm="GG00789001",
            ssbm="11420100MB1234567X4GG00789001",
            sxmc="居住证办理",
            sxlx="公共服务",
            bmUscc=U_DEPT,
            bmmc="市审批局",
            xscj="街道",
            fdsx="0",
            cnsx="0",
            bjlx="即办件",
            wbsd="窗口办",
            dxcs="1",
            updatedAt="2026-10-01T09:00:00+08:00",
        ),
        # newer version of XK00123001 with a shorter promise
        _r(
            "b2",
            T1,
            sxbm="XK00123001",
            ssbm="11420100MB1234567X4XK00123001",
            sxmc="食品经营许可",
            sxlx="行政许可",
            bmUscc=U_DEPT,
            bmmc="市审批局",
            xscj="市级",
            fdsx="20",
            cnsx="3",
            bjlx="承诺件",
            wbsd="全程网办",
            dxcs="0",
            updatedAt="2026-10-21T09:00:00+08:00",
        ),
    ],
    ("approval", "cases"): [
        _r(
            bjbh="BJ2026000001",
            sxbm="XK00123001",
            sqrlx="自然人",
            sqrmc="张三",
            sqrzjhm="420106640215123",
            sqrdh="13800138000",
            sqrdz="前进小区3栋2单元501",
            qd="网上",
            slsj="2026-10-05T10:00:00+08:00",
            cnbjsj="2026-10-08T18:00:00+08:00",
            bjsj="2026-10-07T16:30:00+08:00",
            bjjg="准予",
            updatedAt="2026-10-07T16:30:00+08:00",
        ),
        _r(
            bjbh="BJ2026000002",
            sxbm="GG00789001",
            sqrlx="法人",
            sqrmc="某餐饮有限公司",
            sqrzjhm="91420106mA4KXXXX1Q",
            sqrdh=None,
            sqrdz=None,
            qd="窗口",
            slsj="2026-10-06T02:00:00Z",
            cnbjsj="2026-10-06T18:00:00+08:00",
            bjsj=None,
            bjjg="办理中",
            updatedAt="2026-10-06T02:00:00Z",
        ),
    ],
    ("approval", "evaluations"): [
        _r(pjid="PJ001", bjbh="BJ2026000001", pjdj="5", pjnr="很快", pjsj="2026-10-07T17:00:00+08:00"),
        _r(pjid="PJ002", bjbh="BJ2026000002", pjdj="3", pjnr=None, pjsj="2026-10-06T12:00:00+08:00"),
    ],
    ("property", "estates"): [
        _r(
            source_file=f"{PF}/2026-09/estates.csv",
            xqmc="前进小区",
            dz="某区前进路1号",
            sq="前进社区",
            wyqy="某物业公司",
            wyqy_uscc="91420106MA4K000001",
            hs="420",
            ld="12",
            ywh="是",
            dzz="否",
            jcnf="2005",
        ),
        _r(
            source_file=f"{PF}/2026-09/estates.csv",
            xqmc="幸福里",
            dz="某区幸福路8号",
            sq="前进社区",
            wyqy="某物业公司",
            wyqy_uscc="91420106MA4K000001",
            hs="300",
            ld="8",
            ywh="否",
            dzz="是",
            jcnf="2012",
        ),
        # re-sent file next batch: corrected households for 前进小区
        _r(
            "b2",
            T1,
            source_file=f"{PF}/2026-09/estates.csv",
            xqmc="前进小区",
            dz="某区前进路1号",
            sq="前进社区",
            wyqy="某物业公司",
            wyqy_uscc="91420106MA4K000001",
            hs="430",
            ld="12",
            ywh="是",
            dzz="是",
            jcnf="2005",
        ),
        # same estate name at another company: a different key
        _r(
            source_file="other/2026-09/estates.xlsx",
            xqmc="前进小区",
            dz="前进路1号",
            sq="前进社区",
            wyqy="另一物业",
            wyqy_uscc=None,
            hs="420",
            ld="12",
            ywh="1",
            dzz="0",
            jcnf="2005",
        ),
    ],
    ("property", "owners"): [
        _r(
            source_file=f"{PF}/2026-09/owners.csv",
            xqmc="前进小区",
            ld="3",
            dy="2",
            fh="501",
            yzxm="张三",
            yzdh="13800138000",
            yzzjhm="420106196402151231",
            mj="89.5",
            rzrq="2005-10-01",
        ),
        _r(
            source_file=f"{PF}/2026-09/owners.csv",
            xqmc="前进小区",
            ld=None,
            dy=None,
            fh="3-2-502",
            yzxm="李四",
            yzdh="13900139000",
            yzzjhm="420106********1234",
            mj="90",
            rzrq="2005/10/1",
        ),
        _r(
            source_file=f"{PF}/2026-09/owners.csv",
            xqmc="前进小区",
            ld="1",
            dy="1",
            fh="101",
            yzxm="王五",
            yzdh="13700137000",
            yzzjhm="4.20106E+17",
            mj="60.25",
            rzrq="38626",
        ),
        # owners listed twice in the same file
        _r(
            source_file=f"{PF}/2026-09/owners.csv",
            xqmc="前进小区",
            ld="1",
            dy="1",
            fh="101",
            yzxm="王五",
            yzdh="13700137000",
            yzzjhm="4.20106E+17",
            mj="60.25",
            rzrq="38626",
            _dup="x",
        ),
    ],
    ("property", "complaints"): [
        _r(
            source_file=f"{PF}/2026-09/complaints.csv",
            tsbh="TS001",
            xqmc="前进小区",
            fwdz="3栋2单元501",
            tsr="张三",
            dh="13800138000",
            lb="噪音",
            qd="12345",
            slsj="2026-09-10 10:00:00",
            bjsj="2026-09-12 10:00:00",
            jg="已协调",
            myd="满意",
        ),
        _r(
            source_file=f"{PF}/2026-09/complaints.csv",
            tsbh="TS002",
            xqmc="幸福里",
            fwdz=None,
            tsr="匿名",
            dh=None,
            lb="收费",
            qd="物业热线",
            slsj="2026/9/11 9:00",
            bjsj=None,
            jg=None,
            myd=None,
        ),
    ],
    ("services", "life_items"): [
        _r(
            fwbm="SH0001",
            fwmc="老年助餐",
            fwlb="助餐",
            gysmc="某餐饮有限公司",
            gysUscc="91420106MA4K000009",
            fwzd='["ZD001","ZD002"]',
            sfzxyy="true",
            updatedAt="2026-10-01 09:00:00",
        ),
        _r(
            fwbm="SH0002",
            fwmc="上门家政",
            fwlb="家政",
            gysmc="某市民政局",
            gysUscc="11420100MB7654321Y",
            fwzd='["ZD001"]',
            sfzxyy="false",
            updatedAt="2026-10-01 09:00:00",
        ),
        _r(
            fwbm="SH0003",
            fwmc="法律咨询",
            fwlb="法律",
            gysmc="某律所",
            gysUscc=None,
            fwzd="[]",
            sfzxyy="true",
            updatedAt="2026-10-01 09:00:00",
        ),
    ],
    ("services", "sites"): [
        _r(
            zdid="ZD001",
            zdmc="前进社区党群服务中心",
            zdlx="党群服务中心",
            dz="前进路2号",
            sqmc="前进社区",
            jd="114.15",
            wd="30.55",
            updatedAt="2026-10-01 09:00:00",
        ),
        _r(
            zdid="ZD002",
            zdmc="前进社区食堂",
            zdlx="社区食堂",
            dz="前进路3号",
            sqmc="前进社区",
            jd=None,
            wd=None,
            updatedAt="2026-10-01 09:00:00",
        ),
    ],
    ("services", "orders"): [
        _r(
            ddbh="DD001",
            fwbm="SH0001",
            xm="张三",
            dh="13800138000",
            dz="前进小区3栋2单元501",
            xdsj="2026-10-10 11:00:00",
            wcsj="2026-10-10 12:00:00",
            zt="已完成",
            pf="5",
            updatedAt="2026-10-10 12:00:00",
        ),
        _r(
            ddbh="DD002",
            fwbm="SH0002",
            xm="李四",
            dh="139 0013 9000",
            dz=None,
            xdsj="2026-10-11 11:00:00",
            wcsj=None,
            zt="待服务",
            pf=None,
            updatedAt="2026-10-11 11:00:00",
        ),
    ],
    ("hotline", "tickets"): [
        _r(
            source_file="2026-10-01.jsonl",
            gdbh="GD20261001001",
            ldsj="2026-10-01 08:30:00",
            qd="电话",
            ldr="张先生",
            lddh="13800138000",
            sqlx="投诉",
            sqlb="噪音扰民",
            nr="前进小区3栋夜间施工噪音",
            dz="前进小区3栋",
            jdmc="某街道",
            sqmc="前进社区",
            cbdw="某市行政审批局",
            pdsj="2026-10-01 09:00:00",
            blsx="2026-10-03 09:00:00",
            bjsj="2026-10-02 15:00:00",
            hfjg="满意",
            cfgd=None,
            gxsj="2026-10-02 15:00:00",
        ),
        _r(
            source_file="2026-10-01.jsonl",
            gdbh="GD20261001002",
            ldsj="2026-10-01 09:30:00",
            qd="微信",
            ldr=None,
            lddh=None,
            sqlx="咨询",
            sqlb="社保",
            nr="咨询社保转移",
            dz=None,
            jdmc=None,
            sqmc=None,
            cbdw=None,
            pdsj=None,
            blsx=None,
            bjsj=None,
            hfjg="未回访",
            cfgd=None,
            gxsj="2026-10-01 09:30:00",
        ),
        # the day's file re-exported next day with the ticket updated
        _r(
            "b2",
            T1,
            source_file="2026-10-01.jsonl",
            gdbh="GD20261001002",
            ldsj="2026-10-01 09:30:00",
            qd="微信",
            ldr=None,
            lddh=None,
            sqlx="咨询",
            sqlb="社保",
            nr="咨询社保转移",
            dz=None,
            jdmc=None,
            sqmc=None,
            cbdw="某市人社局",
            pdsj="2026-10-01 10:00:00",
            blsx="2026-10-02 10:00:00",
            bjsj="2026-10-01 16:00:00",
            hfjg="基本满意",
            cfgd=None,
            gxsj="2026-10-01 16:00:00",
        ),
    ],
}

EXPECTED_ROWS: dict[str, int] = {
    "stg_reference__divisions": 4,
    "stg_reference__departments": 2,
    "stg_reference__event_categories": 3,
    "stg_party__orgs": 2,
    "stg_party__members": 6,
    "stg_party__registrations": 2,
    "stg_party__service_records": 2,
    "stg_party__meetings": 2,
    "stg_grid__grids": 2,
    "stg_grid__workers": 2,
    "stg_grid__residents": 3,
    "stg_grid__events": 2,
    "stg_grid__event_steps": 3,
    "stg_approval__items": 3,
    "stg_approval__cases": 2,
    "stg_approval__evaluations": 2,
    "stg_property__estates": 3,
    "stg_property__owners": 3,
    "stg_property__complaints": 2,
    "stg_services__life_items": 3,
    "stg_services__sites": 2,
    "stg_services__orders": 2,
    "stg_hotline__tickets": 2,
    "service_catalog": 6,
}

MODEL_SCHEMA = {name: ("mart_catalog" if name == "service_catalog" else "staging") for name in EXPECTED_ROWS}


def _row_hash(row: dict, fields: list[str], is_file: bool) -> str:
    payload = {f: row.get(f) for f in fields}
    if is_file:
        payload["_source_file"] = row.get("_source_file")
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _is_duckdb(conn: Any) -> bool:
    return "duckdb" in type(conn).__module__


def build_raw_fixture(conn: Any, rows: dict[tuple[str, str], list[dict]] | None = None) -> dict[str, int]:
    """Create every raw table of the contract on ``conn`` and insert ``rows`` (default ROWS).

    Returns the number of rows inserted per ``schema.table``. Rows that repeat an existing
    ``_row_hash`` (same content) are skipped, as the connectors do.
    """
    rows = ROWS if rows is None else rows
    duck = _is_duckdb(conn)
    cur = conn if duck else conn.cursor()
    inserted: dict[str, int] = {}
    from yiwang.ops import OPS_DDL  # the ops tables (staging anti-joins ops.raw_rejects)

    for stmt in OPS_DDL:
        cur.execute(stmt)
    for system, table, fields, is_file in contract_tables():
        schema = f"raw_{system}"
        cols = [f'"{f}" VARCHAR' for f in fields]
        cols += ['"_batch_id" VARCHAR', '"_loaded_at" TIMESTAMP', '"_row_hash" VARCHAR']
        if is_file:
            cols.append('"_source_file" VARCHAR')
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        cur.execute(f"DROP TABLE IF EXISTS {schema}.{table}")
        cur.execute(f"CREATE TABLE {schema}.{table} ({', '.join(cols)})")
        names = (
            list(fields) + ["_batch_id", "_loaded_at", "_row_hash"] + (["_source_file"] if is_file else [])
        )
        col_list = ", ".join(f'"{n}"' for n in names)
        ph = ", ".join(["?" if duck else "%s"] * len(names))
        seen: set[str] = set()
        n = 0
        for row in rows.get((system, table), []):
            unknown = set(row) - set(names) - {"_dup"}
            if unknown:
                raise ValueError(f"{schema}.{table}: fields not in the contract: {sorted(unknown)}")
            h = _row_hash(row, fields, is_file)
            if h in seen and "_dup" not in row:
                continue
            # a row listed twice inside one file lands twice (different row position): vary the hash
            if "_dup" in row:
                h = hashlib.sha256((h + str(row["_dup"])).encode()).hexdigest()
            seen.add(h)
            values = [row.get(f) for f in fields] + [row["_batch_id"], row["_loaded_at"], h]
            if is_file:
                values.append(row["_source_file"])
            cur.execute(f"INSERT INTO {schema}.{table} ({col_list}) VALUES ({ph})", values)
            n += 1
        inserted[f"{schema}.{table}"] = n
    if not duck:
        conn.commit()
    return inserted
