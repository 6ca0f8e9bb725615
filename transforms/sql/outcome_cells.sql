-- Unsuppressed counts per underlying cell: item x region x training day x arrival, where
-- arrival is the release that first included the submission ($release_no for new ones), and
-- withdrawal cells (negative counts, withdrawn_from set) for replaced files.
-- Every published outcome table is a sum of these cells (transforms/privacy/tables.py).
with final as (
    select
        responses.item,
        responses.region,
        responses.training_day,
        included.arrival::bigint as arrival,
        included.withdrawn_from::bigint as withdrawn_from,
        sum(included.sign)::bigint as n_respondents,
        coalesce(
            sum(included.sign) filter (where list_contains($positive_codes, responses.answer)),
            0
        )::bigint as n_positive,
    from responses
    inner join included_submissions($release_no) as included
        on responses.submission_id = included.submission_id
    where list_contains($items, responses.item)
    group by all
)

select * from final
order by list_position($items, item), region, training_day, arrival, withdrawn_from nulls first
