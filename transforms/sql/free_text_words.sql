-- Words kept from free-text answers after scrubbing (no names, emails, numbers, URLs).
-- Raw free text is stored nowhere.
create table if not exists free_text_words (
    submission_id integer not null,
    region        varchar not null,
    training_day  date not null,
    response_no   integer not null,
    item          varchar not null,
    word          varchar not null
);
