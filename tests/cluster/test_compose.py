"""The compose deployment without a container engine: docker-compose.yml is valid against the Compose
Specification's JSON schema once interpolated (as `docker compose config` checks it), every variable it needs is
in .env.example, everything it runs exists in the image the Dockerfile builds (airflow and yiwang subcommands,
paths under /opt/yiwang, mounted files), the Dockerfile copies only what exists and installs at build time, and
scripts/init-databases.sh creates the roles and databases on this machine's PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
SCHEMA = Path(__file__).parent / "compose_spec" / "compose-spec.json"
INIT_SCRIPT = REPO / "scripts" / "init-databases.sh"
IMAGE_ROOT = "/opt/yiwang"

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _interpolate(node: Any, env: dict[str, str], missing: set[str]) -> Any:
    """Compose's interpolation: ${X}, ${X:-default}, ${X:?error}; $$ is a literal $."""
    if isinstance(node, dict):
        return {k: _interpolate(v, env, missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, env, missing) for v in node]
    if not isinstance(node, str):
        return node

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = env.get(name, "")
        if op and op.endswith("-"):
            return value or arg
        if not value:
            missing.add(name)
        return value or "x"

    return _VAR.sub(sub, node.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def resolved(compose: dict[str, Any]) -> dict[str, Any]:
    """The file as `docker compose config` sees it with every .env.example variable set (dummy secrets)."""
    env = {k: v or f"dummy-{k.lower()}" for k, v in _env_example().items()}
    missing: set[str] = set()
    doc = _interpolate(compose, env, missing)
    assert not missing, f"docker-compose.yml needs variables .env.example does not list: {sorted(missing)}"
    return doc


def _copies() -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY in the Dockerfile (flags dropped)."""
    out = []
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY "):
            parts = [p for p in shlex.split(line[5:]) if not p.startswith("--")]
            out.append((parts[:-1], parts[-1]))
    return out


def _image_path_exists(path: str) -> bool:
    """A path inside the image: under /opt/yiwang it must come from a COPY whose source exists in the repo
    (or be the state volume); elsewhere it is the base image's."""
    if not path.startswith(IMAGE_ROOT):
        return True
    rel = path.removeprefix(IMAGE_ROOT).strip("/")
    if rel == "var" or rel.startswith("var/"):
        return True  # YIWANG_HOME: the yiwang-home volume, created in the Dockerfile
    for sources, dest in _copies():
        dest_rel = dest.removeprefix(IMAGE_ROOT).strip("/")
        for src in sources:
            target = dest_rel if not dest.endswith("/") else f"{dest_rel}/{Path(src).name}".strip("/")
            if rel == target or rel.startswith(target + "/"):
                return (REPO / src / rel.removeprefix(target).strip("/")).exists()
    return False


def test_compose_file_is_valid_against_the_compose_spec(resolved: dict[str, Any]) -> None:
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(
        jsonschema.Draft7Validator(schema).iter_errors(resolved), key=lambda e: list(e.absolute_path)
    )
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_the_schema_check_would_catch_a_broken_file(resolved: dict[str, Any]) -> None:
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(resolved))
    broken["services"]["redis"]["healthcheck"]["interval"] = ["10s"]
    broken["services"]["postgres"]["restart_policy"] = "always"  # not a service key
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(broken))) >= 2


