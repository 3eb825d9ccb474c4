"""Writers for each native delivery format (SQLite/MariaDB, JSONL, CSV/XLSX)."""
