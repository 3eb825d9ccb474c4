"""Fixtures of the connector tests. They and the helpers the tests import live in connector_support.py,
a module with its own name: `from conftest import ...` would pick whichever folder's conftest pytest
imported first when several test folders run together."""

from connector_support import (  # noqa: F401  (fixtures are registered by being in this namespace)
    api_server,
    duck_wh,
    maria_url,
    mariadb_source,
    pg_source,
    pg_wh,
    sqlite_source,
    wh,
)
