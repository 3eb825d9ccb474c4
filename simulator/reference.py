"""Reference data of the demo city: divisions, 109 departments, event categories."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.contract import reference_fields
from simulator.geography import CITY_AREA, DISTRICTS, Geography
from simulator.ids import make_uscc
from simulator.rng import stream

CITY_DEPARTMENTS = [
    "发展和改革委员会",
    "教育局",
    "科学技术局",
    "经济和信息化局",
    "民族宗教事务委员会",
    "公安局",
    "民政局",
    "司法局",
    "财政局",
    "人力资源和社会保障局",
    "自然资源和规划局",
    "生态环境局",
    "住房和城市更新局",
    "城市管理执法委员会",
    "交通运输局",
    "水务局",
    "农业农村局",
    "商务局",
    "文化和旅游局",
    "卫生健康委员会",
    "退役军人事务局",
    "应急管理局",
    "审计局",
    "市场监督管理局",
    "统计局",
    "医疗保障局",
    "园林和林业局",
    "体育局",
    "国有资产监督管理委员会",
    "信访局",
    "政务服务和大数据管理局",
    "人民防空办公室",
    "地方金融管理局",
    "机关事务管理局",
    "房产管理局",
    "口岸物流办公室",
    "粮食和物资储备局",
    "乡村振兴局",
    "招商局",
    "残疾人联合会",
    "妇女联合会",
    "总工会",
    "共青团委员会",
    "红十字会",
    "消防救援支队",
    "公共资源交易中心",
    "住房公积金中心",
    "社会保险管理中心",
    "税务局",
]
DISTRICT_DEPARTMENTS = [
    "民政局",
    "城市管理执法局",
    "卫生健康局",
    "教育局",
    "住房和城市更新局",
    "市场监督管理局",
    "人力资源局",
    "应急管理局",
    "司法局",
    "政务服务和大数据管理局",
]

# GB/T 30428.2-style event categories: (major code, major name, [(minor code, minor name, limit hours)]).
EVENT_CATEGORIES = [
    (
        "01",
        "市容环境",
        [
            ("01", "私搭乱建", 72),
            ("02", "暴露垃圾", 24),
            ("03", "积存垃圾渣土", 48),
            ("04", "道路不洁", 24),
            ("05", "水域不洁", 72),
            ("06", "绿地脏乱", 48),
            ("07", "乱堆物料", 48),
        ],
    ),
    ("02", "宣传广告", [("01", "非法小广告", 24), ("02", "违章张贴悬挂", 48), ("03", "广告招牌破损", 72)]),
    (
        "03",
        "施工管理",
        [("01", "施工扰民", 24), ("02", "工地扬尘", 24), ("03", "道路遗撒", 24), ("04", "施工占道", 48)],
    ),
    (
        "04",
        "突发事件",
        [
            ("01", "路面塌陷", 4),
            ("02", "自来水管破裂", 4),
            ("03", "燃气管道破裂", 2),
            ("04", "下水道堵塞", 12),
            ("05", "道路积水", 12),
            ("06", "火灾隐患", 4),
        ],
    ),
    (
        "05",
        "街面秩序",
        [
            ("01", "无照经营游商", 24),
            ("02", "占道经营", 24),
            ("03", "店外经营", 24),
            ("04", "机动车乱停放", 24),
            ("05", "非机动车乱停放", 24),
            ("06", "露天烧烤", 12),
        ],
    ),
    (
        "06",
        "市政设施",
        [("01", "井盖缺失破损", 12), ("02", "路灯不亮", 72), ("03", "道路破损", 72), ("04", "护栏损坏", 72)],
    ),
    ("07", "园林绿化", [("01", "树木倒伏", 12), ("02", "绿地破坏", 72), ("03", "树木修剪", 168)]),
    (
        "08",
        "房屋管理",
        [("01", "电梯故障", 24), ("02", "房屋漏水", 72), ("03", "违规装修", 72), ("04", "物业服务纠纷", 168)],
    ),
    (
        "09",
        "社会治安",
        [("01", "噪音扰民", 24), ("02", "邻里纠纷", 168), ("03", "群租房", 168), ("04", "消防通道堵塞", 24)],
    ),
    (
        "10",
        "民生服务",
        [
            ("01", "养老服务", 168),
            ("02", "低保救助", 168),
            ("03", "就业帮扶", 168),
            ("04", "停水停电", 12),
            ("80", "社区便民设施", 168),
            ("81", "小区停车管理", 72),
        ],
    ),
]


def build_departments(seed: int) -> pd.DataFrame:
    """109 departments: 49 municipal bodies plus 10 bureaus in each of the 6 districts, with valid USCCs."""
    rng = stream(seed, "departments")
    rows = []
    bodies = rng.choice(
        10**7, size=len(CITY_DEPARTMENTS) + len(DISTRICTS) * len(DISTRICT_DEPARTMENTS), replace=False
    )
    i = 0
    for name in CITY_DEPARTMENTS:
        rows.append(
            (
                make_uscc("1", "1", CITY_AREA, f"{10**7 + bodies[i]:08d}"),
                "江城市" + name,
                "市" + _short(name),
                "市直部门",
            )
        )
        i += 1
    for dcode, dname in DISTRICTS:
        for name in DISTRICT_DEPARTMENTS:
            rows.append(
                (
                    make_uscc("1", "1", dcode, f"{10**7 + bodies[i]:08d}"),
                    dname + name,
                    dname[:-1] + _short(name),
                    "区直部门",
                )
            )
            i += 1
    depts = pd.DataFrame(rows, columns=["uscc", "dept_name", "short_name", "dept_type"])
    assert len(depts) == 109 and depts["uscc"].is_unique
    return depts


def _short(name: str) -> str:
    for long, short in [
        ("发展和改革委员会", "发改委"),
        ("人力资源和社会保障局", "人社局"),
        ("城市管理执法委员会", "城管委"),
        ("卫生健康委员会", "卫健委"),
        ("政务服务和大数据管理局", "政数局"),
        ("市场监督管理局", "市场监管局"),
        ("住房和城市更新局", "住更局"),
        ("自然资源和规划局", "自规局"),
        ("国有资产监督管理委员会", "国资委"),
    ]:
        if name == long:
            return short
    return name


def build_event_categories() -> pd.DataFrame:
    rows = [
        (major + minor, major_name, minor_name, hours)
        for major, major_name, minors in EVENT_CATEGORIES
        for minor, minor_name, hours in minors
    ]
    return pd.DataFrame(rows, columns=["category_code", "major_name", "minor_name", "default_limit_hours"])


def reference_tables(seed: int, geo: Geography) -> dict[str, pd.DataFrame]:
    fields = reference_fields()
    tables = {
        "divisions": geo.divisions,
        "departments": build_departments(seed),
        "event_categories": build_event_categories(),
    }
    return {name: df[fields[name]] for name, df in tables.items()}


def write_reference(out_dir: Path, tables: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Writes divisions.csv, departments.csv, event_categories.csv (UTF-8, '\\n' line ends)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, df in tables.items():
        with (out_dir / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(df.columns)
            for row in df.itertuples(index=False):
                writer.writerow(
                    ["" if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in row]
                )
        counts[name] = len(df)
    return counts
