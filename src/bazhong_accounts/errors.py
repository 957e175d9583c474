"""The one kind of error a user sees: `bazhong-accounts: error: MESSAGE` on stderr, exit 1.
Commands raise UserError (or call fail()); cli.main() catches it once and prints it."""

from __future__ import annotations

from typing import NoReturn


class UserError(Exception):
    """A mistake in what the user asked for or gave us (a path, a name, a file), said in one line."""


def fail(message: str) -> NoReturn:
    raise UserError(message)
