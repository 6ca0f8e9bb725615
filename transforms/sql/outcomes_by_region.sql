-- Unsuppressed counts per region and item; suppression is applied afterwards, once, last.
-- $positive_codes: answer codes that count as positive; $items: instrument item order.
with answers as (
    select region, item, answer
    from responses
),

final as (
    select
        region,
        item,
        count(*)::bigint as n_respondents,
        count(*) filter (where list_contains($positive_codes, answer))::bigint as n_positive,
    from answers
    group by region, item
)

select * from final
order by region, list_position($items, item)
