"""Run the dbt project in-process (``dbt.cli.main.dbtRunner``) and keep its manifest for cosmos.

dbt is imported only inside the functions: DAG files import this module at parse time, and importing dbt
costs a second or two. The warehouse location comes from :mod:`yiwang.settings`, handed to dbt through the
environment variables ``dbt_project/profiles.yml`` reads (``YIWANG_DUCKDB_PATH`` or ``YIWANG_PG_*``).

The pseudonymisation key never reaches dbt as text: on DuckDB the plugin ``yiwang.dbt_duckdb_udf`` reads it at
run time; on PostgreSQL :func:`pg_hmac_options` hands it to the session through ``PGOPTIONS``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from yiwang.settings import REPO_ROOT, ConfigError, Settings, get_settings, hmac_key

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
PROFILE_NAME = "yiwang"
# files whose change makes a cached manifest stale
_PROJECT_SOURCES = ("models", "macros", "seeds", "snapshots", "tests", "analyses")
_PROJECT_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml", "profiles.yml", "selectors.yml")

# A pipeline's build: every model, seed and data test, without the dbt unit tests. Unit tests check the SQL's
# logic on hand-written rows, not the data: they belong to development and CI (tests/dbt/test_unit_tests.py runs
# them all), as dbt's own guidance says, and they took 42 of 97 s of a `small` build.
NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")
BUILD_ARGS = ("build", *NO_UNIT_TESTS)


class DbtRunError(RuntimeError):
    """A dbt invocation failed; ``failed_nodes`` names the nodes that errored or failed."""

    def __init__(
        self, args: list[str], failed_nodes: list[str], detail: str | None = None, result: Any = None
    ) -> None:
        self.args_ = args
        self.failed_nodes = failed_nodes
        # dbt's result object, when dbt returned one (stale sources: the FreshnessResult that says which)
        self.result = result
        what = f"failed nodes: {', '.join(failed_nodes)}" if failed_nodes else (detail or "see the dbt log")
        super().__init__(f"dbt {' '.join(args)} failed; {what}")


def default_target(settings: Settings | None = None) -> str:
    """The profiles.yml target that matches the configured warehouse."""
    settings = settings or get_settings()
    return "duckdb" if settings.is_duckdb else "postgres"


def macros_digest(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """sha256 over the project's macros and dbt_project.yml (vars): part of each incremental staging model's
    code fingerprint (macros/staging_incremental.sql), so a macro change rebuilds those models in full."""
    digest = hashlib.sha256()
    files = sorted((project_dir / "macros").rglob("*.sql")) + [project_dir / "dbt_project.yml"]
    for path in files:
        digest.update(path.relative_to(project_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def dbt_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment variables profiles.yml reads, derived from the warehouse URL (no connection is made); on
    PostgreSQL also ``PGOPTIONS`` carrying the pseudonym key's session settings (:func:`pg_hmac_options`)."""
    settings = settings or get_settings()
    if settings.is_duckdb:
        return {
            "YIWANG_DUCKDB_PATH": str(settings.duckdb_path),
            "YIWANG_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
            "YIWANG_DUCKDB_TEMP_DIR": str(settings.duckdb_temp_dir),
            "YIWANG_DUCKDB_THREADS": str(settings.duckdb_threads),
            "YIWANG_DBT_MACROS_DIGEST": macros_digest(),
        }
    u = make_url(settings.warehouse_url)
    env = {
        "YIWANG_DBT_MACROS_DIGEST": macros_digest(),
        "YIWANG_PG_HOST": u.host or "127.0.0.1",
        "YIWANG_PG_PORT": str(u.port or 5432),
        "YIWANG_PG_USER": u.username or "postgres",
        "YIWANG_PG_DBNAME": u.database or "yiwang",
    }
    if u.password:
        env["YIWANG_PG_PASSWORD"] = str(u.password)
    options = pg_hmac_options()
    if options is not None:
        env["PGOPTIONS"] = options
    return env


