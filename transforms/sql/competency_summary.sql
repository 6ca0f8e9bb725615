-- Published view: each item under its curriculum competency, nationally (region NULL) and per
-- region, as the outcome tables show it. No new aggregate: rows are the tables' own.
create or replace view competency_summary as
with national as (
    select
        null::varchar as region,
        item,
        n_respondents,
        n_positive,
        pct_positive,
        ci_low,
        ci_high,
        suppressed,
    from outcomes_national
),

by_region as (
    select
        region,
        item,
        n_respondents,
        n_positive,
        pct_positive,
        ci_low,
        ci_high,
        suppressed,
    from outcomes_by_region
),

final as (
    select
        items.competency,
        items.item,
        items.statement,
        figures.region,
        figures.n_respondents,
        figures.n_positive,
        figures.pct_positive,
        figures.ci_low,
        figures.ci_high,
        figures.suppressed,
    from items
    inner join (select * from national union all by name select * from by_region) as figures
        on figures.item = items.item
)

select * from final
order by competency, item, region nulls first
