"""Passwords that people set: at least 12 characters, not the user name, not a published demo
password, and not guessable (zxcvbn, whose lists hold the common passwords); the demo passwords work
only from this machine."""

from __future__ import annotations

import ipaddress

from zxcvbn import zxcvbn

from gkflow.domain.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 256  # Argon2 hashes any length; this only bounds the work of the strength estimate
# zxcvbn's score 3 means "safely unguessable": about 10^8 guesses or more.
MIN_SCORE = 3
# The published password of the demo accounts in config/accounts.yaml (README). It keeps working for
# them, but only from a loopback address, and nobody may set it (or any of these) on an account.
DEMO_PASSWORDS = ("gkflow-demo",)
# Words an attacker of this installation tries first.
_CONTEXT_WORDS = ["gkflow", "golmud", "geermu", "格尔木", "demo", "admin", "zhengwu", "12345"]


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an address, or ``localhost``) is this machine."""
    if not host:
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_demo_password(password: str) -> bool:
    """Whether ``password`` is one of the published demo passwords."""
    return password in DEMO_PASSWORDS


def check_new_password(password: str, *, username: str | None = None,
                       display_name: str | None = None) -> None:
    """InvalidInput (naming what is wrong) unless a person may set ``password``."""

    def refuse(reason: str) -> InvalidInput:
        return InvalidInput(f"密码不符合要求：{reason}", fields=["password"])

    if len(password) < MIN_LENGTH:
        raise refuse(f"至少需要{MIN_LENGTH}个字符 (at least {MIN_LENGTH} characters)")
    if len(password) > MAX_LENGTH:
        raise refuse(f"最多{MAX_LENGTH}个字符 (at most {MAX_LENGTH} characters)")
    if is_demo_password(password) or any(demo in password.lower() for demo in DEMO_PASSWORDS):
        raise refuse("不能使用公开的演示密码 (the published demo password)")
    if username and username.strip().lower() in password.lower():
        raise refuse("不能包含用户名 (contains the user name)")
    inputs = [*_CONTEXT_WORDS, *(v for v in (username, display_name) if v)]
    result = zxcvbn(password, user_inputs=inputs)
    if result["score"] < MIN_SCORE:
        hint = result["feedback"].get("warning") or "; ".join(result["feedback"].get("suggestions", []))
        raise refuse("过于常见或容易猜到，请换一个更长、不常见的密码"
                     + (f" (too easy to guess: {hint})" if hint else " (too easy to guess)"))
