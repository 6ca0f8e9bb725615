"""The words free text may keep: ordinary English words that are no one's name.

A word is stored only when it is in the vocabulary, so a name nobody thought to list (a rare
given name, a misspelling, a hospice, a nickname, a name in another script) is dropped because
it is not an ordinary word, not because someone listed it. The vocabulary is built from
well-kept packages (`python -m transforms.vocabulary` writes it; a test checks that the
committed file is exactly what they give, so nobody edits it by hand):

1. English words at least as frequent as `ORDINARY_ZIPF` in `wordfreq` (a Zipf frequency of 3
   is once per million words: "reassuring", "burnout", "registrar"), of at least
   `MIN_LETTERS` letters (two letters are initials and nicknames far more often than themes);
2. that a dictionary knows: a lower-case entry of `english-words`' web2 list, or regularly
   inflected from one ("reassured", "registrars"), or a word far more English than anything
   else (`ENGLISH_WORD_LEAD`: "wellbeing", "colleagues"), which leaves out proper nouns the
   name lists miss (towns, firms, hospitals);
3. less every word that is also a personal name (faker's name lists for every locale it has,
   other scripts transliterated; the `nicknames` package; `gender-guesser`'s 48,000 given
   names of 54 countries) or a proper noun (words web2 lists only capitalised),
4. unless it is also a common English word: a lower-case dictionary entry at least as frequent
   as `COMMON_ZIPF` and used in English at least `ENGLISH_LEAD` (in Zipf units) more than in
   the second most frequent of `OTHER_LANGUAGES`. Names are about equally frequent in every
   language's text; English words are not. Measured: hope 1.48, safe (no name), grace 0.57
   stay; sarah 0.07, john 0.33, singh 0.53, kyle 0.51, graham 0.50 go; and so do some common
   words that are as much names (mark 0.33, rose 0.39): lost words, never kept names.

Words are normalised before they are matched (`normalise`): Unicode NFKC, lower case without
splitting letters (a dotted capital I stays one letter), other scripts and confusable letters
(a Cyrillic "\u0430" in a Latin word) transliterated to ASCII, a possessive "'s" removed."""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

import polars as pl
from anyascii import anyascii

VOCABULARY_FILE = Path(__file__).parent / "vocabulary_en.txt"
ORDINARY_ZIPF = 3.0
COMMON_ZIPF = 4.1
ENGLISH_LEAD = 0.55
ENGLISH_WORD_LEAD = 1.0
MIN_LETTERS = 3
OTHER_LANGUAGES = ("fr", "de", "es", "it", "nl", "pt", "pl", "sv")
KEPT_FORM = re.compile(r"[a-z]+(?:'[a-z]+)?")
"""A vocabulary word once normalised: ASCII letters, perhaps one apostrophe (don't, i've)."""


def normalise(word: str) -> str:
    """The form a word is matched, and stored, in."""
    text = unicodedata.normalize("NFKC", word).replace("\u2019", "'")
    lowered = "".join(_lower(ch) for ch in text)
    plain = lowered if lowered.isascii() else anyascii(lowered).lower()
    for possessive in ("'s", "'"):
        if plain.endswith(possessive):
            return plain.removesuffix(possessive)
    return plain


@lru_cache(maxsize=1)
def vocabulary() -> frozenset[str]:
    """Every word free text may keep."""
    return frozenset(VOCABULARY_FILE.read_text(encoding="utf-8").split())


@lru_cache(maxsize=1)
def vocabulary_series() -> pl.Series:
    """The vocabulary as one sorted column, for polars' `is_in` (built once per process)."""
    return pl.Series("word", sorted(vocabulary()), dtype=pl.Utf8)


def build() -> list[str]:
    """The vocabulary from the packages, sorted (slow: reads nine languages' word lists)."""
    from wordfreq import get_frequency_dict, zipf_frequency

    ordinary = {
        word
        for word, frequency in get_frequency_dict("en").items()
        if frequency >= 10 ** (ORDINARY_ZIPF - 9)
        and len(word) >= MIN_LETTERS
        and KEPT_FORM.fullmatch(word)
    }
    lower_case, proper = _dictionary()

    def lead(word: str) -> float:
        others = sorted((zipf_frequency(word, lang) for lang in OTHER_LANGUAGES), reverse=True)
        return zipf_frequency(word, "en") - others[1]

    def english(word: str) -> bool:
        in_dictionary = any(stem in lower_case for stem in _stems(word))
        return in_dictionary or lead(word) >= ENGLISH_WORD_LEAD

    def common(word: str) -> bool:
        frequent = zipf_frequency(word, "en") >= COMMON_ZIPF
        return word in lower_case and frequent and lead(word) >= ENGLISH_LEAD

    named = personal_names() | proper
    return sorted(
        word
        for word in ordinary
        if "'" not in word.removesuffix("'s") and word == normalise(word) and english(word)
        if word not in named or common(word)
    )


def _stems(word: str) -> set[str]:
    """The word and what it may be inflected from (regular English endings only)."""
    stems = {word}
    for ending, base in (
        ("s", ""), ("es", ""), ("ies", "y"), ("ied", "y"), ("ed", ""), ("ed", "e"),
        ("ing", ""), ("ing", "e"), ("er", ""), ("ers", ""), ("ly", ""), ("ness", ""),
    ):  # fmt: skip
        if word.endswith(ending) and len(word) - len(ending) >= MIN_LETTERS:
            stem = word[: -len(ending)] + base
            stems.add(stem)
            if len(stem) > 2 and stem[-1] == stem[-2]:  # stopped, planning
                stems.add(stem[:-1])
    return stems


def personal_names() -> set[str]:
    """Lower-case ASCII forms of every given name, surname and nickname at hand, and of each
    part of a hyphenated or spaced one."""
    from gender_guesser.detector import Detector
    from nicknames import NickNamer

    names: set[str] = set()
    for raw in _faker_names():
        names.add(normalise(raw))
        names.update(normalise(part) for part in re.split(r"[\s\-']+", raw) if part)
    for canonical, nicknames in NickNamer().nickname_lookup.items():  # type: ignore[attr-defined]
        names.add(canonical)
        names.update(nicknames)
    names.update(normalise(name) for name in Detector(case_sensitive=False).names)
    names.discard("")
    return names


def _faker_names() -> set[str]:
    """Every string in any name list of every locale faker has (some keep surnames in
    `male_last_names` or `unisex_last_names`, so every attribute is read)."""
    import faker.providers.person as person

    found: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attribute in dir(provider):
            if "first_name" in attribute or "last_name" in attribute:
                value = getattr(provider, attribute, None)
                if isinstance(value, dict | list | tuple | set | frozenset):
                    found.update(name for name in value if isinstance(name, str))
    return found


def _dictionary() -> tuple[frozenset[str], frozenset[str]]:
    """(lower-case entries, words found only capitalised) of the web2 dictionary."""
    from english_words import get_english_words_set

    entries = get_english_words_set(["web2"], lower=False, alpha=True)
    lower_case = frozenset(w for w in entries if w.islower())
    proper = frozenset(w.lower() for w in entries if not w.islower()) - lower_case
    return lower_case, proper


def _lower(ch: str) -> str:
    """Lower case that never turns one letter into two (the dotted capital I, for one)."""
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else unicodedata.normalize("NFD", lowered)[0]


if __name__ == "__main__":
    words = build()
    VOCABULARY_FILE.write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words written to {VOCABULARY_FILE}", file=sys.stderr)
