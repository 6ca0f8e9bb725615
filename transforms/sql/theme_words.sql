-- Free-text words and how many distinct respondents used them; published only from min_cell.
-- $min_cell: the policy's threshold.
with uses as (
    select distinct submission_id, response_no, word
    from free_text_words
),

final as (
    select
        word,
        count(*)::bigint as n_respondents,
    from uses
    group by word
    having count(*) >= $min_cell
)

select * from final
order by n_respondents desc, word
