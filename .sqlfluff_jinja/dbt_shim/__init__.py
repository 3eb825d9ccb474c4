"""dbt's run-time context for sqlfluff's jinja templater (.sqlfluff, `library_path`).

sqlfluff's dbt builtins give ref/source/config/is_incremental/this; the project's models and macros also call
adapter.dispatch, return(), var() with real defaults, env_var, target, modules, run_started_at and the dbt.*
cross-database macros. This module provides those (the top-level names become template globals), so the
jinja templater renders every model the way dbt would on DuckDB, in seconds instead of compiling the project.
"""

from __future__ import annotations

import datetime as _dt
import itertools as _itertools
import os as _os
import re as _re
from pathlib import Path as _Path
from types import SimpleNamespace as _NS
from typing import Any as _Any

import jinja2.runtime as _jinja_runtime
import yaml as _yaml
from jinja2 import TemplateRuntimeError as _TemplateRuntimeError
from jinja2 import pass_context as _pass_context

_PROJECT = _Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"
_VARS: dict[str, _Any] = (_yaml.safe_load(_PROJECT.read_text(encoding="utf-8")) or {}).get("vars") or {}
# int_demand_match_weights unrolls its EM iterations (default 40) into one CTE each, the same SQL every time:
# two iterations show the lint all of it, forty made it a quarter of the whole lint's time
_VARS.setdefault("demand_em_iterations", 2)
# likewise int_residents_records_matched's propagation rounds (default 6)
_VARS.setdefault("identity_propagation_rounds", 2)


class _Adapter:
    @_pass_context
    def dispatch(self, context: _Any, macro_name: str, macro_namespace: str | None = None) -> _Any:
        for name in (f"duckdb__{macro_name}", f"default__{macro_name}", macro_name):
            macro = context.resolve_or_missing(name)
            if macro is not None and not getattr(macro, "__class__", type).__name__.endswith("Undefined"):
                if callable(macro):
                    return macro
        raise KeyError(f"no macro {macro_name} to dispatch to")

    def get_relation(self, *args: _Any, **kwargs: _Any) -> None:
        return None

    def quote(self, name: str) -> str:
        return f'"{name}"'


adapter = _Adapter()


def var(name: str, default: _Any = None) -> _Any:
    return _VARS.get(name, default)


def env_var(name: str, default: str | None = None) -> str:
    return _os.environ.get(name, default if default is not None else "")


class _MacroReturnError(Exception):
    def __init__(self, value: _Any) -> None:
        super().__init__()
        self.value = value


# sqlfluff may import this module twice (once per templater instance): one exception class for all copies
_MacroReturn = _jinja_runtime.__dict__.setdefault("_dbt_macro_return", _MacroReturnError)


def _return(value: _Any) -> _Any:
    """dbt's return(): leave the macro with this value (caught by the patched Macro.__call__ below)."""
    raise _MacroReturn(value)


globals()["return"] = _return

_macro_call = _jinja_runtime.Macro.__call__


def _macro_call_with_return(self: _Any, *args: _Any, **kwargs: _Any) -> _Any:
    try:
        return _macro_call(self, *args, **kwargs)
    except _MacroReturn as returned:
        return returned.value


if not getattr(_jinja_runtime.Macro.__call__, "_dbt_return", False):
    _macro_call_with_return._dbt_return = True  # type: ignore[attr-defined]
    _jinja_runtime.Macro.__call__ = _macro_call_with_return

target = _NS(type="duckdb", name="duckdb", schema="main", database="warehouse", threads=1)
modules = _NS(datetime=_dt, re=_re, itertools=_itertools)
run_started_at = _dt.datetime(2024, 1, 1, 0, 0, 0)


def _raise_compiler_error(msg: str) -> None:
    raise _TemplateRuntimeError(msg)


exceptions = _NS(raise_compiler_error=_raise_compiler_error, warn=lambda msg: "")


def log(*args: _Any, **kwargs: _Any) -> str:
    return ""


