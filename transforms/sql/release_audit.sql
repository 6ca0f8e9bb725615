-- The audit of each release: per protected count, the interval an attacker holding every
-- release could reach. Never the count itself. Restricted: the witnesses are stated relative
-- to the true counts.
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
    required     boolean not null,   -- protected count (must be wide) or withheld for others
    window_first integer,            -- the releases of the cells the count and its witnesses
    window_last  integer,            -- touch
    as_of_release integer,           -- for a table row: the release whose figure of it this is;
                                     -- a count protected then stays protected in every release
    witness_lo   varchar,            -- an assignment every figure allows that attains each end,
    witness_hi   varchar,            -- as JSON [region, training_day, arrival, positive change,
                                     -- not-positive change(, withdrawn_from)] per changed cell;
                                     -- the next release takes the interval over when its
                                     -- figures allow both
    withdrawn_from integer           -- for a withdrawal cell (a replaced file's respondents):
                                     -- the arrival of the cell they are withdrawn from
);
-- Warehouses made before the windows and witnesses were kept.
alter table release_audit add column if not exists window_first integer;
alter table release_audit add column if not exists window_last integer;
alter table release_audit add column if not exists as_of_release integer;
alter table release_audit add column if not exists witness_lo varchar;
alter table release_audit add column if not exists witness_hi varchar;

-- Warehouses made before files could be replaced.
alter table release_audit add column if not exists withdrawn_from integer;

-- Warehouses made before certificates: false where the interval is one the attacker must
-- allow (values some assignment attains) that proves the count safe, not its least and most.
alter table release_audit add column if not exists exact boolean;
