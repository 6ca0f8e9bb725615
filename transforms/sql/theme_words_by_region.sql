-- Free-text words per region and how many distinct respondents there used them; a word is
-- offered for a region only from min_cell (transforms/themes.py then checks what national
-- minus the regions would leave). $min_cell: the policy's threshold.
with uses as (
    select distinct region, submission_id, response_no, word
    from free_text_words
),

final as (
    select
        region,
        word,
        count(*)::bigint as n_respondents,
    from uses
    group by region, word
    having count(*) >= $min_cell
)

select * from final
order by region, n_respondents desc, word
