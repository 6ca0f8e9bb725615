-- Every release published to analysts, so later releases can be checked against earlier ones.
create table if not exists releases (
    release_no        integer primary key,
    published_at      timestamptz not null,
    instrument        varchar not null,
    min_cell          integer not null,
    n_submissions     integer not null,
    sha256            varchar not null,  -- hash of the published file as written
    policy            varchar,           -- the disclosure-control policy, as described to readers
    max_submission_id integer            -- the last submission included: later ones arrive later
);
alter table releases add column if not exists policy varchar;
alter table releases add column if not exists max_submission_id integer;
