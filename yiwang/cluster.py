"""Airflow as a city runs it, on one machine: metadata on PostgreSQL, CeleryExecutor with Redis, every
component its own process on loopback (`yiwang cluster start|stop|status`, docs/deployment.md).

Processes: scheduler, dag-processor, triggerer, api-server (the one listening port) and two Celery workers
(distinct Celery hostnames; each task instance records its worker's name in ``task_instance.hostname`` through
``worker_hostname``; each worker preloads dbt and cosmos, :mod:`yiwang.worker_preload`). Each runs in its own session (process group) with a pid file; ``stop`` sends SIGTERM to every group, waits
``YIWANG_AIRFLOW_STOP_GRACE`` seconds and then SIGKILLs what is left (a scheduler may sit out SIGTERM for a
minute while its executor drains).

Configuration comes from the environment only (the one secret this module writes to a file is
``YIWANG_AIRFLOW_ADMIN_PASSWORD``, mode 600, into the passwords file Airflow's simple auth manager reads):

| env var | default |
|---|---|
| ``YIWANG_AIRFLOW_DB_URL`` | ``postgresql+psycopg://postgres@127.0.0.1:5432/yiwang_airflow`` (created if missing) |
| ``YIWANG_CELERY_REDIS_DB`` | ``0`` (broker ``redis://127.0.0.1:6379/<db>``; ``YIWANG_REDIS_PORT`` for another port) |
| ``YIWANG_AIRFLOW_API_PORT`` | ``8080`` (api-server on 127.0.0.1) |
| ``YIWANG_AIRFLOW_CLUSTER_HOME`` | ``$YIWANG_HOME/airflow-cluster`` (AIRFLOW_HOME, pid files, logs) |
| ``YIWANG_CELERY_CONCURRENCY`` | ``1`` task slot per worker (2 cores: parallelism = 2 workers x 1) |
| ``AIRFLOW__API_AUTH__JWT_SECRET`` | generated per start and handed to the children (never written) |
| ``YIWANG_AIRFLOW_ADMIN_PASSWORD`` | unset: Airflow's simple auth manager generates the ``admin`` password |

Connections reach tasks as ``AIRFLOW_CONN_*`` variables and the yiwang settings as ``YIWANG_*`` variables
from the environment ``start`` runs in; every child inherits it. :class:`ClusterApi` is the REST client the
tests and bench/cluster_build.py drive the cluster with.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import redis
import requests
import sqlalchemy as sa
from celery import Celery

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/yiwang_airflow"
WORKERS = ("worker-1", "worker-2")
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server", *WORKERS)
ADMIN_USER = "admin"


class ClusterError(RuntimeError):
    """The cluster cannot start (a server or port missing) or did not become healthy."""


def __getattr__(name: str) -> object:
    """``CELERY_CONFIG`` (``[celery] celery_config_options``): Airflow's default Celery settings plus the
    worker preload (:mod:`yiwang.worker_preload`); built on first use so importing this module stays cheap."""
    if name == "CELERY_CONFIG":
        from airflow.providers.celery.executors.default_celery import (  # noqa: PLC0415 - Airflow takes seconds to import
            DEFAULT_CELERY_CONFIG,
        )

        imports = [*DEFAULT_CELERY_CONFIG.get("imports", ()), "yiwang.worker_preload"]
        return {**DEFAULT_CELERY_CONFIG, "imports": imports}
    raise AttributeError(name)


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the cluster: the Celery worker's name, so that two workers on one machine
    are told apart in ``task_instance.hostname`` (the machine name elsewhere)."""
    name = os.environ.get("YIWANG_AIRFLOW_WORKER_NAME")
    return f"{name}@{socket.getfqdn()}" if name else socket.getfqdn()


