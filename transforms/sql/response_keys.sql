-- Responses already ingested, by a keyed hash (HMAC-SHA256) of the survey tool's response id,
-- so a later cumulative export does not count them twice. The key lives beside this warehouse
-- (response-keys.secret, mode 0600); the hashes are never published.
create table if not exists response_keys (
    region        varchar not null,
    key_hash      varchar not null,    -- hex HMAC-SHA256 of the tool's response id
    submission_id integer not null     -- the submission that first brought the response
);
