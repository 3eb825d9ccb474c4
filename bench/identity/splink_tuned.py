"""A well-configured Splink 5 baseline for resident matching (not out of the box).

It runs on the hub's prepared records (identity_work.int_residents_records_prepared: names already simplified
and cleaned by staging, phones as pseudonyms of their E.164 form, ID numbers, bodies and partial IDs as
pseudonyms), plus one feature the prepared table does not carry: a pseudonym of the first 15 digits of the
ID number, read from the staging view of the same records (so an ID that Excel rounded to 15 significant
digits still agrees with the true one there). The configuration is fixed; nothing in it was fitted to the
simulator's truth:

- ID number, one comparison, most specific level first: full valid ID / same 17-char body (a wrong check
  char) / same first 15 digits (an Excel-rounded ID: 18 digits ending in 000 with a wrong check char, whose
  body is not trusted) / same masked form (first 6 + last 4) / else. "No ID evidence comparable on both
  sides" is the null level, so a record without an ID is never counted as disagreeing; Excel's scientific
  form (4.20103E+17, staging kind excel_mangled) carries no ID.
- Name: a title-only name (李先生, 王女士, 张师傅 ...: a surname and a form of address) is no name but a
  surname and a sex. Levels: exact full name with term-frequency adjustments / same surname where one side is
  title-only / else. No "one character different" level: in Chinese names that is a different given name
  (siblings often share a generation character: 汪悦颖 / 汪悦丽), and staging already folds the spelling
  variants (traditional characters, separators, suffixes) such a level would be for.
- Sex (from the record, its ID or its title), date of birth (Splink's DateOfBirthComparison), phone (either of
  the record's two phones against either of the other's), flat (estate + building + unit + room; else
  estate + building; else estate), party member id.
- Blocking for prediction: name + phone, phone, name + flat, name + birth date, each ID form (full, body,
  first 15, masked) and the party member id.
- Training: lambda from deterministic rules (same valid ID; same name and phone) at an assumed recall of 0.7,
  u by random sampling, then EM on ID blocks and on name blocks only: phone and address blocks are mostly
  households (parents and children share a flat and a phone), so EM there learns households as matches.
- Predict at match probability 0.5, cluster at 0.95 (as the out-of-the-box baseline does).
"""

from __future__ import annotations

import os
import re
import time

import pandas as pd
import psutil

KEY = ["source_system", "source_table", "source_key"]

# A form of address after a surname (李先生, 王女士, 张师傅, 刘阿姨) and the sex it implies (None: either).
TITLES = {
    "先生": "M",
    "女士": "F",
    "小姐": "F",
    "阿姨": "F",
    "大妈": "F",
    "大姐": "F",
    "大爷": "M",
    "大哥": "M",
    "师傅": None,
    "老师": None,
    "同志": None,
    "老板": None,
}
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "诸葛",
    "司徒",
    "上官",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "夏侯",
    "长孙",
)
TITLE_RE = re.compile(r"^(" + "|".join(COMPOUND_SURNAMES) + r"|.)(" + "|".join(TITLES) + r")$")


def split_name(name: str | None) -> tuple[str | None, str | None, str | None]:
    """(full name or None when title-only, surname, sex implied by a title)."""
    if not isinstance(name, str) or not name:
        return None, None, None
    m = TITLE_RE.match(name)
    if m:
        return None, m.group(1), TITLES[m.group(2)]
    surname = next((s for s in COMPOUND_SURNAMES if name.startswith(s) and len(name) > len(s)), name[0])
    return name, surname, None


def prepared_records(read) -> pd.DataFrame:
    """The Splink input: one row per prepared person record. `read(sql)` returns a DataFrame."""
    df = read("""
        select p.record_ref, p.source_system, p.source_table, p.source_key, p.name_key, p.gender,
               strftime(p.birth_date, '%Y-%m-%d') as birth_date, p.id_hmac, p.id_body_hmac, p.id_partial_hmac,
               p.phone_hmac, p.phone2_hmac, p.estate_key, p.member_id,
               case when p.room is not null and p.building is not null and p.unit is not null
                    then p.estate_key || '|' || p.building || '|' || p.unit || '|' || p.room end as flat,
               case when p.building is not null then p.estate_key || '|' || p.building end as estate_building,
               u.id_no as _id_no
        from identity_work.int_residents_records_prepared as p
        left join staging.int_residents_records_unioned as u
          on u.source_system = p.source_system and u.source_table = p.source_table and u.source_key = p.source_key
    """)
    from yiwang.privacy import pseudonym

    parts = [split_name(n) for n in df["name_key"]]
    df["name_full"] = [p[0] for p in parts]
    df["surname"] = [p[1] for p in parts]
    title_sex = pd.Series([p[2] for p in parts], index=df.index, dtype=object)
    df["sex"] = df["gender"].where(df["gender"].isin(["M", "F"]), title_sex)
    ids = df["_id_no"].where(df["_id_no"].astype(str).str.fullmatch(r"[0-9]{17}[0-9X]"), None)
    # Excel keeps 15 significant digits: an 18-digit ID ending in 000 whose check char is wrong was rounded;
    # its 17-char body is not the person's, its first 15 digits are.
    rounded = ids.notna() & ids.astype(str).str.endswith("000") & df["id_hmac"].isna()
    key = os.urandom(32)  # a throwaway key: these tokens are only compared with each other, in this process
    df["id15"] = [pseudonym("id15:" + v[:15], key) if isinstance(v, str) else None for v in ids]
    df["id_body"] = df["id_body_hmac"].where(~rounded, None)
    keep = [
        "record_ref",
        *KEY,
        "name_full",
        "surname",
        "sex",
        "birth_date",
        "id_hmac",
        "id_body",
        "id15",
        "id_partial_hmac",
        "phone_hmac",
        "phone2_hmac",
        "flat",
        "estate_building",
        "estate_key",
        "member_id",
    ]
    return df[keep]


