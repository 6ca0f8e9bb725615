-- The audit of each release: per protected count, the interval an attacker holding every
-- release could reach. Never the count itself.
create table if not exists release_audit (
    release_no   integer not null,
    table_name   varchar not null,   -- a published table, or 'underlying_cell'
    item         varchar not null,
    region       varchar,
    training_day date,
    arrival      integer,            -- for underlying cells: the release the responses arrived in
    measure      varchar not null,   -- positive | not_positive | respondents
    interval_lo  bigint not null,
    interval_hi  bigint,             -- NULL: no upper bound can be derived
    required     boolean not null    -- protected count (must be wide) or withheld for others
);
