"""The yiwang build airflow DAG: source freshness → raw gate → dbt (one task per model, astronomer-cosmos) into
the build schemas → mart gate → publish (swap into the public ``mart_*`` schemas, yiwang.publish) → docs site.

Scheduled on the raw Assets of all six systems. The dbt project is rendered from the cached
``dbt_project/target/manifest.json`` (``LoadMode.DBT_MANIFEST``: no dbt command runs while the file is
parsed). When the manifest does not exist yet, the DAG still imports and runs the whole project as one
``dbt build`` task, which also writes the manifest, so the next parse shows every model as its own task.
``refresh_manifest`` re-parses the project when a model changed, keeping the next rendering current.
``YIWANG_DBT_SELECT`` renders a dbt selection instead of the whole project (one task per selected model) and
ends the DAG after dbt: a partial build is never gated as a whole or published (tests/cluster runs one).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, dag, get_current_context, task
from yiwang_assets import DEFAULT_ARGS, MARTS_ASSET, RAW_ASSETS

from yiwang.dbt_runner import (
    BUILD_ARGS,
    DBT_PROJECT_DIR,
    NO_UNIT_TESTS,
    PROFILE_NAME,
    dbt_env,
    default_target,
    manifest_path,
)
from yiwang.publish import BUILD_SUFFIX, build_env
from yiwang.settings import SYSTEMS, get_settings


def _set_dbt_env(context: Any) -> None:
    """on_execute_callback of each dbt task: the warehouse location for profiles.yml, at run time only
    (so no credential is ever stored in the serialized DAG)."""
    os.environ.update(dbt_env())
    os.environ.update(build_env())  # marts go to mart_<x>__build; publish swaps them in after the mart gate


def _set_dbt_env_public(context: Any) -> None:
    """Docs describe the public marts: the warehouse location only, no build-schema suffix."""
    os.environ.update(dbt_env())
    os.environ.pop("YIWANG_BUILD_SCHEMA_SUFFIX", None)


def _dbt_task_group(project_dir: Path, manifest: Path, select: tuple[str, ...] = ()) -> Any:
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    return DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=project_dir, manifest_path=manifest, install_dbt_deps=False
        ),
        profile_config=ProfileConfig(
            profile_name=PROFILE_NAME,
            target_name=default_target(),
            profiles_yml_filepath=project_dir / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL, invocation_mode=InvocationMode.DBT_RUNNER
        ),
        # One `dbt build --select <model>` per task: the model and its tests in one dbt invocation.
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            emit_datasets=False,
            test_behavior=TestBehavior.BUILD,
            # a test on two models (relationships) runs as its own task after both: inside one model's `dbt build`
            # it failed whenever the other model was not built yet (seen on `small` under Celery: demand_xref ->
            # dim_demand)
            should_detach_multiple_parents_tests=True,
            select=list(select),
        ),
        operator_args={
            "install_deps": False,
            "on_execute_callback": _set_dbt_env,
            "dbt_cmd_flags": list(NO_UNIT_TESTS),  # unit tests run in CI, not in a pipeline's build
        },
    )


# Layer mode: each layer is one `dbt build` over a dbt selection; together they cover the whole project once.
_STAGING = "path:seeds path:models/staging"
_IDENTITY = "+path:models/identity"
DBT_LAYERS: list[tuple[str, str, str | None]] = [
    ("staging", _STAGING, None),
    ("identity", _IDENTITY, _STAGING),
    ("marts", "path:models", f"{_STAGING} {_IDENTITY}"),
]


def _dbt_layer_tasks(project_dir: Path) -> tuple[Any, Any]:
    """One cosmos DbtBuildLocalOperator per layer, chained; returns (first, last).

    ``cache_dir``: where each layer keeps dbt's partial-parse state for the next. cosmos hands an operator that
    state only when it has a cache dir (its task groups get one, a bare operator none), and otherwise every layer
    re-parsed the whole project (~7 s each on ``small``). Each layer starts from the newest of this cache and
    ``refresh_manifest``'s parse in the project's target (same env, target and vars, so dbt reuses it); dbt still
    re-parses any file whose contents or env vars changed. Under the target path: tests with their own
    ``DBT_TARGET_PATH`` keep their own."""
    from cosmos import ProfileConfig
    from cosmos.operators.local import DbtBuildLocalOperator

    profile = ProfileConfig(
        profile_name=PROFILE_NAME,
        target_name=default_target(),
        profiles_yml_filepath=project_dir / "profiles.yml",
    )
    tasks = [
        DbtBuildLocalOperator(
            task_id=f"dbt_{name}",
            project_dir=str(project_dir),
            profile_config=profile,
            select=select,
            exclude=exclude,
            dbt_cmd_flags=list(NO_UNIT_TESTS),
            install_deps=False,
            on_execute_callback=_set_dbt_env,
            cache_dir=manifest_path(project_dir).parent / "cosmos_layers",
            # as in the per-model task group: no Airflow asset per dbt node. Nothing is scheduled on them (the
            # marts' asset is publish's outlet) and recording one event per node built cost 2-3 s per layer
            emit_datasets=False,
        )
        for name, select, exclude in DBT_LAYERS
    ]
    for upstream, downstream in zip(tasks, tasks[1:], strict=False):
        upstream >> downstream
    return tasks[0], tasks[-1]


def make_build_dag(
    dag_id: str = "yiwang_build", project_dir: Path = DBT_PROJECT_DIR, schedule: Any = "assets"
) -> DAG:
    """``schedule="assets"``: run when every system's raw Asset was updated (tests pass ``None``)."""
    project_dir = Path(project_dir)
    manifest = manifest_path(project_dir)
    settings = get_settings()
    per_model = not (settings.dbt_tasks == "layer" and project_dir == DBT_PROJECT_DIR)
    select = settings.dbt_select if per_model else ()

    @dag(
        dag_id=dag_id,
        description="source freshness, raw gate, dbt models, mart gate, publish, docs",
        schedule=[RAW_ASSETS[s] for s in SYSTEMS] if schedule == "assets" else schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
        catchup=False,
        max_active_runs=1,
        # DuckDB: one dbt process at a time on the warehouse file; PostgreSQL takes models side by side (the
        # executor's parallelism and pools bound them)
        max_active_tasks=1 if settings.is_duckdb else 8,
        default_args=DEFAULT_ARGS,
        tags=["yiwang", "build", "dbt", "gx"],
    )
    def build() -> None:
        # Parsed with the environment the model tasks run with (the build-schema suffix is read by a macro): each
        # model task then reuses this partial-parse state instead of parsing the whole project again.
        @task(on_execute_callback=_set_dbt_env)
        def refresh_manifest() -> str:
            from yiwang.dbt_runner import ensure_manifest

            return str(ensure_manifest(project_dir, force=per_model))

        # A failed gate is a verdict on the data, not a transient error: never retried.
        @task(retries=0)
        def source_freshness() -> dict[str, Any]:
            from yiwang.freshness import check_freshness

            res = check_freshness(
                project_dir=project_dir
            )  # raises StaleSourcesError naming the stale system(s)
            return {"checked": res.checked, "warned": sorted(res.warned)}

        @task(retries=0)
        def raw_gate() -> dict[str, Any]:
            from expectations.run import run_raw_gate

            return run_raw_gate().to_dict()

        @task(retries=0)
        def mart_gate() -> dict[str, Any]:
            from expectations.run import run_mart_gate

            return run_mart_gate(schema_suffix=BUILD_SUFFIX, project_dir=project_dir).to_dict()

        @task(outlets=[MARTS_ASSET])
        def publish(mart_result: dict[str, Any]) -> dict[str, Any]:
            from yiwang.publish import publish as publish_marts

            return publish_marts(
                run_id=get_current_context()["run_id"], mart_gate=mart_result, project_dir=project_dir
            ).to_dict()

        @task(on_execute_callback=_set_dbt_env_public)
        def docs() -> str:
            from yiwang.publish import build_docs_site

            return str(build_docs_site(dbt_docs=project_dir == DBT_PROJECT_DIR))

        if not per_model:
            first, models = _dbt_layer_tasks(project_dir)
        elif manifest.exists():
            first = models = _dbt_task_group(project_dir, manifest, select)
        else:

            @task(task_id="dbt_build", on_execute_callback=_set_dbt_env)
            def dbt_build() -> str:
                from yiwang.dbt_runner import ensure_manifest, run_dbt

                run_dbt(list(BUILD_ARGS), project_dir=project_dir)
                return str(ensure_manifest(project_dir))

            first = models = dbt_build()

        refresh_manifest() >> source_freshness() >> raw_gate() >> first
        if select:
            return  # a partial build (YIWANG_DBT_SELECT): never gated as a whole, never published
        gated = mart_gate()
        models >> gated
        publish(gated) >> docs()

    return build()


yiwang_build = make_build_dag()
