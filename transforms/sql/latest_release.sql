-- Published view: what this file is, in one row: the release, its policy, what it covers and
-- how much of it is withheld.
create or replace view latest_release as
with coverage as (
    select
        count(distinct region)::bigint as n_regions,
        count(distinct training_day)::bigint as n_training_days,
        min(training_day) as first_training_day,
        max(training_day) as latest_training_day,
    from outcomes_by_training_day
),

withheld as (
    select
        count(*)::bigint as n_figures,
        count(*) filter (where suppressed)::bigint as n_withheld,
    from (
        select suppressed from outcomes_by_training_day
        union all
        select suppressed from outcomes_by_region
        union all
        select suppressed from outcomes_national
        union all
        select suppressed from outcomes_national_by_training_day
    )
),

final as (
    select
        release.release_no,
        release.published_at,
        release.instrument,
        release.policy,
        release.min_cell,
        release.n_submissions,
        coverage.n_regions,
        coverage.n_training_days,
        coverage.first_training_day,
        coverage.latest_training_day,
        withheld.n_figures,
        withheld.n_withheld,
    from release
    cross join coverage
    cross join withheld
)

select * from final