@dataclass(frozen=True)
class ClusterConfig:
    home: Path
    db_url: str
    redis_db: int
    redis_port: int
    api_port: int
    concurrency: int
    stop_grace: float
    env: dict[str, str] = field(repr=False, compare=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ClusterConfig:
        env = dict(os.environ if env is None else env)
        yiwang_home = Path(env.get("YIWANG_HOME") or REPO_ROOT / "var").resolve()
        home = Path(env.get("YIWANG_AIRFLOW_CLUSTER_HOME") or yiwang_home / "airflow-cluster").resolve()
        return cls(
            home=home,
            db_url=env.get("YIWANG_AIRFLOW_DB_URL") or DEFAULT_DB_URL,
            redis_db=int(env.get("YIWANG_CELERY_REDIS_DB") or 0),
            redis_port=int(env.get("YIWANG_REDIS_PORT") or 6379),
            api_port=int(env.get("YIWANG_AIRFLOW_API_PORT") or 8080),
            concurrency=int(env.get("YIWANG_CELERY_CONCURRENCY") or 1),
            stop_grace=float(env.get("YIWANG_AIRFLOW_STOP_GRACE") or 30),
            env={**env, "YIWANG_HOME": str(yiwang_home)},
        )

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{self.redis_db}"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def passwords_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    def airflow_env(self) -> dict[str, str]:
        """The environment every component runs with (the caller's, plus the cluster's Airflow settings)."""
        env = dict(self.env)
        bin_dir = str(Path(sys.executable).parent)
        env.update(
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CORE__PARALLELISM=str(len(WORKERS) * self.concurrency),
            AIRFLOW__CORE__HOSTNAME_CALLABLE="yiwang.cluster.worker_hostname",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{self.api_url}/execution/",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{ADMIN_USER}:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(self.passwords_file),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=self.db_url,
            # Airflow's default async driver is asyncpg (not installed): psycopg 3 does both
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=async_url(self.db_url),
            AIRFLOW__CELERY__BROKER_URL=self.broker_url,
            AIRFLOW__CELERY__WORKER_CONCURRENCY=str(self.concurrency),
            AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER="1",
            AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS="yiwang.cluster.CELERY_CONFIG",
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__PORT=str(self.api_port),
            AIRFLOW__API__BASE_URL=self.api_url,
            AIRFLOW__API__WORKERS="1",
            AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(self.log_dir / "tasks"),
            AIRFLOW__LOGGING__LOGGING_LEVEL=env.get("AIRFLOW__LOGGING__LOGGING_LEVEL") or "INFO",
            AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR="True",
            # cosmos keeps dbt's partial-parse state here: this cluster's own, never another checkout's in /tmp
            AIRFLOW__COSMOS__CACHE_DIR=str(self.home / "cosmos"),
            PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        )
        # one secret for the api-server (which checks task tokens) and the scheduler (which issues them)
        env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(32))
        env.setdefault("AIRFLOW__API__SECRET_KEY", secrets.token_urlsafe(32))
        return env

    def command(self, component: str) -> list[str]:
        airflow = str(Path(sys.executable).parent / "airflow")
        if component in WORKERS:
            return [
                airflow,
                "celery",
                "worker",
                "--celery-hostname",
                f"{component}@%h",
                "--concurrency",
                str(self.concurrency),
                "--skip-serve-logs",  # its log server binds every interface; the api-server reads the files
            ]
        if component == "api-server":
            return [airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.api_port)]
        if component == "triggerer":
            return [airflow, "triggerer", "--skip-serve-logs"]
        return [airflow, component]

    def component_env(self, component: str, base: dict[str, str]) -> dict[str, str]:
        env = dict(base)
        if component in WORKERS:
            env["YIWANG_AIRFLOW_WORKER_NAME"] = component
        return env


def async_url(db_url: str) -> str:

    url = sa.engine.make_url(db_url)
    return url.set(drivername="postgresql+psycopg_async").render_as_string(hide_password=False)


# -- processes -----------------------------------------------------------------------------------


def _pid_file(cfg: ClusterConfig, component: str) -> Path:
    return cfg.run_dir / f"{component}.pid"


def _read_pid(cfg: ClusterConfig, component: str) -> tuple[int, float] | None:
    """(pid, start time) of a component this module started and that still runs; None otherwise."""

    path = _pid_file(cfg, component)
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        proc = psutil.Process(int(rec["pid"]))
        # a recycled pid belongs to another process: the start time tells them apart
        if abs(proc.create_time() - float(rec["started"])) > 1 or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return int(rec["pid"]), float(rec["started"])
    except (OSError, ValueError, KeyError, psutil.Error):
        return None


