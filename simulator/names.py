"""Name pools for the demo city's residents (vectorised sampling, no per-row Faker calls)."""

from __future__ import annotations

import numpy as np

# Common surnames with rough relative frequencies.
SURNAMES: list[tuple[str, float]] = [
    ("王", 7.1),
    ("李", 7.0),
    ("张", 6.7),
    ("刘", 5.4),
    ("陈", 4.5),
    ("杨", 3.1),
    ("黄", 2.4),
    ("赵", 2.3),
    ("吴", 2.0),
    ("周", 1.9),
    ("徐", 1.4),
    ("孙", 1.4),
    ("马", 1.3),
    ("朱", 1.3),
    ("胡", 1.2),
    ("郭", 1.1),
    ("何", 1.1),
    ("高", 1.0),
    ("林", 1.0),
    ("罗", 0.9),
    ("郑", 0.9),
    ("梁", 0.9),
    ("谢", 0.8),
    ("宋", 0.7),
    ("唐", 0.7),
    ("许", 0.6),
    ("韩", 0.6),
    ("冯", 0.6),
    ("邓", 0.6),
    ("曹", 0.6),
    ("彭", 0.6),
    ("曾", 0.5),
    ("肖", 0.5),
    ("田", 0.5),
    ("董", 0.5),
    ("袁", 0.5),
    ("潘", 0.5),
    ("于", 0.5),
    ("蒋", 0.5),
    ("蔡", 0.5),
    ("余", 0.5),
    ("杜", 0.4),
    ("叶", 0.4),
    ("程", 0.4),
    ("苏", 0.4),
    ("魏", 0.4),
    ("吕", 0.4),
    ("丁", 0.4),
    ("任", 0.4),
    ("沈", 0.4),
    ("姚", 0.4),
    ("卢", 0.4),
    ("姜", 0.3),
    ("崔", 0.3),
    ("钟", 0.3),
    ("谭", 0.3),
    ("陆", 0.3),
    ("汪", 0.3),
    ("范", 0.3),
    ("金", 0.3),
    ("石", 0.3),
    ("廖", 0.3),
    ("贾", 0.3),
    ("夏", 0.3),
    ("韦", 0.3),
    ("付", 0.3),
    ("方", 0.3),
    ("白", 0.2),
    ("邹", 0.2),
    ("孟", 0.2),
    ("熊", 0.3),
    ("秦", 0.2),
    ("邱", 0.2),
    ("江", 0.2),
    ("尹", 0.2),
    ("薛", 0.2),
    ("闫", 0.2),
    ("段", 0.2),
    ("雷", 0.2),
    ("侯", 0.2),
    ("龙", 0.2),
    ("史", 0.2),
    ("陶", 0.2),
    ("黎", 0.2),
    ("贺", 0.2),
    ("顾", 0.2),
    ("毛", 0.2),
    ("郝", 0.2),
    ("龚", 0.2),
    ("邵", 0.2),
    ("万", 0.2),
    ("钱", 0.2),
    ("严", 0.2),
    ("覃", 0.2),
    ("武", 0.2),
    ("戴", 0.2),
    ("欧阳", 0.05),
    ("司马", 0.02),
    ("诸葛", 0.01),
]

MALE_CHARS = list(
    "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国志文博晨昊然轩峰亮成东海"
)
FEMALE_CHARS = list("芳娜敏静丽艳娟霞秀燕玲桂丹萍红玉兰英慧琳雪梅倩婷颖琪欣悦怡佳瑶晶洁璐蓉琴云凤月楠雯")
# The two most common full names, used to build "same name in the same grid" hard cases.
COMMON_NAMES = {"男": "张伟", "女": "王芳"}

# Minority names written with a middle dot (Uyghur style), with ethnic group.
MINORITY_NAMES = [
    "买买提·艾力",
    "阿不都拉·热合曼",
    "艾合买提·吐尔逊",
    "古丽娜尔·阿不都",
    "热依拉·买买提",
    "努尔兰·哈山",
    "迪丽拜尔·艾山",
    "吐尔洪·卡德尔",
    "帕提古丽·吾斯曼",
    "阿依古丽·托合提",
]

