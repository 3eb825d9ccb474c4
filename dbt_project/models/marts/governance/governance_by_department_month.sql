-- Grid events per handling department (处置部门, czbm_uscc) and month reported (NULL department when not given).
{{ governance_rollup(dims=[('department_uscc', 'e.department_uscc'), ('department_name', 'e.department_name')], period='month') }}
