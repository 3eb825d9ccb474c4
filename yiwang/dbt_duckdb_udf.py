"""dbt-duckdb plugin: the keyed pseudonym function ``yiwang_hmac(varchar) -> varchar`` on every connection dbt opens.

``dbt_project/profiles.yml`` names this module under the duckdb target's ``plugins``; dbt-duckdb calls
:meth:`Plugin.configure_connection` on the connection it opens, and the function is registered there as a
Python UDF (connection-scoped: it is never stored in the warehouse file). It returns exactly what
:func:`yiwang.privacy.pseudonym` returns (``'hmac:'`` + the first 24 hex chars of HMAC-SHA256), NULL for NULL.

The key is read from the environment (``yiwang.settings.hmac_key``) when the function runs, so it never enters
SQL text, dbt's manifest, partial-parse state, logs or the docs site. A build without ``YIWANG_HMAC_KEY`` fails
at the first model that pseudonymises; parsing, compiling and docs need no key. PostgreSQL has the same function
as SQL (``dbt_project/macros/identity/idn_pseudonym.sql``), fed through session settings the runner passes.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb.sqltypes import VARCHAR

from yiwang.privacy import pseudonym
from yiwang.settings import hmac_key

FUNCTION_NAME = "yiwang_hmac"


def _token(value: str) -> str:

    return pseudonym(value, hmac_key())


class Plugin(BasePlugin):
    """Registers ``yiwang_hmac`` on the connection (and so on every cursor dbt-duckdb derives from it)."""

    def configure_connection(self, conn: Any) -> None:
        # null_handling default: NULL in, NULL out, without calling Python; deterministic (no side effects)
        conn.create_function(FUNCTION_NAME, _token, [VARCHAR], VARCHAR)
