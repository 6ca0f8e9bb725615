-- Per submission counted in the release being built (release_no): the release it arrived in
-- (the first whose max_submission_id reaches it; release_no for one no release included yet),
-- and for a file a corrected one replaced, its respondents counted out again (sign -1) in the
-- release that first includes the replacement, withdrawn_from naming where they arrived. A
-- file replaced before any release included it is simply left out. Every cell query sums
-- responses over this (outcome_cells.sql, participation_cells.sql).
create or replace macro included_submissions(release_no) as table
with arrivals as (
    select
        submissions.submission_id,
        coalesce(
            (
                select min(releases.release_no)
                from releases
                where releases.max_submission_id >= submissions.submission_id
            ),
            release_no
        ) as arrival,
    from submissions
    where submissions.status = 'ingested'
),

-- A replaced file's respondents are withdrawn in the release that first includes its
-- replacement; one that no release included yet is simply left out.
withdrawals as (
    select
        replacements.replaced as submission_id,
        replaced.arrival as withdrawn_from,
        replacement.arrival,
    from replacements
    inner join arrivals as replaced on replacements.replaced = replaced.submission_id
    inner join arrivals as replacement on replacements.replacement = replacement.submission_id
),

included as (
    select submission_id, arrival, null::bigint as withdrawn_from, 1 as sign,
    from arrivals
    where submission_id not in (
        select submission_id from withdrawals where withdrawn_from = arrival
    )
    union all
    select submission_id, arrival, withdrawn_from, -1 as sign,
    from withdrawals
    where withdrawn_from < arrival
)

select * from included;
