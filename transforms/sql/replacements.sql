-- Files replaced by a corrected export (`reflect-eval replace`): the replaced file's responses
-- stay (every release that counted them said something true), and from the release that first
-- includes the replacement they are counted out again as withdrawal cells (outcome_cells.sql).
-- Append-only, like the ledger.
create table if not exists replacements (
    replaced     integer not null,     -- submission whose responses are withdrawn
    replacement  integer not null,     -- the corrected file's submission
    replaced_at  timestamptz not null
);
