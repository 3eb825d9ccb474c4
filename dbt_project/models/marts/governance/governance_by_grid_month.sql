-- Grid events per grid (网格) and month reported. Events without a grid code form one row with grid_code NULL.
{{ governance_rollup(dims=[('grid_code', 'e.grid_code'), ('grid_name', 'e.grid_name'), ('community_code', 'e.community_code'),
                           ('community_name', 'e.community_name'), ('street_code', 'e.street_code'), ('street_name', 'e.street_name')],
                     period='month') }}
