-- Grid events of the whole city per day reported.
{{ governance_rollup(dims=[('city', "'全市'")], period='day') }}