def test_every_service_the_issue_names_is_there_with_a_health_check(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name in (
        "postgres",
        "redis",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker",
        "yiwang-serve",
    ):
        assert name in services, f"no {name} service"
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["airflow-worker"]["deploy"]["replicas"] >= 2
    airflow = services["airflow-scheduler"]["environment"]
    assert airflow["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert airflow["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
    assert airflow["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg://")
    assert resolved["volumes"].keys() >= {"pgdata", "redisdata", "yiwang-home"}


def test_secrets_come_from_the_env_file_never_from_the_compose_file(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    keys = re.finditer(
        r"^\s*([A-Z_]*(?:PASSWORD|SECRET|TOKEN|API_KEY|FERNET_KEY|HMAC_KEY)[A-Z_]*):\s*(\S+)", text, re.M
    )
    for m in keys:
        if m.group(1).endswith("_FILE"):
            continue  # where a secret is kept, not the secret
        assert m.group(2).startswith("${"), f"a literal secret in docker-compose.yml: {m.group(0)}"
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").split()
    tracked = subprocess.run(
        ["git", "ls-files", ".env"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert not tracked.stdout.strip(), ".env (the deployment's secrets) is committed"


def test_nothing_is_installed_when_a_container_starts(resolved: dict[str, Any]) -> None:
    for name, svc in resolved["services"].items():
        for key in ("command", "entrypoint"):
            run = svc.get(key) or []
            text = run if isinstance(run, str) else " ".join(run)
            assert not re.search(r"\b(pip|uv|apt-get)\b", text), f"{name} installs at start: {text}"
    assert "image" not in resolved["services"]["airflow-scheduler"] or resolved["services"][
        "airflow-scheduler"
    ].get("build"), "the Airflow services build the yiwang image"


def test_dockerfile_builds_from_airflow_and_copies_what_exists() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert re.search(r"^FROM apache/airflow:3\.3\.2-python3\.11$", text, re.M)
    assert "pip install --no-cache-dir -r /opt/yiwang/requirements.lock" in text
    assert not re.search(r"^(CMD|ENTRYPOINT).*pip", text, re.M)
    copies = _copies()
    assert copies
    for sources, _ in copies:
        for src in sources:
            assert (REPO / src).exists(), f"Dockerfile copies {src}, which is not in the project"
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", "var", "dbt_project/target"} <= set(ignored), (
        "secrets or local state reach the image"
    )
    copied = {Path(s).parts[0] for sources, _ in copies for s in sources}
    assert {"dags", "dbt_project", "yiwang", "requirements.lock", "reference", "scripts"} <= copied


def _commands(resolved: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(service, argv) of every command and health check of the services built from the yiwang image."""
    out = []
    for name, svc in resolved["services"].items():
        if svc.get("image") != "yiwang:latest":
            continue
        if svc.get("command"):
            out.append((name, list(svc["command"])))
        test = svc.get("healthcheck", {}).get("test") or []
        if test and test[0] == "CMD":
            out.append((name, list(test[1:])))
        elif test and test[0] == "CMD-SHELL":
            out.append((name, shlex.split(test[1].replace('"celery@${HOSTNAME}"', "celery@host"))))
    return out


_AIRFLOW_PARSE = """
import json, sys
from airflow.cli.cli_parser import get_parser
parser = get_parser()
bad = []
for argv in json.loads(sys.argv[1]):
    try:
        parser.parse_args(argv)
    except SystemExit:
        bad.append(argv)
print(json.dumps(bad))
"""


def test_every_command_the_services_run_exists(resolved: dict[str, Any], tmp_path: Path) -> None:
    import click

    from yiwang.cli import main as yiwang_main

    airflow_argvs, checked = [], []
    for service, argv in _commands(resolved):
        exe, args = argv[0], argv[1:]
        checked.append(service)
        if exe == "airflow":
            airflow_argvs.append(args)
        elif exe == "yiwang":
            ctx = yiwang_main.make_context("yiwang", list(args))
            name, cmd, rest = yiwang_main.resolve_command(ctx, ctx.protected_args + ctx.args)
            assert isinstance(cmd, click.Command), f"{service}: no `yiwang {name}`"
            cmd.make_context(name, list(rest), parent=ctx)  # raises on an unknown option
        elif exe == "curl":
            assert args[-1].startswith("http://localhost:"), f"{service}: {argv}"
        elif exe == "celery":
            module, _, attr = args[args.index("--app") + 1].rpartition(".")
            assert hasattr(__import__(module, fromlist=[attr]), attr), (
                f"{service}: no Celery app {module}.{attr}"
            )
        else:
            pytest.fail(f"{service} runs {exe}, which the image does not provide")
    assert {"airflow-apiserver", "airflow-worker", "yiwang-serve", "airflow-init"} <= set(checked)
    # airflow's own parser, in a fresh process configured as the services are (CeleryExecutor adds `celery`)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    out = subprocess.run(
        [sys.executable, "-c", _AIRFLOW_PARSE, json.dumps(airflow_argvs + [["no-such-command"]])],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    bad = json.loads(out.stdout.strip().splitlines()[-1])
    assert bad == [["no-such-command"]], f"airflow subcommands that do not exist: {bad[:-1]}"


def test_every_path_the_services_use_exists(resolved: dict[str, Any]) -> None:
    seen = []
    for name, svc in resolved["services"].items():
        for mount in svc.get("volumes", []):
            src = mount.split(":")[0] if isinstance(mount, str) else mount.get("source", "")
            if src.startswith("."):
                assert (REPO / src).exists(), f"{name} mounts {src}, which is not in the project"
                seen.append(src)
        if svc.get("image") == "yiwang:latest":
            values = [*(svc.get("environment") or {}).values(), *(svc.get("command") or [])]
            for value in values:
                for path in re.findall(r"(?<![\w@])/opt/yiwang[\w./-]*", str(value)):
                    assert _image_path_exists(path), f"{name} uses {path}, not in the image"
                    seen.append(path)
    assert "./scripts/init-databases.sh" in seen
    assert "/opt/yiwang/dags" in seen
    assert (REPO / "dags" / "build.py").exists()


# -- the init script on this machine's PostgreSQL ----------------------------------------------------------


@pytest.mark.integration
def test_init_script_creates_roles_and_databases_on_postgresql(pg_url: str) -> None:
    import sqlalchemy as sa

    if not shutil.which("psql"):  # the server is up (pg_url) but its client is not installed
        msg = "psql (the PostgreSQL client the init script runs) is not on PATH"
        pytest.fail(msg) if os.environ.get("CI", "").lower() == "true" else pytest.skip(msg)
    url = sa.engine.make_url(pg_url)
    tag = uuid.uuid4().hex[:8]
    names = {
        "AIRFLOW_DB_USER": f"t_airflow_{tag}",
        "AIRFLOW_DB_NAME": f"t_airflow_{tag}",
        "YIWANG_DB_USER": f"t_loader_{tag}",
        "YIWANG_DB_NAME": f"t_warehouse_{tag}",
    }
    env = {
        **os.environ,
        **names,
        "AIRFLOW_DB_PASSWORD": f"pw-a-{tag}'\"$x",  # quotes and $ reach SQL as a literal, never as code
        "YIWANG_DB_PASSWORD": f"pw-y-{tag}",
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
    }
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        for attempt in (1, 2):  # the second run finds everything there and changes nothing else
            out = subprocess.run(
                ["bash", str(INIT_SCRIPT)], env=env, capture_output=True, text=True, timeout=120, check=False
            )
            assert out.returncode == 0, f"run {attempt}: {out.stderr}"
        with admin.connect() as con:
            dbs = dict(
                con.execute(
                    sa.text(
                        "select datname, pg_get_userbyid(datdba) from pg_database where datname in (:a, :w)"
                    ),
                    {"a": names["AIRFLOW_DB_NAME"], "w": names["YIWANG_DB_NAME"]},
                ).all()
            )
            assert dbs == {
                names["AIRFLOW_DB_NAME"]: names["AIRFLOW_DB_USER"],
                names["YIWANG_DB_NAME"]: names["YIWANG_DB_USER"],
            }
            roles = {
                r[0]: r[1:]
                for r in con.execute(
                    sa.text(
                        "select rolname, rolcanlogin, rolsuper, rolcreaterole, rolbypassrls, "
                        "rolpassword is not null from pg_authid where rolname in (:a, :y)"
                    ),
                    {"a": names["AIRFLOW_DB_USER"], "y": names["YIWANG_DB_USER"]},
                ).all()
            }
            assert roles[names["AIRFLOW_DB_USER"]] == (True, False, False, False, True)
            assert roles[names["YIWANG_DB_USER"]] == (True, False, True, False, True)
            public_connect = con.execute(
                sa.text("select has_database_privilege('public', :a, 'CONNECT')"),
                {"a": names["AIRFLOW_DB_NAME"]},
            ).scalar()
            assert public_connect is False, "Airflow's metadata database is open to every role"
        # each role works in its own database: the loader creates a schema and a table
        loader = sa.create_engine(
            url.set(
                username=names["YIWANG_DB_USER"],
                password=env["YIWANG_DB_PASSWORD"],
                database=names["YIWANG_DB_NAME"],
            )
        )
        try:
            with loader.begin() as con:
                con.execute(sa.text("create schema raw_party"))
                con.execute(sa.text("create table raw_party.t (a int)"))
                assert con.execute(sa.text("select current_user")).scalar() == names["YIWANG_DB_USER"]
        finally:
            loader.dispose()
    finally:
        with admin.connect() as con:
            for db in (names["AIRFLOW_DB_NAME"], names["YIWANG_DB_NAME"]):
                con.execute(sa.text(f'drop database if exists "{db}" with (force)'))
            for role in (names["AIRFLOW_DB_USER"], names["YIWANG_DB_USER"]):
                con.execute(sa.text(f'drop role if exists "{role}"'))
        admin.dispose()
