-- The ledger: every file the pipeline has looked at, what became of it, and its content hash
-- (so a file already ingested is never ingested twice). File names are the region's own.
create sequence if not exists submission_id_seq start 1;

create table if not exists submissions (
    submission_id   integer primary key default nextval('submission_id_seq'),
    region          varchar not null,       -- drop folder name (a configured region id, or not)
    file_name       varchar not null,       -- name as dropped
    stored_as       varchar,                -- path under drop/<region>/processed|rejected after the run
    sha256          varchar not null,       -- content hash of the file's bytes
    received_at     timestamptz not null,   -- when the pipeline read it (not a response time)
    status          varchar not null check (status in ('ingested', 'rejected', 'duplicate')),
    n_responses     integer not null default 0,
    n_left_out      integer not null default 0,  -- rows with no answer (partial or blank)
    n_repeated      integer not null default 0,  -- responses already ingested from an earlier export
    n_problems      integer not null default 0,
    dropped_columns varchar[] not null default [],  -- names only, never values
    duplicate_of    integer,
    n_words_held_back integer not null default 0  -- free-text words not in the vocabulary, never stored
);

-- Warehouses made before response ids were keyed.
alter table submissions add column if not exists n_repeated integer default 0;

-- Warehouses made before free text was held to the vocabulary.
alter table submissions add column if not exists n_words_held_back integer default 0;
