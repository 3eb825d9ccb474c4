# Sourced by scripts/demo and scripts/test: no usage analytics from dbt, GX, cosmos or Airflow.
export DO_NOT_TRACK=1 SCARF_ANALYTICS=false DBT_SEND_ANONYMOUS_USAGE_STATS=False GX_ANALYTICS_ENABLED=False \
  AIRFLOW__COSMOS__ENABLE_TELEMETRY=False AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False
export PATH="$PWD/.venv/bin:$PATH"