def settings():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def both(col: str) -> str:
        return f'("{col}_l" is not null and "{col}_r" is not null)'

    id_forms = ["id_hmac", "id_body", "id15", "id_partial_hmac"]
    not_both_valid = f"not {both('id_hmac')}"
    id_cmp = cl.CustomComparison(
        output_column_name="id_number",
        comparison_levels=[
            cll.CustomLevel(
                "not (" + " or ".join(both(c) for c in id_forms) + ")", "no ID form on both sides"
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("id_hmac"),
            cll.CustomLevel(f'"id_body_l" = "id_body_r" and {not_both_valid}', "same 17-char body"),
            cll.CustomLevel(f'"id15_l" = "id15_r" and {not_both_valid}', "same first 15 digits"),
            cll.CustomLevel(
                f'"id_partial_hmac_l" = "id_partial_hmac_r" and {not_both_valid}',
                "same masked form (first 6 + last 4)",
            ),
            cll.ElseLevel(),
        ],
    )
    name_cmp = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.CustomLevel('"surname_l" is null or "surname_r" is null', "no name").configure(
                is_null_level=True
            ),
            cll.ExactMatchLevel("name_full", term_frequency_adjustments=True),
            cll.CustomLevel(
                '("name_full_l" is null or "name_full_r" is null) and "surname_l" = "surname_r"',
                "same surname, one side title-only",
            ),
            cll.ElseLevel(),
        ],
    )
    phone_cmp = cl.CustomComparison(
        output_column_name="phone",
        comparison_levels=[
            cll.CustomLevel(
                '("phone_hmac_l" is null and "phone2_hmac_l" is null) or '
                '("phone_hmac_r" is null and "phone2_hmac_r" is null)',
                "no phone",
            ).configure(is_null_level=True),
            cll.ExactMatchLevel("phone_hmac"),
            cll.CustomLevel(
                '"phone_hmac_l" = "phone2_hmac_r" or "phone2_hmac_l" = "phone_hmac_r" '
                'or "phone2_hmac_l" = "phone2_hmac_r"',
                "second phone agrees",
            ),
            cll.ElseLevel(),
        ],
    )
    address_cmp = cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.NullLevel("estate_key"),
            cll.ExactMatchLevel("flat"),
            cll.ExactMatchLevel("estate_building"),
            cll.ExactMatchLevel("estate_key"),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_ref",
        blocking_rules_to_generate_predictions=[
            block_on("name_full", "phone_hmac"),
            block_on("phone_hmac"),
            block_on("name_full", "flat"),
            block_on("name_full", "birth_date"),
            block_on("id_hmac"),
            block_on("id_body"),
            block_on("id15"),
            block_on("id_partial_hmac"),
            block_on("member_id"),
        ],
        comparisons=[
            id_cmp,
            name_cmp,
            cl.ExactMatch("sex"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            phone_cmp,
            address_cmp,
            cl.ExactMatch("member_id"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def run(read) -> tuple[pd.DataFrame, float, int]:
    """Train, predict and cluster; (source keys + cluster_id, seconds, peak RSS growth in bytes)."""
    from splink import DuckDBAPI, Linker, block_on

    df = prepared_records(read)
    proc = psutil.Process()
    t0 = time.perf_counter()
    rss0 = proc.memory_info().rss
    api = DuckDBAPI()
    tbl = api.register(df.drop(columns=KEY), table_name="records")
    linker = Linker(tbl, settings())
    linker.training.estimate_probability_two_random_records_match(
        [block_on("id_hmac"), block_on("name_full", "phone_hmac")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id_hmac"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_full"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.95).as_pandas_dataframe()
    seconds = time.perf_counter() - t0
    peak = max(proc.memory_info().rss - rss0, 0)
    out = df[["record_ref", *KEY]].merge(clusters[["record_ref", "cluster_id"]], on="record_ref", how="left")
    out["cluster_id"] = out["cluster_id"].fillna(out["record_ref"])
    return out[[*KEY, "cluster_id"]], seconds, peak