ETHNIC_CODES = {
    "汉族": "01",
    "蒙古族": "02",
    "回族": "03",
    "藏族": "04",
    "维吾尔族": "05",
    "苗族": "06",
    "土家族": "15",
}

# Simplified -> traditional for the characters of the name pools. Surnames whose traditional form is
# the same character are left out: 肖 is 肖 in traditional script too (蕭/萧 is a different surname),
# and the surname 范 stays 范 (範 is a different word). Every pair round-trips through the staging
# layer's OpenCC table (dbt_project/macros/t2s_map.sql), tests/simulator/test_dirt_coverage.py checks it.
TRADITIONAL = str.maketrans(
    {
        "张": "張",
        "刘": "劉",
        "陈": "陳",
        "杨": "楊",
        "黄": "黃",
        "赵": "趙",
        "吴": "吳",
        "孙": "孫",
        "马": "馬",
        "罗": "羅",
        "郑": "鄭",
        "谢": "謝",
        "许": "許",
        "韩": "韓",
        "冯": "馮",
        "邓": "鄧",
        "蒋": "蔣",
        "叶": "葉",
        "苏": "蘇",
        "吕": "呂",
        "卢": "盧",
        "钟": "鍾",
        "谭": "譚",
        "陆": "陸",
        "贾": "賈",
        "韦": "韋",
        "邹": "鄒",
        "闫": "閆",
        "龙": "龍",
        "贺": "賀",
        "顾": "顧",
        "龚": "龔",
        "万": "萬",
        "钱": "錢",
        "严": "嚴",
        "汤": "湯",
        "伟": "偉",
        "华": "華",
        "丽": "麗",
        "军": "軍",
        "红": "紅",
        "国": "國",
        "静": "靜",
        "强": "強",
        "杰": "傑",
        "涛": "濤",
        "刚": "剛",
        "辉": "輝",
        "鹏": "鵬",
        "兰": "蘭",
        "凤": "鳳",
        "飞": "飛",
        "云": "雲",
        "东": "東",
        "宁": "寧",
        "阳": "陽",
        "亮": "亮",
        "娟": "娟",
        "欢": "歡",
        "鑫": "鑫",
        "帅": "帥",
        "俊": "俊",
        "凯": "凱",
        "宇": "宇",
        "浩": "浩",
        "晓": "曉",
        "玲": "玲",
        "琳": "琳",
        "颖": "穎",
        "倩": "倩",
        "丹": "丹",
        "艳": "豔",
        "燕": "燕",
        "霞": "霞",
        "芳": "芳",
        "娜": "娜",
        "婷": "婷",
        "洁": "潔",
        "璐": "璐",
        # characters only the `southern` name style draws (none of them is in the default pools)
        "赖": "賴",
        "温": "溫",
        "区": "區",
        "麦": "麥",
        "关": "關",
        "诗": "詩",
        "咏": "詠",
        "贞": "貞",
        "锦": "錦",
    }
)


def to_traditional(text: str) -> str:
    return text.translate(TRADITIONAL)


def has_traditional_form(text: str) -> bool:
    return to_traditional(text) != text


# Name styles (`generate(names=...)`, `yiwang simulate --surnames`): which surname table and how given
# names are drawn. `default` is the demo city's (northern-leaning national frequencies). `southern` has a
# different head (陈 / 黄 / 林 / 梁 / 李 ...) and a pool of popular two-character given names that repeat, so
# full names collide more often. `uniform` draws every surname of the default table equally often (no head).
NAME_STYLES = ("default", "southern", "uniform")

