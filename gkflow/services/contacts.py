"""Checking phone numbers and e-mail addresses with the libraries made for it (phonenumbers,
email-validator), for the domain's typed fields and the applicant's contact details."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# Mainland numbers are written without +86; other numbers need their country code.
REGION = "CN"


class LibraryContacts:
    """gkflow.domain.fields.ContactCheck backed by phonenumbers and email-validator."""

    def phone(self, value: str) -> str | None:
        """A valid number as stored: mainland numbers as digits (13912345678, 09798412345), others E.164."""
        try:
            number = phonenumbers.parse(value, REGION)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        if number.country_code == 86:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL).replace(
                " ", "").replace("-", "")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def email(self, value: str) -> str | None:
        """A syntactically valid address, normalised (no DNS look-up: the check must work offline)."""
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            return None


CONTACTS = LibraryContacts()


def is_mobile(phone: str) -> bool:
    """Whether a stored number can receive an SMS (a mobile number)."""
    try:
        number = phonenumbers.parse(phone, REGION)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
