-- Grid events per street (街道) and month reported; street from the event's grid (NULL when unknown).
{{ governance_rollup(dims=[('street_code', 'e.street_code'), ('street_name', 'e.street_name')], period='month') }}
