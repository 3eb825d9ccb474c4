"""One builder per department system; each returns {table: DataFrame with the contract's columns}."""