def _dateadd(datepart: str, interval: _Any, from_date_or_timestamp: str) -> str:
    return f"({from_date_or_timestamp} + cast({interval} || ' {datepart}' as interval))"


def _datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}, {second_date})"


dbt = _NS(
    dateadd=_dateadd,
    datediff=_datediff,
    type_float=lambda: "double precision",
    type_bigint=lambda: "bigint",
    type_int=lambda: "integer",
    type_string=lambda: "varchar",
    type_numeric=lambda: "numeric(28, 6)",
    type_timestamp=lambda: "timestamp",
    type_boolean=lambda: "boolean",
    current_timestamp=lambda: "current_timestamp",
    concat=lambda fields: " || ".join(fields),
    safe_cast=lambda field, type_: f"try_cast({field} as {type_})",
    date_trunc=lambda datepart, date: f"date_trunc('{datepart}', {date})",
    split_part=lambda s, d, n: f"split_part({s}, {d}, {n})",
    hash=lambda field: f"md5(cast({field} as varchar))",
    string_literal=lambda value: f"'{value}'",
    listagg=lambda measure, delimiter_text="','", order_by_clause=None, limit_num=None: (
        f"string_agg({measure}, {delimiter_text})"
    ),
)


def _load_project_macros() -> dict[str, _Any]:
    """Every macro of dbt_project/macros, loaded as ONE template so that they see each other (sqlfluff's
    load_macros_from_path loads file by file, and a macro then cannot call one from a later file)."""
    from jinja2.sandbox import SandboxedEnvironment
    from sqlfluff.core.templaters.builtins.dbt import DBT_BUILTINS

    source = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted((_PROJECT.parent / "macros").rglob("*.sql"))
    )
    # generic tests ({% test %} blocks) are dbt syntax, not jinja, and no model calls them
    source = _re.sub(r"{%-?\s*test\b.*?{%-?\s*endtest\s*-?%}", "", source, flags=_re.S)
    env = SandboxedEnvironment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
    shared: dict[str, _Any] = dict(DBT_BUILTINS)
    shared.update({k: v for k, v in globals().items() if not k.startswith("_") or k == "return"})
    module = env.from_string(source, globals=shared).make_module()
    macros = {k: v for k, v in vars(module).items() if not k.startswith("_")}
    return macros


# sqlfluff re-imports this module for every file it lints: compile the macros once per process
_MACRO_FILES = tuple(
    sorted((p.as_posix(), p.stat().st_mtime) for p in (_PROJECT.parent / "macros").rglob("*.sql"))
)
_cache = _jinja_runtime.__dict__.setdefault("_dbt_shim_macros", {})
if _MACRO_FILES not in _cache:
    _cache[_MACRO_FILES] = _load_project_macros()
globals().update(_cache[_MACRO_FILES])


# Lint stubs. These macros expand one short call in a model into a long machine-made expression (date formats
# tried one by one, traditional -> simplified characters, ID number check digits, phone splitting) or, for
# latest_version, a whole deduplicating query: together about three quarters of the SQL sqlfluff would parse,
# and most of the lint's time. Their SQL is not a model author's SQL (macros/ is not linted on its own,
# .sqlfluffignore) and is built and tested on both engines by dbt (tests/dbt), so for the lint each renders as a
# plain call on its first argument, and the model's own SQL around it is linted as written.
_EXPRESSION_STUBS = (
    "parse_local_ts",
    "parse_date",
    "clean_person_name",
    "id_no_columns",
    "phone_columns",
    "address_clean",
    "idn_address_clean",
    "cn_to_int",
    "community_core",
    "normalize_ethnicity",
)


def _expression_stub(name: str) -> _Any:
    def call(*args: _Any, **kwargs: _Any) -> str:
        return f"{name}({args[0] if args else ''})"

    return call


def _latest_version_stub(relation: _Any, *args: _Any, **kwargs: _Any) -> str:
    return f"select * from {relation}"


globals().update({name: _expression_stub(name) for name in _EXPRESSION_STUBS})
globals()["latest_version"] = _latest_version_stub
