-- One-network service catalog (一网通办服务目录): government-service items (政务服务事项, from the
-- approval system) and life-service items (生活服务事项, from the services platform), one row each.
with departments as (
    select department_uscc, department_name from {{ ref('stg_reference__departments') }}
),

government as (
    select
        i.item_code,
        'government'                                    as item_kind,
        i.item_name,
        i.item_type,
        i.department_uscc,
        coalesce(d.department_name, i.department_name)  as department_name,
        i.department_name                               as provider_name,
        i.level,
        i.statutory_limit_days,
        i.promised_limit_days,
        i.handling_type,
        i.online_level,
        i.max_visits,
        cast(null as boolean)                           as bookable_online,
        cast(null as integer)                           as site_count
    from {{ ref('stg_approval__items') }} as i
    left join departments as d on d.department_uscc = i.department_uscc
),

life_item_sites as (
    select item_code, trim(site_id) as site_id
    from (
        select item_code, {{ unnest_csv('site_ids') }} as site_id
        from {{ ref('stg_services__life_items') }}
        where site_ids is not null
    ) as exploded
),

site_counts as (
    select s.item_code, count(distinct s.site_id) as site_count
    from life_item_sites as s
    inner join {{ ref('stg_services__sites') }} as site on site.site_id = s.site_id
    group by s.item_code
),

life as (
    select
        l.item_code,
        'life'                                          as item_kind,
        l.item_name,
        l.category                                      as item_type,
        l.provider_uscc                                 as department_uscc,
        coalesce(d.department_name, l.provider_name)    as department_name,
        l.provider_name,
        cast(null as varchar)                           as level,
        cast(null as integer)                           as statutory_limit_days,
        cast(null as integer)                           as promised_limit_days,
        cast(null as varchar)                           as handling_type,
        cast(null as varchar)                           as online_level,
        cast(null as integer)                           as max_visits,
        l.bookable_online,
        coalesce(sc.site_count, 0)                      as site_count
    from {{ ref('stg_services__life_items') }} as l
    left join departments as d on d.department_uscc = l.provider_uscc
    left join site_counts as sc on sc.item_code = l.item_code
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
    select c.item_code, cast(e.evaluated_at as date) as rated_on, e.rating
    from {{ ref('stg_approval__evaluations') }} as e
    inner join {{ ref('stg_approval__cases') }} as c on c.case_id = e.case_id
    where e.rating between 1 and 5
    union all
    select item_code, cast(coalesce(completed_at, ordered_at) as date), score
    from {{ ref('stg_services__orders') }}
    where score between 1 and 5
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
            cast(s.ordered_at as date) > cast({{ dbt.dateadd('day', -n, 'a.as_of_date') }} as date) and cast(s.ordered_at as date) <= a.as_of_date as in_{{ w }}
            {%- endfor %}
        from {{ ref('stg_services__orders') }} as s
        cross join as_of as a
    ) as o
    group by o.item_code
),

site_lists as (
    select
        s.item_code,
        string_agg(s.site_id, ',' order by s.site_id)                                          as site_ids
    from (select distinct ls.item_code, ls.site_id
          from life_item_sites as ls
          inner join {{ ref('stg_services__sites') }} as site on site.site_id = ls.site_id) as s
    group by s.item_code
),

community_lists as (
    select
        x.item_code,
        count(*)                                                                               as community_count,
        string_agg(x.community_name, ',' order by x.community_name)                            as community_names
    from (select distinct ls.item_code, site.community_text as community_name
          from life_item_sites as ls
          inner join {{ ref('stg_services__sites') }} as site on site.site_id = ls.site_id
          where site.community_text is not null) as x
    group by x.item_code
),

unioned as (
    select * from government
    union all
    select * from life
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
    cast(case when u.item_kind = 'life' then sl.site_ids end as varchar)            as site_ids,
    cast(case when u.item_kind = 'life' then coalesce(cl.community_count, 0) end as integer) as community_count,
    cast(case when u.item_kind = 'life' then cl.community_names end as varchar)     as community_names,
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
from unioned as u
cross join as_of as a
left join case_figures as cf on cf.item_code = u.item_code and u.item_kind = 'government'
left join rating_figures as rf on rf.item_code = u.item_code
left join order_figures as ordf on ordf.item_code = u.item_code and u.item_kind = 'life'
left join site_lists as sl on sl.item_code = u.item_code
left join community_lists as cl on cl.item_code = u.item_code
