"""Connectors: extract from department systems and land rows as-is in raw_<system>.*

One connector per delivery kind (not per table):

- ``connectors.sql``       SQLAlchemy sources (SQLite file, MariaDB/MySQL, PostgreSQL), incremental by cursor
- ``connectors.http``      paged HTTP APIs (bearer / X-API-Key), urllib3 retries, repeated pages skipped
- ``connectors.files``     file drops: property CSV/XLSX (``connectors.tabular``), hotline JSONL (``connectors.jsonl``)
- ``connectors.reference`` the city's reference CSVs into raw_reference.*
- ``connectors.run``       entry points: ``extract_system``, ``extract_reference``, ``ledger_summary``

All landing goes through ``connectors.landing.TableLoad`` (one transaction per table load or file).
"""
