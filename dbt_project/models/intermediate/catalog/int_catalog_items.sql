-- One row per item of the one-network service catalog (一网通办服务目录): government-service items
-- (政务服务事项, stg_approval__items, item_kind 'government') and life-service items (生活服务事项,
-- stg_services__life_items, item_kind 'life'), in one shape. department_name: the city's reference name of
-- the item's department / provider credit code, else the name the source gives. For a life item: the known
-- service sites it lists (int_service_site_items) and the communities those sites name (their 社区 text).
with departments as (
    select d.department_uscc, d.department_name from {{ ref('stg_reference__departments') }} as d
),

site_items as (
    select s.item_code, s.site_id, s.community_text
    from {{ ref('int_service_site_items') }} as s
    where s.item_code is not null
),

site_lists as (
    select
        s.item_code,
        count(*)                                                   as site_count,
        string_agg(s.site_id, ',' order by s.site_id)              as site_ids
    from (select distinct si.item_code, si.site_id from site_items as si) as s
    group by s.item_code
),

community_lists as (
    select
        x.item_code,
        count(*)                                                   as community_count,
        string_agg(x.community_name, ',' order by x.community_name) as community_names
    from (select distinct si.item_code, si.community_text as community_name
          from site_items as si
          where si.community_text is not null) as x
    group by x.item_code
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
        cast(null as integer)                           as site_count,
        cast(null as varchar)                           as site_ids,
        cast(null as integer)                           as community_count,
        cast(null as varchar)                           as community_names
    from {{ ref('stg_approval__items') }} as i
    left join departments as d on d.department_uscc = i.department_uscc
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
        coalesce(sl.site_count, 0)                      as site_count,
        sl.site_ids,
        coalesce(cl.community_count, 0)                 as community_count,
        cl.community_names
    from {{ ref('stg_services__life_items') }} as l
    left join departments as d on d.department_uscc = l.provider_uscc
    left join site_lists as sl on sl.item_code = l.item_code
    left join community_lists as cl on cl.item_code = l.item_code
)

select * from government
union all
select * from life