def running(cfg: ClusterConfig) -> dict[str, int]:
    """The components of this cluster whose process is alive, with their pid."""
    out = {}
    for c in COMPONENTS:
        rec = _read_pid(cfg, c)
        if rec:
            out[c] = rec[0]
    return out


def ensure_database(db_url: str) -> bool:
    """Create the metadata database when it does not exist (connecting to the server's `postgres` database).
    True when it was created."""

    url = sa.engine.make_url(db_url)
    if not url.drivername.startswith("postgresql"):
        raise ClusterError(f"the cluster keeps Airflow's metadata on PostgreSQL, not {url.drivername}")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as con:
            if con.execute(
                sa.text("select 1 from pg_database where datname = :d"), {"d": url.database}
            ).first():
                return False
            quoted = sa.sql.compiler.IdentifierPreparer(admin.dialect).quote(url.database)
            con.execute(sa.text(f"create database {quoted}"))
            return True
    except sa.exc.OperationalError as e:
        raise ClusterError(
            f"PostgreSQL for Airflow's metadata not reachable ({url.host}:{url.port}): {e}"
        ) from e
    finally:
        admin.dispose()


def _check_redis(cfg: ClusterConfig) -> None:

    try:
        redis.Redis(host="127.0.0.1", port=cfg.redis_port, db=cfg.redis_db, socket_timeout=3).ping()
    except redis.RedisError as e:
        raise ClusterError(f"Redis for the Celery broker not reachable ({cfg.broker_url}): {e}") from e


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _write_admin_password(cfg: ClusterConfig) -> None:
    """YIWANG_AIRFLOW_ADMIN_PASSWORD, when set, becomes the simple auth manager's admin password (file mode 600
    in the cluster home, where Airflow keeps it); otherwise Airflow generates one there."""
    password = cfg.env.get("YIWANG_AIRFLOW_ADMIN_PASSWORD")
    if not password:
        return
    fd = os.open(cfg.passwords_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({ADMIN_USER: password}, fh)


def admin_password(cfg: ClusterConfig) -> str:
    if cfg.env.get("YIWANG_AIRFLOW_ADMIN_PASSWORD"):
        return cfg.env["YIWANG_AIRFLOW_ADMIN_PASSWORD"]
    return json.loads(cfg.passwords_file.read_text(encoding="utf-8"))[ADMIN_USER]


def migrate(cfg: ClusterConfig, env: dict[str, str]) -> None:
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).parent / "airflow")
    with (cfg.log_dir / "migrate.log").open("a", encoding="utf-8") as log:
        rc = subprocess.run(
            [airflow, "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        ).returncode
    if rc != 0:
        raise ClusterError(f"airflow db migrate failed; see {cfg.log_dir / 'migrate.log'}")


def start(cfg: ClusterConfig, *, wait: float = 180.0, migrate_db: bool = True) -> dict[str, int]:
    """Create the metadata database if needed, migrate it (``migrate_db=False``: the caller just did), start
    every component not yet running and wait until the api-server reports the scheduler, triggerer and
    dag-processor healthy and both workers answer."""

    _check_redis(cfg)
    ensure_database(cfg.db_url)
    already = running(cfg)
    if already and set(already) != set(COMPONENTS):
        raise ClusterError(
            f"part of the cluster is running ({', '.join(sorted(already))}): `yiwang cluster stop` first"
        )
    if already:
        return already
    if not _port_free(cfg.api_port):
        raise ClusterError(f"port {cfg.api_port} in use on 127.0.0.1 (set YIWANG_AIRFLOW_API_PORT)")
    for d in (cfg.home, cfg.run_dir, cfg.log_dir):
        d.mkdir(parents=True, exist_ok=True)
    _write_admin_password(cfg)
    env = cfg.airflow_env()
    if migrate_db:
        migrate(cfg, env)
    pids = {}
    try:
        for c in COMPONENTS:
            log = (cfg.log_dir / f"{c}.log").open("a", encoding="utf-8")
            proc = subprocess.Popen(
                cfg.command(c),
                env=cfg.component_env(c, env),
                cwd=cfg.home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() signals the component and its children
            )
            log.close()
            started = psutil.Process(proc.pid).create_time()
            _pid_file(cfg, c).write_text(json.dumps({"pid": proc.pid, "started": started}), encoding="utf-8")
            pids[c] = proc.pid
        if wait:
            wait_healthy(cfg, timeout=wait)
    except BaseException:
        stop(cfg)
        raise
    return pids


def health(cfg: ClusterConfig) -> dict[str, str]:
    """Component -> status from the api-server's /api/v2/monitor/health ({} when it does not answer)."""

    try:
        body = requests.get(f"{cfg.api_url}/api/v2/monitor/health", timeout=5).json()
    except (requests.RequestException, ValueError):
        return {}
    return {k: (v or {}).get("status", "unknown") for k, v in body.items() if isinstance(v, dict)}


def celery_workers(cfg: ClusterConfig, timeout: float = 2.0) -> list[str]:
    """Names of the Celery workers that answer a ping on this cluster's broker."""

    app = Celery(broker=cfg.broker_url)
    try:
        replies = app.control.ping(timeout=timeout) or []
    except Exception:  # noqa: BLE001 - broker unreachable: no worker answers
        return []
    finally:
        app.close()
    return sorted(name for reply in replies for name in reply)


def wait_healthy(cfg: ClusterConfig, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    wanted = {"metadatabase", "scheduler", "triggerer", "dag_processor"}
    state: dict[str, str] = {}
    workers: list[str] = []
    while time.monotonic() < deadline:
        dead = [c for c in COMPONENTS if c not in running(cfg)]
        if dead:
            raise ClusterError(f"{', '.join(dead)} exited during start; see {cfg.log_dir}/<component>.log")
        state = health(cfg)
        if wanted <= {k for k, v in state.items() if v == "healthy"}:
            workers = celery_workers(cfg)
            if len(workers) >= len(WORKERS):
                return
        time.sleep(1)
    raise ClusterError(f"cluster not healthy after {timeout:.0f} s: health {state}, workers {workers}")


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def stop(cfg: ClusterConfig, components: Iterable[str] = COMPONENTS) -> dict[str, str]:
    """SIGTERM every component's process group (by the pids in the pid files), wait up to stop_grace seconds,
    then SIGKILL the groups still there. Returns component -> 'terminated' | 'killed' | 'not running'."""

    result: dict[str, str] = {}
    live: dict[str, int] = {}
    for c in components:
        rec = _read_pid(cfg, c)
        if rec is None:
            result[c] = "not running"
            _pid_file(cfg, c).unlink(missing_ok=True)
        else:
            live[c] = rec[0]
    procs: dict[str, list[psutil.Process]] = {}
    for c, pid in live.items():
        try:
            parent = psutil.Process(pid)
            procs[c] = [parent, *parent.children(recursive=True)]
        except psutil.Error:
            procs[c] = []
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + cfg.stop_grace
    while live and time.monotonic() < deadline:
        for c in [c for c in live if not any(_alive(p) for p in procs[c])]:
            result[c] = "terminated"
            del live[c]
        time.sleep(0.5)
    for c, pid in live.items():
        _signal_group(pid, signal.SIGKILL)
        for p in procs[c]:  # children that left the group (a task runner's own session)
            if _alive(p):
                p.kill()
        result[c] = "killed"
    for c in list(live):
        psutil.wait_procs([p for p in procs[c] if _alive(p)], timeout=10)
    for c in result:
        _pid_file(cfg, c).unlink(missing_ok=True)
    return result


def _alive(p: object) -> bool:

    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE  # type: ignore[attr-defined]
    except psutil.Error:
        return False


def status(cfg: ClusterConfig) -> dict[str, object]:
    return {
        "processes": running(cfg),
        "health": health(cfg),
        "workers": celery_workers(cfg) if running(cfg) else [],
        "api": cfg.api_url,
        "logs": str(cfg.log_dir),
    }


# -- the REST API (Airflow 3, simple auth manager) ------------------------------------------------------------

EXTRACT_DAGS = tuple(
    f"yiwang_extract_{s}" for s in ("party", "grid", "approval", "services", "property", "hotline")
)
BUILD_DAG = "yiwang_build"


class ClusterApi:
    """The cluster's REST API (``/api/v2``) with a JWT from ``POST /auth/token`` (docs/deployment.md)."""

    def __init__(self, cfg: ClusterConfig, password: str | None = None) -> None:

        self.base = cfg.api_url
        self.session = requests.Session()
        res = requests.post(
            f"{self.base}/auth/token",
            json={"username": ADMIN_USER, "password": password or admin_password(cfg)},
            timeout=30,
        )
        res.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {res.json()['access_token']}"

    def get(self, path: str, **params: object) -> dict:
        res = self.session.get(f"{self.base}/api/v2{path}", params=params, timeout=30)
        res.raise_for_status()
        return res.json()

    def send(self, method: str, path: str, body: dict) -> dict:
        res = self.session.request(method, f"{self.base}/api/v2{path}", json=body, timeout=30)
        if not res.ok:
            raise ClusterError(f"{method} {path}: {res.status_code} {res.text[:500]}")
        return res.json()

    def dags(self) -> dict[str, dict]:
        return {d["dag_id"]: d for d in self.get("/dags", limit=1000)["dags"]}

    def runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", order_by="-run_after")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every task instance of the run, page by page (the API returns at most 100 at a time by default)."""
        out: list[dict] = []
        while True:
            page = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100, offset=len(out))
            out += page["task_instances"]
            if not page["task_instances"] or len(out) >= page.get("total_entries", len(out)):
                return out

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float) -> dict[str, dict]:
        """The DAGs once the dag-processor has parsed all of them."""
        wanted, deadline = set(dag_ids), time.monotonic() + timeout
        while True:
            dags = self.dags()
            if wanted <= dags.keys():
                return dags
            if time.monotonic() > deadline:
                raise ClusterError(f"DAGs not parsed after {timeout:.0f} s: {sorted(wanted - dags.keys())}")
            time.sleep(1)

    def trigger_extracts(self, timeout: float = 120.0) -> None:
        """Unpause the build DAG, then trigger every extract DAG and unpause it. Each run takes the logical date
        its cron schedule would use next, so unpausing does not add a second, scheduled run."""
        dags = self.wait_for_dags([*EXTRACT_DAGS, BUILD_DAG], timeout)
        self.send("PATCH", f"/dags/{BUILD_DAG}", {"is_paused": False})
        for dag_id in EXTRACT_DAGS:
            self.send(
                "POST", f"/dags/{dag_id}/dagRuns", {"logical_date": dags[dag_id]["next_dagrun_logical_date"]}
            )
            self.send("PATCH", f"/dags/{dag_id}", {"is_paused": False})

    def wait_for_run(self, dag_id: str, timeout: float) -> dict:
        """The DAG's latest run once it has finished (success or failed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs(dag_id)
            if runs and runs[0]["state"] in ("success", "failed"):
                return runs[0]
            time.sleep(2)
        raise ClusterError(f"{dag_id} did not finish in {timeout:.0f} s: {self.runs(dag_id)[:1]}")

    def tasks_per_worker(self, dag_ids: Iterable[str], run_type: str | None = None) -> dict[str, int]:
        """Worker name -> task instances it ran, over every run of the DAGs (of one ``run_type`` if given)."""
        out: dict[str, int] = {}
        for dag_id in dag_ids:
            for run in self.runs(dag_id):
                if run_type and run["run_type"] != run_type:
                    continue
                for ti in self.task_instances(dag_id, run["dag_run_id"]):
                    if ti.get("hostname"):
                        worker = ti["hostname"].split("@")[0]
                        out[worker] = out.get(worker, 0) + 1
        return dict(sorted(out.items()))
