-- What each release told its readers, per published row, as intervals (a rounded figure is an
-- interval; a withheld one is NULL): every later release is audited against all of them.
create table if not exists release_figures (
    release_no   integer not null,
    table_name   varchar not null,
    item         varchar not null,
    region       varchar,
    training_day date,
    n_lo         bigint,
    n_hi         bigint,
    k_lo         bigint,
    k_hi         bigint
);
