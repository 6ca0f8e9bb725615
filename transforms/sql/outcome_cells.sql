-- Unsuppressed counts per underlying cell: item x region x training day x arrival, where
-- arrival is the release that first included the submission ($release_no for new ones).
-- Every published outcome table is a sum of these cells (transforms/privacy/tables.py).
with included as (
    select
        submissions.submission_id,
        coalesce(
            (
                select min(releases.release_no)
                from releases
                where releases.max_submission_id >= submissions.submission_id
            ),
            $release_no
        ) as arrival,
    from submissions
    where submissions.status = 'ingested'
),

final as (
    select
        responses.item,
        responses.region,
        responses.training_day,
        included.arrival::bigint as arrival,
        count(*)::bigint as n_respondents,
        count(*) filter (where list_contains($positive_codes, responses.answer))::bigint
            as n_positive,
    from responses
    inner join included on responses.submission_id = included.submission_id
    where list_contains($items, responses.item)
    group by all
)

select * from final
order by list_position($items, item), region, training_day, arrival
