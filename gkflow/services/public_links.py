"""Links that work: notices and receipt QR codes point at GKFLOW_PUBLIC_BASE_URL; left at its loopback
default, an applicant's phone reaches nothing. `gkflow init` and `serve` say so and how to fix it."""

from __future__ import annotations

from urllib.parse import urlsplit

from gkflow.services.passwords import is_loopback
from gkflow.settings import Settings


def public_link_warnings(settings: Settings) -> list[str]:
    """Warnings about the public base URL (none when it is a real address)."""
    host = urlsplit(settings.public_base_url).hostname or ""
    if not host or is_loopback(host):
        return [
            f"warning: GKFLOW_PUBLIC_BASE_URL is {settings.public_base_url!r} (loopback): links in notices "
            "and the QR codes on receipts point at this machine and will not open on an applicant's phone. "
            "Set it to the address applicants use, e.g. GKFLOW_PUBLIC_BASE_URL=https://zwfw.example.gov.cn "
            "(environment or .env)."
        ]
    return []
