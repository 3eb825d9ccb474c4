"""yiwang (一网): data-integration hub for city grassroots governance."""

import os as _os

__version__ = "0.1.0"

# The hub phones nobody: switch off the usage analytics that dbt, Great Expectations, astronomer-cosmos and
# Airflow would otherwise try to send (the machines it runs on often have no outside network at all).
for _name, _value in {
    "DO_NOT_TRACK": "1",
    "SCARF_ANALYTICS": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "False",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
}.items():
    _os.environ.setdefault(_name, _value)
