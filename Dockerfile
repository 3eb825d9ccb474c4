# The yiwang image: Airflow 3.3.2 (Python 3.11) with the locked dependency set and the project installed at build
# time, so no container installs anything when it starts. One image for every Airflow component, the Celery
# workers and the serving API (docker-compose.yml; docs/deployment.md).
#
#   docker build -t yiwang:latest .
FROM apache/airflow:3.3.2-python3.11

USER root
RUN mkdir -p /opt/yiwang/var/airflow && chown -R airflow:root /opt/yiwang
USER airflow

ENV YIWANG_ROOT=/opt/yiwang \
    DO_NOT_TRACK=1 SCARF_ANALYTICS=false DBT_SEND_ANONYMOUS_USAGE_STATS=False GX_ANALYTICS_ENABLED=False \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False

# The dependency layer first (rebuilt only when the lock changes): the exact versions CI tests with. The base
# image's own constraints are not applied: requirements.lock pins apache-airflow==3.3.2 and everything with it.
COPY --chown=airflow:root requirements.lock /opt/yiwang/requirements.lock
RUN pip install --no-cache-dir -r /opt/yiwang/requirements.lock

# The project, installed in place (editable: yiwang finds dbt_project/, dags/ and reference/ beside its
# packages, as in a checkout): the Python packages, then the DAGs, the dbt project, reference data and scripts.
COPY --chown=airflow:root pyproject.toml README.md /opt/yiwang/
COPY --chown=airflow:root yiwang /opt/yiwang/yiwang
COPY --chown=airflow:root connectors /opt/yiwang/connectors
COPY --chown=airflow:root expectations /opt/yiwang/expectations
COPY --chown=airflow:root serving /opt/yiwang/serving
COPY --chown=airflow:root simulator /opt/yiwang/simulator
RUN pip install --no-cache-dir --no-deps --config-settings editable_mode=compat -e /opt/yiwang
COPY --chown=airflow:root dags /opt/yiwang/dags
COPY --chown=airflow:root dbt_project /opt/yiwang/dbt_project
COPY --chown=airflow:root reference /opt/yiwang/reference
COPY --chown=airflow:root sources.yaml /opt/yiwang/sources.yaml
COPY --chown=airflow:root scripts /opt/yiwang/scripts

WORKDIR /opt/yiwang
# The dbt manifest is parsed at build time so the build DAG renders one task per model from the first parse
# (dbt parse opens no warehouse connection), with the build-schema suffix the model tasks run with, so they
# reuse its partial-parse state. .dockerignore keeps a checkout's own dbt_project/target out.
RUN YIWANG_HOME=/tmp/yiwang-build YIWANG_WAREHOUSE_URL=postgresql+psycopg://build@localhost/yiwang \
    YIWANG_BUILD_SCHEMA_SUFFIX=__build \
    python -c "from yiwang.dbt_runner import ensure_manifest; ensure_manifest(force=True)" \
 && rm -rf /tmp/yiwang-build dbt_project/logs

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/yiwang/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    YIWANG_HOME=/opt/yiwang/var
