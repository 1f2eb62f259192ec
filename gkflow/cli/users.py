"""`gkflow users …`: staff accounts, API tokens and the demo accounts."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, runtime
from gkflow.domain.errors import InvalidInput

app = typer.Typer(no_args_is_help=True, help="Staff accounts (工作人员账号) and API tokens")
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        value = sys.stdin.readline().rstrip("\n")
    else:
        value = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if not value:
        raise InvalidInput("an empty password is not allowed", fields=["password"])
    return value


@app.command("list")
@handles_errors
def users_list(json_: JsonFlag = False) -> None:
    """Every account (file and database), with roles, department and whether it is a demo account."""
    from gkflow.services.accounts import active_demo_accounts, list_accounts

    rt = runtime()
    demo = set(active_demo_accounts(rt))
    accounts = list_accounts(rt)
    data = [
        {
            "username": a.username,
            "name": a.display_name,
            "roles": list(a.roles),
            "department": a.department,
            "active": a.active,
            "source": a.source,
            "demo_active": a.username in demo,
        }
        for a in accounts
    ]
    emit(
        data,
        json_,
        lambda: "\n".join(
            f"{a.username:<14} {','.join(a.roles):<36} {a.department or '-'}"
            + ("" if a.active else "  (disabled)")
            + ("  (DEMO password active)" if a.username in demo else "")
            for a in accounts
        ),
    )


@app.command("add")
@handles_errors
def users_add(
    username: str,
    role: Annotated[list[str], typer.Option("--role", help="repeatable")],
    department: Annotated[str | None, typer.Option("--department")] = None,
    name: Annotated[str | None, typer.Option("--name", help="display name")] = None,
    password_stdin: PasswordStdin = False,
    json_: JsonFlag = False,
) -> None:
    """Add (or replace) a database account."""
    from gkflow.services.accounts import save_user

    account = save_user(
        runtime(),
        username,
        password=_password(password_stdin),
        roles=tuple(role),
        department=department,
        display_name=name,
    )
    emit(
        {"username": account.username, "roles": list(account.roles), "department": account.department},
        json_,
        f"account {account.username} saved",
    )

@app.command("passwd")
@handles_errors
def users_passwd(username: str, password_stdin: PasswordStdin = False, json_: JsonFlag = False) -> None:
    """Set a new password (for a demo account this ends its demo status)."""
    from gkflow.services.accounts import save_user

    save_user(runtime(), username, password=_password(password_stdin))
    emit({"username": username, "ok": True}, json_, f"password of {username} changed; its sessions ended")

@app.command("disable")
@handles_errors
def users_disable(username: str, json_: JsonFlag = False) -> None:
    """Disable an account: sessions end, tokens are revoked."""
    from gkflow.services.accounts import save_user

    save_user(runtime(), username, password=None, active=False)
    emit({"username": username, "active": False}, json_, f"account {username} disabled")

@app.command("disable-demo")
@handles_errors
def users_disable_demo(json_: JsonFlag = False) -> None:
    """Disable every demo account still active (required before serving on a public address)."""
    from gkflow.services.accounts import disable_demo_accounts

    disabled = disable_demo_accounts(runtime())
    emit({"disabled": disabled}, json_, f"disabled: {', '.join(disabled) or 'none were active'}")

@app.command("token")
@handles_errors
def users_token(
    username: str, label: Annotated[str, typer.Option("--label")] = "", json_: JsonFlag = False
) -> None:
    """Issue an API bearer token for the user (shown once)."""
    from gkflow.services.sessions import issue_token

    token = issue_token(runtime(), username, label)
    emit({"username": username, "token": token}, json_, token)

@app.command("revoke-tokens")
@handles_errors
def users_revoke_tokens(username: str, json_: JsonFlag = False) -> None:
    """Revoke every API token of the user."""
    from gkflow.services.sessions import revoke_tokens

    count = revoke_tokens(runtime(), username)
    emit({"username": username, "revoked": count}, json_, f"{count} token(s) revoked")

@app.command("hash-password")
@handles_errors
def users_hash_password(password_stdin: PasswordStdin = False, json_: JsonFlag = False) -> None:
    """Print an Argon2id hash for config/accounts.yaml."""
    from gkflow.services.accounts import hash_password

    digest = hash_password(_password(password_stdin))
    emit({"password_hash": digest}, json_, digest)
