"""Case numbers (办件编号) and query codes (查询码): how they look, how they are drawn, how a code is
stored (only a hash) and checked."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

# Letters and digits that cannot be misread on paper or a phone screen: no 0/O, 1/I/L.
CASE_NO_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
QUERY_CODE_ALPHABET = CASE_NO_ALPHABET
CASE_NO_SUFFIX_LENGTH = 6
QUERY_CODE_LENGTH = 8


def new_case_no(received_on: date) -> str:
    """GKyyyymmdd-XXXXXX: the local date of receipt and six random letters or digits."""
    suffix = "".join(secrets.choice(CASE_NO_ALPHABET) for _ in range(CASE_NO_SUFFIX_LENGTH))
    return f"GK{received_on:%Y%m%d}-{suffix}"


def new_query_code() -> str:
    """Eight random letters or digits, shown once to the applicant."""
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def hash_query_code(case_no: str, code: str) -> str:
    """What is stored of a query code: its SHA-256 with the case number (case and spaces ignored)."""
    return hashlib.sha256(f"{case_no}:{code.strip().upper()}".encode()).hexdigest()


def query_code_matches(case_no: str, code: str, stored_hash: str) -> bool:
    """Whether ``code`` is the case's query code (a constant-time comparison)."""
    return hmac.compare_digest(hash_query_code(case_no, code), stored_hash)


def query_code_from_token(form_token: str) -> str:
    """The query code of a window registration, derived from its one-time form token.

    A repeated POST of the same form (a reload, a double click) finds the case its token made and
    shows the same code again, although only hashes of the token and of the code are stored.
    """
    digest = hashlib.sha256(f"gkflow-query-code:{form_token}".encode()).digest()
    return "".join(QUERY_CODE_ALPHABET[b % len(QUERY_CODE_ALPHABET)] for b in digest[:QUERY_CODE_LENGTH])


def hash_form_token(form_token: str) -> str:
    """What is stored of a registration form's token."""
    return hashlib.sha256(f"gkflow-form:{form_token}".encode()).hexdigest()
