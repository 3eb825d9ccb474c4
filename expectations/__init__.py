"""Great Expectations gates of yiwang: suites as code (suites.py), the raw and mart gates (run.py),
and the record of a published build (publish.py). GX itself is imported only inside functions."""
