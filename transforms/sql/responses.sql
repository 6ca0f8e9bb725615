-- De-identified Likert answers: one row per respondent per answered item. No names, emails,
-- ids or timestamps: a respondent is only (submission_id, response_no).
create table if not exists responses (
    submission_id integer not null,
    region        varchar not null,
    training_day  date not null,
    response_no   integer not null,
    item          varchar not null,
    answer        tinyint not null check (answer between 1 and 5)
);
