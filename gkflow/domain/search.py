"""What a case can be found by (its search terms) and what a clerk's search text means.

A clerk finds "the case of the person at my window" by part of the case number, part of the
applicant's name or the last four digits of the phone. At a million cases none of these can scan:
2-character Chinese names are too short for trigram indexes (SQLite FTS5 and pg_trgm need 3), so
every case stores its own short terms in one indexed table (decision 48):

- the six random letters of the case number: every run of 3 to 6 consecutive letters;
- the applicant's name: every run of 2 to ``NAME_TERM_MAX`` characters, and the first character
  (the surname); a longer query is looked up by its first ``NAME_TERM_MAX`` characters and checked
  against the name itself;
- the phone: only its last four digits (the full number is never copied into the index).

Terms are upper-cased and kept without spaces, so "kytq" finds "KYTQCU".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

NAME_TERM_MAX = 4
CASE_TAIL_MIN = 3
CASE_TAIL_MAX = 6
PHONE_TAIL = 4
MAX_QUERY_TOKENS = 4

_CASE_NO = re.compile(r"^GK(\d{8})-([0-9A-Z]{6})$")
_CASE_DAY = re.compile(r"^(?:GK)?(\d{8})-?$")
_DIGITS = re.compile(r"^\d+$")


def _norm(text: str) -> str:
    return "".join(text.split()).upper()


def case_terms(case_no: str, applicant_name: str, phone: str | None) -> set[str]:
    """The search terms stored for one case."""
    terms: set[str] = set()
    match = _CASE_NO.match(case_no)
    tail = match.group(2) if match else _norm(case_no)[-6:]
    for size in range(CASE_TAIL_MIN, len(tail) + 1):
        terms.update(tail[i : i + size] for i in range(len(tail) - size + 1))
    name = _norm(applicant_name)
    if name:
        terms.add(name[0])
        for size in range(2, min(NAME_TERM_MAX, len(name)) + 1):
            terms.update(name[i : i + size] for i in range(len(name) - size + 1))
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    if len(digits) >= PHONE_TAIL:
        terms.add(digits[-PHONE_TAIL:])
    return terms


@dataclass(frozen=True)
class ExactCase:
    """A whole case number."""

    case_no: str


@dataclass(frozen=True)
class ReceivedOn:
    """The date part of a case number (GK20261130): cases received that day."""

    day: date


@dataclass(frozen=True)
class Term:
    """One stored term to look up; ``name_contains`` / ``phone_is`` narrow it further when the query
    was longer than what is indexed."""

    term: str
    name_contains: str | None = None
    phone_is: str | None = None


Token = ExactCase | ReceivedOn | Term


def parse_query(text: str | None) -> list[Token]:
    """The search text as tokens that must all match (space-separated, at most four)."""
    tokens: list[Token] = []
    for raw in (text or "").split()[:MAX_QUERY_TOKENS]:
        token = _token(raw.upper())
        if token is not None:
            tokens.append(token)
    return tokens


def _token(word: str) -> Token | None:
    if _CASE_NO.match(word):
        return ExactCase(word)
    day = _CASE_DAY.match(word)
    if day:
        value = day.group(1)
        try:
            return ReceivedOn(date(int(value[:4]), int(value[4:6]), int(value[6:8])))
        except ValueError:
            return None
    if "-" in word:
        word = word.rsplit("-", 1)[1]
    if not word:
        return None
    if _DIGITS.match(word):
        if len(word) > PHONE_TAIL:  # a whole phone number: its tail, then the number itself
            return Term(word[-PHONE_TAIL:], phone_is=word)
        return Term(word)
    if len(word) > CASE_TAIL_MAX or (len(word) > NAME_TERM_MAX and not word.isascii()):
        return Term(word[:NAME_TERM_MAX], name_contains=word)
    return Term(word)
