-- Grid events per street (街道) and calendar month, quarter and year reported; street from the event's grid
-- (NULL when unknown). The month rows equal governance_by_street_month; quarters and years add up the same way.
{{ governance_period_rollup(dims=[('street_code', 'e.street_code'), ('street_name', 'e.street_name')]) }}
