"""Generate models/staging/<system>/_<system>__sources.yml from the source contract.

    python dbt_project/scripts/gen_sources.py

Every contract field becomes a described column (all VARCHAR in raw, as received), plus the
landing metadata columns. Freshness thresholds come from project vars per system.
Re-run after the contract changes; the output is committed.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "yiwang" / "contracts" / "source_systems.yaml"
MODELS = Path(__file__).resolve().parents[1] / "models" / "staging"

GLOSS = {
    "org_id": "Party organisation id (党组织ID)", "org_name": "Organisation name (组织名称)",
    "org_type": "Organisation type (组织类型)", "parent_id": "Parent organisation id (上级组织)",
    "qhdm": "Division code (区划代码)", "wgmc": "Grid name (网格名称)", "host_uscc": "Host unit credit code (依托单位统一社会信用代码)",
    "sj_xm": "Secretary name (书记姓名)", "lxdh": "Contact phone (联系电话)", "gxsj": "Updated at (更新时间)",
    "dy_id": "Party member id (党员ID)", "xm": "Name (姓名)", "xb": "Gender (性别)", "sfzh": "Citizen ID number (身份证号)",
    "csrq": "Date of birth (出生日期)", "mz": "Ethnicity (民族)", "xl": "Education (学历)", "rylb": "Member category (人员类别)",
    "rdrq": "Date joined the Party (入党日期)", "gzdw": "Work unit (工作单位)", "sjhm": "Mobile phone (手机号码)",
    "jtzz": "Home address (家庭住址)", "sfldy": "Flowing member flag (是否流动党员)", "djzt": "Membership status (党籍状态)",
    "bd_id": "Registration id (报到ID)", "czd_sq": "Residential community (常住地社区)", "czd_dz": "Residential address (常住地地址)",
    "bdrq": "Registration date (报到日期)", "zt": "Status (状态)", "jl_id": "Service record id (记录ID)",
    "hdlx": "Activity type (活动类型)", "fwrq": "Service date (服务日期)", "fwsc": "Service hours (服务时长)", "jf": "Points (积分)",
    "hy_id": "Meeting id (会议ID)", "hylx": "Meeting type (会议类型)", "jxsj": "Held at (举行时间)",
    "ydrs": "Expected attendees (应到人数)", "sdrs": "Actual attendees (实到人数)",
    "wgbm": "Grid code (网格编码)", "sqbm": "Community code (社区编码)", "sqmc": "Community name (社区名称)",
    "jdbm": "Street code (街道编码)", "jdmc": "Street name (街道名称)", "wglx": "Grid type (网格类型)", "hs": "Households (户数)",
    "rks": "Population (人口数)", "wgy_id": "Grid worker id (网格员ID)", "bj_wkt": "Boundary WKT (边界)",
    "update_time": "Updated at (更新时间)", "rylx": "Worker type (人员类型)", "sgzs": "Social-work certificate (社工证书)",
    "rzrq": "Start / move-in date (入职/入住日期)", "rkid": "Resident id (人口ID)", "jzdz": "Residence address (居住地址)",
    "jzlx": "Residence type (居住类型)", "tsbq": "Special-population tags (特殊标签, sensitive)", "djsj": "Registered at (登记时间)",
    "sfsc": "Soft-delete flag (是否删除)", "sjbh": "Event number (事件编号)", "sjly": "Event source (事件来源)",
    "lbdm": "Category code (类别代码)", "sjms": "Description (事件描述)", "fsdz": "Location address (发生地址)",
    "jd": "Longitude (经度)", "wd": "Latitude (纬度)", "sbr_xm": "Reporter name (上报人)", "sbr_dh": "Reporter phone (上报人电话)",
    "czbm_uscc": "Handling department credit code (处置部门)", "sbsj": "Reported at (上报时间)", "clsx": "Deadline (处理时限)",
    "jasj": "Closed at (结案时间)", "myd": "Satisfaction (满意度)", "lzid": "Step id (流转ID)", "hj": "Workflow step (环节)",
    "czdw": "Acting unit (处置单位)", "czr": "Actor (操作人)", "czsj": "Acted at (操作时间)", "bz": "Remark (备注)",
    "sxbm": "Basic item code (事项编码)", "ssbm": "Implementation code (实施编码)", "sxmc": "Item name (事项名称)",
    "sxlx": "Item type (事项类型)", "bmUscc": "Department credit code (部门统一社会信用代码)", "bmmc": "Department name (部门名称)",
    "xscj": "Exercise level (行使层级)", "fdsx": "Statutory limit, working days (法定时限)", "cnsx": "Promised limit, working days (承诺时限)",
    "bjlx": "Handling type (办件类型)", "wbsd": "Online depth (网办深度)", "dxcs": "Max visits (到现场次数)",
    "updatedAt": "Updated at (cursor)", "bjbh": "Case number (办件编号)", "sqrlx": "Applicant type (申请人类型)",
    "sqrmc": "Applicant name (申请人名称)", "sqrzjhm": "Applicant id / credit code (申请人证件号码)", "sqrdh": "Applicant phone (申请人电话)",
    "sqrdz": "Applicant address (申请人地址)", "qd": "Channel (渠道)", "slsj": "Accepted at (受理时间)",
    "cnbjsj": "Promised completion (承诺办结时间)", "bjsj": "Completed at (办结时间)", "bjjg": "Result (办结结果)",
    "pjid": "Evaluation id (评价ID)", "pjdj": "Rating 1-5 (评价等级)", "pjnr": "Comment (评价内容)", "pjsj": "Evaluated at (评价时间)",
    "xqmc": "Estate name (小区名称)", "dz": "Address (地址)", "sq": "Community (社区)", "wyqy": "Property company (物业企业)",
    "wyqy_uscc": "Property company credit code (信用代码)", "ld": "Building (楼栋)", "ywh": "Owners' committee set up (业委会)",
    "dzz": "Party organisation set up (物业党组织)", "jcnf": "Year built (建成年份)", "dy": "Unit (单元)", "fh": "Room (房号)",
    "yzxm": "Owner name (业主姓名)", "yzdh": "Owner phone (业主电话)", "yzzjhm": "Owner id number (证件号码)", "mj": "Floor area m² (建筑面积)",
    "tsbh": "Complaint number (投诉编号)", "fwdz": "Dwelling / address (房屋地址)", "tsr": "Complainant (投诉人)", "dh": "Phone (电话)",
    "lb": "Category (类别)", "jg": "Outcome (处理结果)", "fwbm": "Life-service item code (服务编码)", "fwmc": "Service name (服务名称)",
    "fwlb": "Service category (服务类别)", "gysmc": "Provider name (供应商)", "gysUscc": "Provider credit code",
    "fwzd": "Site ids offering it, JSON array (服务阵地)", "sfzxyy": "Bookable online (是否在线预约)", "zdid": "Site id (阵地ID)",
    "zdmc": "Site name (阵地名称)", "zdlx": "Site type (阵地类型)", "ddbh": "Order number (订单编号)", "xdsj": "Ordered at (下单时间)",
    "wcsj": "Completed at (完成时间)", "pf": "Score (评分)", "gdbh": "Work-order number (工单编号)", "ldsj": "Received at (来电时间)",
    "ldr": "Caller (来电人)", "lddh": "Caller phone (来电电话)", "sqlx": "Request type (诉求类型)", "sqlb": "Request category (诉求类别)",
    "nr": "Content (内容)", "cbdw": "Dispatched department (承办单位)", "pdsj": "Dispatched at (派单时间)", "blsx": "Deadline (办理时限)",
    "hfjg": "Follow-up result (回访结果)", "cfgd": "Repeated ticket (重复工单)",
    "division_code": "12-digit division code (区划代码)", "name": "Name", "level": "Level (市/区/街道/社区)",
    "parent_code": "Parent division code", "uscc": "Unified social credit code", "dept_name": "Department name",
    "short_name": "Short name", "dept_type": "Department type", "category_code": "4-digit category code",
    "major_name": "Major category", "minor_name": "Minor category", "default_limit_hours": "Default time limit, hours",
}
META = [
    ("_batch_id", "Load batch that landed this row version."),
    ("_loaded_at", "When the row version was landed (TIMESTAMP, UTC)."),
    ("_row_hash", "sha256 of the row's fields as canonical JSON (plus _source_file for files)."),
]
SYSTEM_DESC = {
    "reference": "City reference data (divisions, departments, event categories) from CSV files.",
}


def describe(name: str, spec: dict | None) -> str:
    spec = spec or {}
    parts = [GLOSS.get(name, name)]
    for key in ("meaning", "example"):
        if spec.get(key):
            parts.append(f"{key}: {spec[key]}")
    if spec.get("type"):
        parts.append(f"contract type {spec['type']}")
    if spec.get("values"):
        parts.append("values: " + ", ".join(map(str, spec["values"])))
    if spec.get("dirt"):
        dirt = spec["dirt"]
        parts.append("dirt: " + (", ".join(map(str, dirt)) if isinstance(dirt, list) else str(dirt)))
    return "; ".join(parts) + ". Raw text as received."


def tables_of(system: str, body: dict) -> dict[str, dict]:
    for kind in ("tables", "resources", "files", "records"):
        if kind in body:
            return body[kind]
    raise KeyError(system)


def source_yaml(system: str, desc: str, tables: dict[str, dict], file_system: bool) -> dict:
    out_tables = []
    for tname, t in tables.items():
        if "fields" in t and isinstance(t["fields"], dict):
            fields = t["fields"]
        elif "fields" in t:
            fields = {f: None for f in t["fields"]}
        else:
            fields = {f: None for f in t["headers"]}
        cols = [{"name": f, "description": describe(f, spec)} for f, spec in fields.items()]
        cols += [{"name": n, "description": d} for n, d in META]
        if file_system:
            cols.append({"name": "_source_file", "description": "Path relative to the system's landing directory."})
        key = t.get("key")
        out_tables.append({
            "name": tname,
            "description": f"{tname}: key {key}" + (f", cursor {t['cursor']}" if t.get("cursor") else "")
                           + (f", soft delete {t['soft_delete']}" if t.get("soft_delete") else "")
                           + (f". {t['note']}" if t.get("note") else "") + ". Append-only raw history.",
            "columns": cols,
        })
    return {
        "version": 2,
        "sources": [{
            "name": system,
            "description": desc,
            "schema": f"raw_{system}",
            "config": {
                "loaded_at_field": "_loaded_at",
                "freshness": {
                    "warn_after": {"count": f"{{{{ var('freshness_{system}_warn_hours') }}}}", "period": "hour"},
                    "error_after": {"count": f"{{{{ var('freshness_{system}_error_hours') }}}}", "period": "hour"},
                },
            },
            "tables": out_tables,
        }],
    }


def main() -> None:
    contract = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    todo = [("reference", SYSTEM_DESC["reference"], contract["reference"], False)]
    for system, body in contract["systems"].items():
        kind = body["delivery"]["kind"]
        todo.append((system, f"{body['name_zh']} — delivered as {kind}; landed in raw_{system}.",
                     tables_of(system, body), kind == "files"))
    for system, desc, tables, file_system in todo:
        path = MODELS / system / f"_{system}__sources.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "# GENERATED by dbt_project/scripts/gen_sources.py from yiwang/contracts/source_systems.yaml\n"
        text += yaml.safe_dump(source_yaml(system, desc, tables, file_system), allow_unicode=True,
                               sort_keys=False, width=120)
        path.write_text(text, encoding="utf-8")
        print("wrote", path)


if __name__ == "__main__":
    main()
