-- Grid events per community (社区) and month reported; community from the event's grid (NULL when unknown).
{{ governance_rollup(dims=[('community_code', 'e.community_code'), ('community_name', 'e.community_name'),
                           ('street_code', 'e.street_code'), ('street_name', 'e.street_name')],
                     period='month') }}