SOUTHERN_SURNAMES: list[tuple[str, float]] = [
    ("陈", 10.0),
    ("黄", 7.0),
    ("林", 6.5),
    ("梁", 5.0),
    ("李", 5.0),
    ("张", 4.0),
    ("吴", 4.0),
    ("刘", 3.5),
    ("何", 3.5),
    ("郑", 3.0),
    ("罗", 3.0),
    ("谢", 2.5),
    ("叶", 2.5),
    ("邓", 2.5),
    ("周", 2.0),
    ("蔡", 2.0),
    ("曾", 2.0),
    ("潘", 1.5),
    ("钟", 1.5),
    ("许", 1.5),
    ("冯", 1.5),
    ("杨", 1.5),
    ("王", 1.5),
    ("卢", 1.2),
    ("苏", 1.2),
    ("余", 1.2),
    ("彭", 1.0),
    ("赖", 1.0),
    ("温", 1.0),
    ("邱", 0.8),
    ("方", 0.8),
    ("江", 0.8),
    ("麦", 0.6),
    ("关", 0.6),
    ("区", 0.5),
    ("谭", 0.8),
    ("廖", 0.8),
    ("欧阳", 0.2),
    ("司徒", 0.1),
]
# Popular two-character given names of the southern style (drawn for a share of people, so they repeat).
SOUTHERN_GIVEN = {
    "男": [
        "俊杰",
        "家豪",
        "志强",
        "伟强",
        "嘉俊",
        "子轩",
        "浩然",
        "文杰",
        "国华",
        "建华",
        "伟明",
        "志明",
        "锦辉",
        "永康",
    ],
    "女": ["嘉欣", "欣怡", "诗琪", "婉婷", "美玲", "丽华", "秀英", "佩珊", "淑贞", "惠玲", "雅婷", "咏诗"],
}
SOUTHERN_POPULAR_SHARE = 0.35
SOUTHERN_TWO_CHAR_SHARE = 0.9


def _check_style(style: str) -> None:
    if style not in NAME_STYLES:
        raise ValueError(f"unknown name style {style!r}; use one of {', '.join(NAME_STYLES)}")


def surname_table(style: str = "default") -> list[tuple[str, float]]:
    _check_style(style)
    if style == "southern":
        return SOUTHERN_SURNAMES
    if style == "uniform":
        return [(s, 1.0) for s, _ in SURNAMES]
    return SURNAMES


def sample_surnames(rng: np.random.Generator, n: int, style: str = "default") -> np.ndarray:
    table = surname_table(style)
    names = np.array([s for s, _ in table], dtype=object)
    weights = np.array([w for _, w in table], dtype=float)
    return names[rng.choice(len(names), size=n, p=weights / weights.sum())]


def sample_given_names(rng: np.random.Generator, sexes: np.ndarray, style: str = "default") -> np.ndarray:
    """1- or 2-char given names drawn from the male / female character pools (the southern style: mostly
    two characters, a share of them from its pool of popular given names)."""
    _check_style(style)
    n = len(sexes)
    male = np.array(MALE_CHARS, dtype=object)
    female = np.array(FEMALE_CHARS, dtype=object)
    a = rng.integers(0, 10**6, size=n)
    b = rng.integers(0, 10**6, size=n)
    two = rng.random(n) < (SOUTHERN_TWO_CHAR_SHARE if style == "southern" else 0.72)
    is_male = sexes == "男"
    first = np.where(is_male, male[a % len(male)], female[a % len(female)])
    second = np.where(is_male, male[b % len(male)], female[b % len(female)])
    given = np.array([f + s if t else f for f, s, t in zip(first, second, two)], dtype=object)
    if style == "southern":
        popular = rng.random(n) < SOUTHERN_POPULAR_SHARE
        pick = rng.integers(0, 10**6, size=n)
        pm, pf = SOUTHERN_GIVEN["男"], SOUTHERN_GIVEN["女"]
        given[popular] = [
            pm[k % len(pm)] if m else pf[k % len(pf)] for k, m in zip(pick[popular], is_male[popular])
        ]
    return given
