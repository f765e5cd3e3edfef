"""The one text normalizer of intelligibility scoring: prompts and transcripts pass through
:func:`normalize` before their error rates are taken. Pure: no pytest, standard library only.

Numbers become words (Whisper writes digits where a prompt may spell them out, and the
other way round), paralinguistic tags go, spelling variants fold to one form. The steps
are listed on :func:`normalize`; docs/METRICS.md repeats them.
"""

from __future__ import annotations

import re
import unicodedata

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((1_000_000, "million"), (1_000, "thousand"))
MAX_CARDINAL = 999_999_999
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def cardinal(n: int) -> str:
    """``n`` in words, 0..999,999,999 ("one hundred five": no "and"); larger numbers are
    read digit by digit."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n > MAX_CARDINAL:
        return digits(str(n))
    if n == 0:
        return "zero"
    words: list[str] = []
    for scale, name in _SCALES:
        group, n = divmod(n, scale)
        if group:
            words += [*_below_thousand(group), name]
    if n:
        words += _below_thousand(n)
    return " ".join(words)


def digits(text: str) -> str:
    """A digit string read digit by digit: "007" -> "zero zero seven"."""
    return " ".join(_ONES[int(d)] for d in text)


def ordinal(n: int) -> str:
    """``n`` as an ordinal in words: 1 -> "first", 21 -> "twenty first", 40 -> "fortieth"."""
    words = cardinal(n).split()
    last = words[-1]
    if last in _ORDINAL_WORDS:
        words[-1] = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _integer_words(text: str) -> str:
    plain = text.replace(",", "")
    if len(plain) > 1 and plain.startswith("0"):
        return digits(plain)
    return cardinal(int(plain))


# An integer (1,000-style grouping only in groups of three), an optional decimal part,
# an optional ordinal suffix. Letters may follow directly ("4pm" -> "four pm").
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:(st|nd|rd|th)(?![a-z]))?")
_CURRENCY = re.compile(r"([$£€])\s?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)")
_CURRENCY_WORDS = {"$": "dollars", "£": "pounds", "€": "euros"}


def _number(match: re.Match[str]) -> str:
    whole, fraction, suffix = match.groups()
    if suffix:
        words = ordinal(int(whole.replace(",", ""))) if fraction is None else None
        if words is not None:
            return f" {words} "
    words = _integer_words(whole)
    if fraction is not None:
        words += " point " + digits(fraction)
    if suffix:
        words += " " + suffix
    return f" {words} "


# Paralinguistic tags and stage directions: [laugh], (sigh), <breath>, *cough*. Whisper
# writes its own non-speech this way too ("[MUSIC]", "(laughs)"). Any bracketed span goes.
_TAGS = re.compile(r"\[[^\]]*\]|\([^)]*\)|<[^>]*>|\{[^}]*\}|\*[^*\s][^*]{0,40}\*")

# British -> American spellings: a stem and the endings it takes.
_STEM_ENDINGS = r"(s|ed|ing|ful|er|ers|ation|ations|able|ite|ites|less)?"
_SPELLING_STEMS = {
    "colour": "color",
    "favour": "favor",
    "flavour": "flavor",
    "honour": "honor",
    "humour": "humor",
    "labour": "labor",
    "neighbour": "neighbor",
    "behaviour": "behavior",
    "harbour": "harbor",
    "rumour": "rumor",
    "centre": "center",
    "theatre": "theater",
    "metre": "meter",
    "litre": "liter",
    "fibre": "fiber",
    "catalogue": "catalog",
    "programme": "program",
    "cheque": "check",
    "grey": "gray",
    "jewellery": "jewelry",
    "judgement": "judgment",
    "tyre": "tire",
    "aluminium": "aluminum",
    "cancelled": "canceled",
    "cancelling": "canceling",
    "travelled": "traveled",
    "travelling": "traveling",
    "traveller": "traveler",
    "modelling": "modeling",
    "labelled": "labeled",
}
_SPELLING = re.compile(
    r"\b(" + "|".join(sorted(_SPELLING_STEMS, key=len, reverse=True)) + r")" + _STEM_ENDINGS + r"\b"
)
# -ise -> -ize (and -isation -> -ization) for these stems only: "advertise", "surprise"
# and "exercise" are -ise in American English too.
_ISE_STEMS = [
    "organ",
    "apolog",
    "real",
    "recogn",
    "prior",
    "summar",
    "special",
    "author",
    "minim",
    "maxim",
    "optim",
    "custom",
    "final",
    "standard",
    "normal",
    "categor",
    "memor",
    "util",
    "visual",
    "critic",
    "emphas",
    "symbol",
    "familiar",
    "general",
    "personal",
    "character",
    "stabil",
    "modern",
    "central",
    "synchron",
    "legal",
]
_ISE = re.compile(r"\b(" + "|".join(_ISE_STEMS) + r")is(e|ed|es|ing|ation|ations|er|ers)\b")
_YSE = re.compile(r"\b(anal|paral|catal)ys(e|ed|es|ing)\b")
# Whole words and abbreviations, matched after lowercasing, before punctuation goes.
_WORDS = (
    (re.compile(r"\bo\.?k\.?(?=\W|$)|\bokey\b"), "okay"),
    (re.compile(r"\bmr\.?(?=\W|$)"), "mister"),
    (re.compile(r"\bmrs\.?(?=\W|$)"), "missus"),
    (re.compile(r"\bdr\.?(?=\W|$)"), "doctor"),
    (re.compile(r"\bvs\.?(?=\W|$)"), "versus"),
    (re.compile(r"\betc\.?(?=\W|$)"), "etcetera"),
    (re.compile(r"\ba\.m\.?(?=\W|$)"), "am"),
    (re.compile(r"\bp\.m\.?(?=\W|$)"), "pm"),
)
# Clock times: "3:30", and "3.30" where it reads as a time (after "at", before am/pm),
# since Whisper writes "three thirty" as 3.30. Other "3.30" stay decimals.
_HOUR, _MINUTE = r"([01]?\d|2[0-3])", r"([0-5]\d)"
_CLOCKS = (
    re.compile(rf"\b{_HOUR}:{_MINUTE}\b"),
    re.compile(rf"(?<=\bat ){_HOUR}\.{_MINUTE}\b"),
    re.compile(rf"\b{_HOUR}\.{_MINUTE}(?= ?[ap]m\b)"),
)


def _clock(match: re.Match[str]) -> str:
    hour, minute = int(match.group(1)), match.group(2)
    if minute == "00":
        spoken = ""
    elif minute.startswith("0"):
        spoken = "oh " + _ONES[int(minute)]
    else:
        spoken = cardinal(int(minute))
    return f" {cardinal(hour)} {spoken} "


_NUMBER_WORDS = "|".join([*_ONES[1:], *_TENS[2:]])
_SCALE_AND = re.compile(rf"\b(hundred|thousand|million) and (?=(?:{_NUMBER_WORDS})\b)")
_APOSTROPHES = re.compile(r"['’‘`´]")


def _strip_punctuation(text: str) -> str:
    return "".join(" " if unicodedata.category(c)[0] in "PSZC" else c for c in text)


def normalize(text: str) -> str:
    """The one text normalizer, for prompts and transcripts alike. In order:

    1. Unicode NFKC (full-width and compatibility forms fold to plain ones);
    2. paralinguistic tags and bracketed spans go: ``[laugh]``, ``(sigh)``, ``<breath>``,
       ``*cough*``;
    3. lowercase;
    4. ``&`` -> "and", ``%`` -> "percent", ``$5`` -> "5 dollars" (also £, €); "ok" and
       "o.k." -> "okay", "mr." -> "mister", "mrs." -> "missus", "dr." -> "doctor", "vs."
       -> "versus", "etc." -> "etcetera", "a.m." / "p.m." -> "am" / "pm";
    5. clock times: "3:30" -> "three thirty", "9:05" -> "nine oh five", "4:00" -> "four";
       "3.30" as well after "at" or before am/pm (Whisper writes "three thirty" so);
    6. numbers as words: "1,250" -> "one thousand two hundred fifty", "3.5" -> "three
       point five", "1st" -> "first", "007" -> "zero zero seven" (above 999,999,999
       digit by digit); "hundred and five" -> "hundred five" (Whisper writes 105);
    7. British spellings of a fixed list -> American ("colour" -> "color", "organise" ->
       "organize", "analyse" -> "analyze", "grey" -> "gray", ...);
    8. apostrophes go ("don't" -> "dont"); every other punctuation or symbol character
       becomes a space;
    9. whitespace runs collapse to one space; ends stripped.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _TAGS.sub(" ", text)
    text = text.lower()
    text = text.replace("&", " and ").replace("%", " percent ")
    text = _CURRENCY.sub(lambda m: f" {m.group(2)} {_CURRENCY_WORDS[m.group(1)]} ", text)
    for pattern, word in _WORDS:
        text = pattern.sub(word, text)
    for clock in _CLOCKS:
        text = clock.sub(_clock, text)
    text = _NUMBER.sub(_number, text)
    text = _SPELLING.sub(lambda m: _SPELLING_STEMS[m.group(1)] + (m.group(2) or ""), text)
    text = _ISE.sub(lambda m: f"{m.group(1)}iz{m.group(2)}", text)
    text = _YSE.sub(lambda m: f"{m.group(1)}yz{m.group(2)}", text)
    text = _APOSTROPHES.sub("", text)
    text = _strip_punctuation(text)
    text = " ".join(text.split())
    return _SCALE_AND.sub(r"\1 ", text)
