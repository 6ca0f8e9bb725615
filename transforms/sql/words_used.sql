-- How many distinct words respondents used, nationally (region NULL) and per region: a count
-- of words, never the words; less those published, it is what theme_words_held_back shows.
with uses as (
    select distinct region, word
    from free_text_words
),

final as (
    select null::varchar as region, count(distinct word)::bigint as n_words,
    from uses
    union all
    select region, count(*)::bigint,
    from uses
    group by region
)

select * from final
order by region nulls first
