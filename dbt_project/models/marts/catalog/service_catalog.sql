-- One-network service catalog (一网通办服务目录): government-service items (政务服务事项, from the
-- approval system) and life-service items (生活服务事项, from the services platform), one row each
-- (int_catalog_items), with live figures as of the as-of date: cases (int_approval_cases_timed), orders
-- (int_catalog_orders) and ratings (int_catalog_ratings) in rolling windows.
with items as (
    select * from {{ ref('int_catalog_items') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

{#- windows: (suffix, days). A window of N days = the N calendar days ending on and including as_of_date. -#}
{%- set windows = [('30d', 30), ('365d', 365)] %}

case_figures as (
    select
        c.item_code
        {%- for w, n in windows %},
        sum(case when c.in_{{ w }} then 1 else 0 end)                                          as cases_{{ w }},
        sum(case when c.in_{{ w }} and c.on_time_status = 'on_time' then 1 else 0 end)         as on_time_cases_{{ w }},
        sum(case when c.in_{{ w }} and c.on_time_status = 'overdue' then 1 else 0 end)         as overdue_cases_{{ w }},
        percentile_cont(0.5) within group (order by case when c.in_{{ w }} and c.on_time_status in ('on_time', 'overdue', 'no_deadline')
                                                         and c.completed_at is not null then c.handling_working_days end)
                                                                                                as median_handling_working_days_{{ w }}
        {%- endfor %}
    from (
        select
            t.*
            {%- for w, n in windows %},
            t.accepted_on > cast({{ dbt.dateadd('day', -n, 'a.as_of_date') }} as date) and t.accepted_on <= a.as_of_date as in_{{ w }}
            {%- endfor %}
        from {{ ref('int_approval_cases_timed') }} as t
        cross join as_of as a
    ) as c
    group by c.item_code
),

-- 好差评 (government) and order scores (life): one rating 1-5 per row, dated by when it was given.
ratings as (
    select r.item_code, r.rated_on, r.rating from {{ ref('int_catalog_ratings') }} as r
),

rating_figures as (
    select
        r.item_code
        {%- for w, n in windows %},
        sum(case when r.in_{{ w }} then 1 else 0 end)                                          as ratings_{{ w }},
        avg(case when r.in_{{ w }} then case when r.rating >= 4 then 1.0 else 0.0 end end)      as satisfied_share_{{ w }},
        avg(case when r.in_{{ w }} then cast(r.rating as double precision) end)                as mean_rating_{{ w }}
        {%- endfor %}
    from (
        select
            ratings.*
            {%- for w, n in windows %},
            ratings.rated_on > cast({{ dbt.dateadd('day', -n, 'a.as_of_date') }} as date) and ratings.rated_on <= a.as_of_date as in_{{ w }}
            {%- endfor %}
        from ratings
        cross join as_of as a
    ) as r
    group by r.item_code
),

order_figures as (
    select
        o.item_code
        {%- for w, n in windows %},
        sum(case when o.in_{{ w }} then 1 else 0 end)                                          as orders_{{ w }},
        sum(case when o.in_{{ w }} and o.status = '已完成' then 1 else 0 end)                  as completed_orders_{{ w }}
        {%- endfor %}
    from (
        select
            s.item_code, s.status
            {%- for w, n in windows %},
            s.ordered_on > cast({{ dbt.dateadd('day', -n, 'a.as_of_date') }} as date) and s.ordered_on <= a.as_of_date as in_{{ w }}
            {%- endfor %}
        from {{ ref('int_catalog_orders') }} as s
        cross join as_of as a
    ) as o
    group by o.item_code
)

select
    cast(u.item_code as varchar)              as item_code,
    cast(u.item_kind as varchar)              as item_kind,
    cast(u.item_name as varchar)              as item_name,
    cast(u.item_type as varchar)              as item_type,
    cast(u.department_uscc as varchar)        as department_uscc,
    cast(u.department_name as varchar)        as department_name,
    cast(u.provider_name as varchar)          as provider_name,
    cast(u.level as varchar)                  as level,
    cast(u.statutory_limit_days as integer)   as statutory_limit_days,
    cast(u.promised_limit_days as integer)    as promised_limit_days,
    cast(u.handling_type as varchar)          as handling_type,
    cast(u.online_level as varchar)           as online_level,
    cast(u.max_visits as integer)             as max_visits,
    cast(u.bookable_online as boolean)        as bookable_online,
    cast(u.site_count as integer)             as site_count,
    cast(u.site_ids as varchar)               as site_ids,
    cast(u.community_count as integer)        as community_count,
    cast(u.community_names as varchar)        as community_names,
    cast(a.as_of_date as date)                                                      as as_of_date
    {%- for w, n in windows %},
    cast(case when u.item_kind = 'government' then coalesce(cf.cases_{{ w }}, 0) end as integer)         as cases_{{ w }},
    cast(case when u.item_kind = 'government' then coalesce(cf.on_time_cases_{{ w }}, 0) end as integer) as on_time_cases_{{ w }},
    cast(case when u.item_kind = 'government' then coalesce(cf.overdue_cases_{{ w }}, 0) end as integer) as overdue_cases_{{ w }},
    cast(cf.on_time_cases_{{ w }} as double precision)
        / nullif(cf.on_time_cases_{{ w }} + cf.overdue_cases_{{ w }}, 0)                                as on_time_rate_{{ w }},
    cast(cf.median_handling_working_days_{{ w }} as double precision)                                   as median_handling_working_days_{{ w }},
    cast(case when u.item_kind = 'life' then coalesce(ordf.orders_{{ w }}, 0) end as integer)              as orders_{{ w }},
    cast(case when u.item_kind = 'life' then coalesce(ordf.completed_orders_{{ w }}, 0) end as integer)    as completed_orders_{{ w }},
    cast(coalesce(rf.ratings_{{ w }}, 0) as integer)                                                    as ratings_{{ w }},
    cast(rf.satisfied_share_{{ w }} as double precision)                                                as satisfied_share_{{ w }},
    cast(rf.mean_rating_{{ w }} as double precision)                                                    as mean_rating_{{ w }}
    {%- endfor %}
from items as u
cross join as_of as a
left join case_figures as cf on cf.item_code = u.item_code and u.item_kind = 'government'
left join rating_figures as rf on rf.item_code = u.item_code
left join order_figures as ordf on ordf.item_code = u.item_code and u.item_kind = 'life'
