"""Secrets for keyed hashes, UID remapping and date shifts.

Secrets come from the caller or the environment, never from profiles or code. A profile names
a secret (``secret = "site"``); ``DEID_SECRET_SITE`` supplies it, and ``DEID_SECRET`` supplies
the secret called ``default``. Secrets are never written to outputs or error messages.
"""

from __future__ import annotations

import os
import secrets as _stdlib_secrets
from collections.abc import Mapping

from deid.errors import SecretMissingError

DEFAULT_SECRET = "default"
ENV_PREFIX = "DEID_SECRET"


def env_var_for(name: str) -> str:
    """The environment variable that supplies secret ``name``."""
    return ENV_PREFIX if name == DEFAULT_SECRET else f"{ENV_PREFIX}_{name.upper()}"


class Secrets:
    """A read-only set of named secrets (bytes), looked up by the actions that need one."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str | bytes] | None = None) -> None:
        self._values = {
            name: value.encode("utf-8") if isinstance(value, str) else bytes(value)
            for name, value in (values or {}).items()
        }
        for name, value in self._values.items():
            if not value:
                raise ValueError(f"secret {name!r} is empty")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        """Collect ``DEID_SECRET`` and every ``DEID_SECRET_<NAME>`` from the environment."""
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for key, value in env.items():
            if key == ENV_PREFIX:
                values[DEFAULT_SECRET] = value
            elif key.startswith(ENV_PREFIX + "_") and value:
                values[key[len(ENV_PREFIX) + 1 :].lower()] = value
        return cls(values)

    @classmethod
    def ephemeral(cls, *names: str) -> Secrets:
        """Random secrets for one session (results cannot be linked to any other session)."""
        wanted = names or (DEFAULT_SECRET,)
        return cls({name: _stdlib_secrets.token_bytes(32) for name in wanted})

    def get(self, name: str = DEFAULT_SECRET) -> bytes:
        """The secret called ``name``; raise :class:`SecretMissingError` naming how to give it."""
        try:
            return self._values[name]
        except KeyError:
            raise SecretMissingError(name, env_var_for(name)) from None

    def names(self) -> tuple[str, ...]:
        """Names of the secrets held (never their values)."""
        return tuple(sorted(self._values))

    def __repr__(self) -> str:
        return f"Secrets(names={list(self.names())})"