_PG_HMAC_OPTION = re.compile(r"\s*-c\s*yiwang\.hmac_(?:ipad|opad)=\S*")


def pg_hmac_options(existing: str | None = None) -> str | None:
    """PGOPTIONS for dbt's PostgreSQL sessions: the HMAC key, as its two padded forms (hex), in the session
    settings ``yiwang.hmac_ipad`` / ``yiwang.hmac_opad`` that ``yiwang_udf.yiwang_hmac()`` reads (see
    ``dbt_project/macros/identity/idn_pseudonym.sql``). libpq sends them in the connection start-up packet, so
    they never appear in SQL text, dbt's artefacts or logs, or the server's statement log.

    ``existing`` (default: the current ``PGOPTIONS``) is kept, minus any earlier yiwang.hmac_* settings.
    ``None`` when ``YIWANG_HMAC_KEY`` is not set: dbt still parses, compiles and documents; a model that
    pseudonymises then fails, naming what is missing."""
    try:
        key = hmac_key()
    except ConfigError:
        return None
    if len(key) > 64:  # RFC 2104: a key longer than the block is hashed first
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in block).hex()
    opad = bytes(b ^ 0x5C for b in block).hex()
    rest = _PG_HMAC_OPTION.sub("", os.environ.get("PGOPTIONS", "") if existing is None else existing).strip()
    return " ".join(filter(None, [rest, f"-c yiwang.hmac_ipad={ipad} -c yiwang.hmac_opad={opad}"]))


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _failed_nodes(result: Any) -> list[str]:
    failed: list[str] = []
    for r in getattr(result.result, "results", None) or []:
        status = getattr(r, "status", "")
        if str(getattr(status, "value", status)).lower() in ("error", "fail", "runtime error"):
            node = getattr(r, "node", None)
            failed.append(getattr(node, "unique_id", None) or str(node))
    return failed


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an in-process run.

    Without this, a later read-only connection to the same file from this process (the GX gates, when a
    build runs in one process as under ``airflow dags test``) fails with "different configuration".
    Does nothing (and imports nothing) when dbt-duckdb was never loaded.
    """
    mod = sys.modules.get("dbt.adapters.duckdb.connections")
    if mod is None:
        return
    manager = mod.DuckDBConnectionManager
    with manager._LOCK:
        if manager._ENV is not None:
            try:
                manager._ENV.close()
            finally:
                manager._ENV = None


def run_dbt(
    args: list[str],
    target: str | None = None,
    *,
    project_dir: Path | None = None,
    settings: Settings | None = None,
    dbt_vars: Mapping[str, Any] | None = None,
    write_json: bool = True,
) -> Any:
    """Run ``dbt <args>`` in-process against the configured warehouse; return the ``dbtRunnerResult``.

    ``dbt_vars`` (e.g. ``{"as_of": "2025-06-30"}``) go to dbt as ``--vars`` (JSON). ``write_json=False``
    (``--no-write-json``): dbt writes none of its JSON artifacts (manifest.json after the parse and again after
    the run, run_results.json / sources.json); a caller that needs one writes it from the result.
    Raises :class:`DbtRunError` (naming the failed nodes, holding dbt's result) when dbt reports failure or raises.
    """
    from dbt.cli.main import dbtRunner  # noqa: PLC0415 - dbt takes seconds to import; only its runs need it

    settings = settings or get_settings()
    project_dir = Path(project_dir or DBT_PROJECT_DIR)
    cli_args = [
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target",
        target or default_target(settings),
    ]
    if dbt_vars:
        cli_args += ["--vars", json.dumps(dict(dbt_vars), sort_keys=True)]
    if not write_json:
        cli_args.append("--no-write-json")
    try:
        with _environ(dbt_env(settings)):
            result = dbtRunner().invoke(cli_args)
    finally:
        release_duckdb()
    if not result.success:
        detail = repr(result.exception) if result.exception is not None else None
        raise DbtRunError(
            args, _failed_nodes(result) if result.result is not None else [], detail, result=result.result
        )
    return result


def manifest_path(project_dir: Path | None = None) -> Path:
    """Where dbt writes the project's manifest: ``$DBT_TARGET_PATH`` when set (relative to the project), as dbt
    itself does, else ``<project>/target``. Readers of the manifest (the mart gate, cosmos) must read the one the
    build they follow wrote, never a stale one from another target path."""
    project_dir = Path(project_dir or DBT_PROJECT_DIR)
    target = os.environ.get("DBT_TARGET_PATH")
    return (project_dir / target if target else project_dir / "target") / "manifest.json"


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _PROJECT_FILES:
        p = project_dir / name
        if p.exists():
            newest = max(newest, p.stat().st_mtime)
    for sub in _PROJECT_SOURCES:
        root = project_dir / sub
        if root.is_dir():
            for p in root.rglob("*"):
                if p.is_file():
                    newest = max(newest, p.stat().st_mtime)
    return newest


def manifest_is_fresh(project_dir: Path | None = None) -> bool:
    """True when target/manifest.json exists and is newer than every project source file."""
    project_dir = Path(project_dir or DBT_PROJECT_DIR)
    m = manifest_path(project_dir)
    return m.exists() and m.stat().st_mtime >= _newest_source_mtime(project_dir)


def ensure_manifest(
    project_dir: Path | None = None, *, force: bool = False, settings: Settings | None = None
) -> Path:
    """Return ``target/manifest.json``, running ``dbt parse`` (and ``dbt deps`` if needed) when it is stale.

    ``dbt parse`` opens no warehouse connection, so this is safe while another process writes the warehouse.
    """
    project_dir = Path(project_dir or DBT_PROJECT_DIR)
    if not force and manifest_is_fresh(project_dir):
        return manifest_path(project_dir)
    has_packages = (project_dir / "packages.yml").exists() or (project_dir / "dependencies.yml").exists()
    if has_packages and not (project_dir / "dbt_packages").exists():
        run_dbt(["deps"], project_dir=project_dir, settings=settings)
    run_dbt(["parse"], project_dir=project_dir, settings=settings)
    return manifest_path(project_dir)


def compile_inline(
    sql: str, target: str | None = None, *, project_dir: Path | None = None, settings: Settings | None = None
) -> str:
    """Compile a snippet of SQL + Jinja against the project's macros (``dbt compile --inline``); return the SQL.

    Used where Python must run exactly the SQL a dbt macro writes (the raw gate reads values with staging's own
    normalisers). Nothing is run against the warehouse: on DuckDB dbt opens a throwaway file, not the warehouse,
    so this works while another process holds the warehouse; partial-parse state lives in a private target path.
    """
    from dbt.cli.main import dbtRunner  # noqa: PLC0415 - dbt takes seconds to import; only its runs need it

    settings = settings or get_settings()
    project_dir = Path(project_dir or DBT_PROJECT_DIR)
    target = target or default_target(settings)
    scratch = settings.home / "cache" / "dbt_compile"
    scratch.mkdir(parents=True, exist_ok=True)
    env = dbt_env(settings)
    with tempfile.TemporaryDirectory(prefix="yiwang-compile-") as tmp:
        if "YIWANG_DUCKDB_PATH" in env:
            env["YIWANG_DUCKDB_PATH"] = str(Path(tmp) / "compile.duckdb")
        cli_args = [
            "compile",
            "--inline",
            sql,
            "--quiet",
            "--log-level",
            "none",
            "--no-introspect",
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
            "--target",
            target,
            "--target-path",
            str(scratch / target / "target"),
            "--log-path",
            str(scratch / target / "logs"),
        ]
        try:
            with _environ(env):
                result = dbtRunner().invoke(cli_args)
        finally:
            release_duckdb()
    if not result.success or result.result is None or not result.result.results:
        detail = repr(result.exception) if result.exception is not None else "no compiled node"
        raise DbtRunError(["compile", "--inline"], [], detail)
    return str(result.result.results[0].node.compiled_code)
