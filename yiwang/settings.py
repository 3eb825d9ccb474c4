"""Settings shared by every stage: paths, warehouse URL, source locations, secrets.

Everything that comes from the environment is read here and nowhere else.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import psutil
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("party", "grid", "approval", "property", "services", "hotline")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def expand(value: str, env: dict[str, str]) -> str:
    """Expand ``${NAME}`` and ``${NAME:-default}`` (defaults may nest) from ``env``.

    An unset name without a default is an error naming the variable.
    """
    out: list[str] = []
    i = 0
    while i < len(value):
        start = value.find("${", i)
        if start < 0:
            out.append(value[i:])
            break
        out.append(value[i:start])
        depth, j = 1, start + 2
        while j < len(value) and depth:
            if value.startswith("${", j):
                depth, j = depth + 1, j + 2
                continue
            if value[j] == "}":
                depth -= 1
            j += 1
        if depth:
            raise ConfigError(f"unterminated ${{...}} in {value!r}")
        body = value[start + 2 : j - 1]
        name, sep, default = body.partition(":-")
        if not _NAME.match(name):
            raise ConfigError(f"bad variable name {name!r} in {value!r}")
        if env.get(name):
            out.append(env[name])
        elif sep:
            out.append(expand(default, env))
        else:
            raise ConfigError(f"environment variable {name} is not set (needed by sources.yaml)")
        i = j
    return "".join(out)


@dataclass(frozen=True)
class SourceConfig:
    """Where one department system lives."""

    system: str
    kind: str  # sql | http | files
    url: str | None = None  # sql: SQLAlchemy URL
    base_url: str | None = None  # http
    auth: str | None = None  # http: bearer | api_key
    credential_env: str | None = None  # http: env var holding the secret
    path: Path | None = None  # files: landing directory of this system
    options: dict[str, Any] = field(default_factory=dict)

    def credential(self) -> str:
        if not self.credential_env:
            raise ConfigError(f"source {self.system}: no credential_env in sources.yaml")
        value = os.environ.get(self.credential_env)
        if not value:
            raise ConfigError(
                f"source {self.system}: the secret is read from env var {self.credential_env}, which is not set"
            )
        return value


@dataclass(frozen=True)
class Settings:
    home: Path
    sources_file: Path
    warehouse_url: str
    reference_dir: Path
    sources: dict[str, SourceConfig]
    freshness_hours: dict[str, float]
    # How the build DAG shows dbt: "model" = one Airflow task per model (cosmos DbtTaskGroup, the default for a
    # real scheduler with workers), "layer" = one cosmos `dbt build` task per layer (staging, identity, marts),
    # which the embedded demo uses because `DAG.test()` (`airflow dags test`) runs ~100 model tasks one after another.
    dbt_tasks: str = "model"
    # YIWANG_DBT_SELECT: a dbt selection (space-separated, e.g. "+party_service_monthly") the build DAG renders
    # instead of the whole project, one task per selected model; such a partial build stops after dbt (no mart
    # gate, no publish: the public marts are only ever replaced by a whole, gated build). Default: everything.
    dbt_select: tuple[str, ...] = ()
    # Output gate (expectations/output_checks.py): with no delivery since the last publish, a mart's row count may
    # move at most this share (YIWANG_PUBLISH_MAX_ROW_CHANGE); YIWANG_ACCEPT_OUTPUT_CHANGE=1 publishes despite
    # findings (a deliberate change; `yiwang build --accept-output-change`).
    publish_max_row_change: float = 0.2
    accept_output_change: bool = False
    # Raw gate (expectations/run.py): it validates only the raw batches it has not validated before (and re-reads
    # what a rule change or a reloaded table makes stale); YIWANG_RAW_GATE_FULL=1 re-validates every row
    # (`yiwang build --full-raw-gate`).
    raw_gate_full: bool = False
    # Memory: every stage runs in one process (a `yiwang` command, an Airflow task) that should stay within
    # ``memory_budget`` bytes (YIWANG_MEMORY_BUDGET, e.g. "4GiB"; default: half the machine's memory, at most
    # 4 GiB). DuckDB's ceiling (YIWANG_DUCKDB_MEMORY_LIMIT, e.g. "3GB"; default: DUCKDB_SHARE of the budget,
    # where DuckDB alone would take 80 % of the machine) leaves the rest to Python, dbt and the gates' batches;
    # past it DuckDB spills to YIWANG_DUCKDB_TEMP_DIR (default $YIWANG_HOME/tmp/duckdb) instead of growing.
    # YIWANG_DUCKDB_THREADS: DuckDB's threads (default: the machine's cores; each thread holds its own
    # buffers, so fewer threads need less memory). Applied to dbt's connections (profiles.yml) and the project's.
    duckdb_memory_limit: str = ""
    duckdb_temp_dir: Path | None = None
    memory_budget: int = 0
    duckdb_threads: int = 0

    @property
    def is_duckdb(self) -> bool:
        return self.warehouse_url.startswith("duckdb")

    @property
    def duckdb_path(self) -> Path:
        if not self.is_duckdb:
            raise ConfigError("the warehouse is not DuckDB")
        return Path(self.warehouse_url.split(":///", 1)[1])

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def gx_dir(self) -> Path:
        return self.home / "gx"

    @property
    def site_dir(self) -> Path:
        return self.home / "site"

    def source(self, system: str) -> SourceConfig:
        try:
            return self.sources[system]
        except KeyError:
            raise ConfigError(
                f"system {system!r} is not configured in {self.sources_file}; known: {sorted(self.sources)}"
            ) from None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("YIWANG_HOME", str(REPO_ROOT / "var"))
    env.setdefault("YIWANG_REPO", str(REPO_ROOT))
    return env


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = _env() if env is None else env
    home = Path(env["YIWANG_HOME"]).resolve()
    env["YIWANG_HOME"] = str(home)
    sources_file = Path(env.get("YIWANG_SOURCES") or REPO_ROOT / "sources.yaml")
    if not sources_file.exists():
        raise ConfigError(f"sources file {sources_file} does not exist (set YIWANG_SOURCES)")
    doc = yaml.safe_load(sources_file.read_text(encoding="utf-8")) or {}
    sources: dict[str, SourceConfig] = {}
    freshness: dict[str, float] = {}
    for system, cfg in (doc.get("systems") or {}).items():
        cfg = dict(cfg)
        kind = cfg.pop("kind", None)
        if kind not in ("sql", "http", "files"):
            raise ConfigError(
                f"{sources_file}: system {system}: kind must be sql, http or files, not {kind!r}"
            )
        if "freshness_hours" in cfg:
            freshness[system] = float(cfg.pop("freshness_hours"))
        vals = {k: expand(str(v), env) if isinstance(v, str) else v for k, v in cfg.items()}
        sources[system] = SourceConfig(
            system=system,
            kind=kind,
            url=vals.pop("url", None),
            base_url=(vals.pop("base_url", None) or None),
            auth=vals.pop("auth", None),
            credential_env=vals.pop("credential_env", None),
            path=Path(vals.pop("path")) if "path" in vals else None,
            options=vals,
        )
    warehouse_url = env.get("YIWANG_WAREHOUSE_URL") or f"duckdb:///{home / 'warehouse.duckdb'}"
    budget = memory_budget(env.get("YIWANG_MEMORY_BUDGET"))
    reference_dir = Path(expand(str(doc.get("reference_dir", "${YIWANG_REPO}/reference/demo_city")), env))
    return Settings(
        home=home,
        sources_file=sources_file,
        warehouse_url=warehouse_url,
        reference_dir=reference_dir,
        sources=sources,
        freshness_hours=freshness,
        dbt_tasks=_dbt_tasks(env.get("YIWANG_DBT_TASKS") or "model"),
        dbt_select=tuple((env.get("YIWANG_DBT_SELECT") or "").split()),
        publish_max_row_change=_share(
            "YIWANG_PUBLISH_MAX_ROW_CHANGE", env.get("YIWANG_PUBLISH_MAX_ROW_CHANGE"), 0.2
        ),
        accept_output_change=_flag("YIWANG_ACCEPT_OUTPUT_CHANGE", env.get("YIWANG_ACCEPT_OUTPUT_CHANGE")),
        raw_gate_full=_flag("YIWANG_RAW_GATE_FULL", env.get("YIWANG_RAW_GATE_FULL")),
        duckdb_memory_limit=_memory_limit(env.get("YIWANG_DUCKDB_MEMORY_LIMIT"), budget),
        duckdb_temp_dir=Path(env.get("YIWANG_DUCKDB_TEMP_DIR") or home / "tmp" / "duckdb"),
        memory_budget=budget,
        duckdb_threads=_threads(env.get("YIWANG_DUCKDB_THREADS")),
    )


# Sizes as DuckDB reads them: KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB powers of 1024.
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT])(i?)B?\s*", flags=re.IGNORECASE)
_UNIT = {"K": 1, "M": 2, "G": 3, "T": 4}
DEFAULT_BUDGET_CAP = 4 * 2**30  # a stage needs no more, at city scale, when DuckDB spills (bench/city.py)
DUCKDB_SHARE = (
    0.625  # of the budget for DuckDB's buffers; the rest is Python, dbt, pandas batches, DuckDB's own
)


def size_bytes(value: str, name: str) -> int:
    """``"4GiB"`` -> 4294967296, ``"512MB"`` -> 512000000; a ConfigError naming ``name`` otherwise."""
    m = _SIZE.fullmatch(value)
    if not m:
        raise ConfigError(f"{name} must be a size such as 4GiB, 4GB or 512MB, not {value!r}")
    base = 1024 if m.group(3) else 1000
    return int(float(m.group(1)) * base ** _UNIT[m.group(2).upper()])


def memory_budget(value: str | None, total: int | None = None) -> int:
    """Bytes one stage's process may use: the size given, else half the machine's memory, at most 4 GiB."""
    if value:
        return size_bytes(value, "YIWANG_MEMORY_BUDGET")
    if total is None:
        total = psutil.virtual_memory().total
    return min(total // 2, DEFAULT_BUDGET_CAP)


def _memory_limit(value: str | None, budget: int) -> str:
    """A DuckDB memory_limit: the value given ("4GB", "512MB"), else DUCKDB_SHARE of the budget (in MiB)."""
    if value:
        size_bytes(value, "YIWANG_DUCKDB_MEMORY_LIMIT")
        return value.strip()
    return f"{max(128, int(budget * DUCKDB_SHARE) // 2**20)}MiB"


def _threads(value: str | None) -> int:
    if not value:
        return os.cpu_count() or 1
    if not value.strip().isdigit() or int(value) < 1:
        raise ConfigError(
            f"YIWANG_DUCKDB_THREADS must be a whole number of threads (1 or more), not {value!r}"
        )
    return int(value)


def _dbt_tasks(value: str) -> str:
    if value not in ("model", "layer"):
        raise ConfigError(f"YIWANG_DBT_TASKS must be 'model' or 'layer', not {value!r}")
    return value


def _share(name: str, value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if share < 0:
        raise ConfigError(f"{name} must be a non-negative number (a share: 0.2 = 20 %), not {value!r}")
    return share


def _flag(name: str, value: str | None) -> bool:
    v = (value or "").strip().lower()
    if v in ("", "0", "false", "no", "off"):
        return False
    if v in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1/true/yes or 0/false/no, not {value!r}")


@cache
def get_settings() -> Settings:
    return load_settings()


def hmac_key() -> bytes:
    key = os.environ.get("YIWANG_HMAC_KEY")
    if not key:
        raise ConfigError("YIWANG_HMAC_KEY is not set: pseudonyms need a secret key from the environment")
    return key.encode()
