-- Unsuppressed participants per underlying cell: region x training day x arrival, a participant
-- being a respondent who answered at least one of the instrument's items (replaced files
-- counted out as in included_submissions.sql). The participation table is a sum of these cells,
-- protected like the outcome tables (transforms/participation.py).
with participants as (
    select distinct
        responses.submission_id,
        responses.response_no,
        responses.region,
        responses.training_day,
    from responses
    where list_contains($items, responses.item)
),

final as (
    select
        $participants as item,
        participants.region,
        participants.training_day,
        included.arrival::bigint as arrival,
        included.withdrawn_from::bigint as withdrawn_from,
        sum(included.sign)::bigint as n_respondents,
        0::bigint as n_positive,
    from participants
    inner join included_submissions($release_no) as included
        on participants.submission_id = included.submission_id
    group by all
)

select * from final
order by region, training_day, arrival, withdrawn_from nulls first
