-- Unsuppressed counts per item over every region; suppression is applied afterwards.
with answers as (
    select item, answer
    from responses
),

final as (
    select
        item,
        count(*)::bigint as n_respondents,
        count(*) filter (where list_contains($positive_codes, answer))::bigint as n_positive,
    from answers
    group by item
)

select * from final
order by list_position($items, item)
