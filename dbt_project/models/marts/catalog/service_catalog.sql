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

unioned as (
    select * from government
    union all
    select * from life
)

select
    cast(item_code as varchar)              as item_code,
    cast(item_kind as varchar)              as item_kind,
    cast(item_name as varchar)              as item_name,
    cast(item_type as varchar)              as item_type,
    cast(department_uscc as varchar)        as department_uscc,
    cast(department_name as varchar)        as department_name,
    cast(provider_name as varchar)          as provider_name,
    cast(level as varchar)                  as level,
    cast(statutory_limit_days as integer)   as statutory_limit_days,
    cast(promised_limit_days as integer)    as promised_limit_days,
    cast(handling_type as varchar)          as handling_type,
    cast(online_level as varchar)           as online_level,
    cast(max_visits as integer)             as max_visits,
    cast(bookable_online as boolean)        as bookable_online,
    cast(site_count as integer)             as site_count
from unioned
