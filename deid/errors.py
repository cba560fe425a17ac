"""Errors the library raises, each naming where the problem is and what to do."""

from __future__ import annotations

from pathlib import Path


class DeidError(Exception):
    """Base class of every error the ``deid`` library raises on bad input."""


class ProfileError(DeidError):
    """A profile file is missing or invalid.

    The message names the file, the rule number (1-based, as counted in the file) and the
    field, e.g. ``chaimeleon.toml: rule 3, field 'action': unknown action 'scramble'``.
    """

    def __init__(
        self,
        source: str | Path,
        message: str,
        *,
        rule: int | None = None,
        field: str | None = None,
    ) -> None:
        self.source = str(source)
        self.rule = rule
        self.field = field
        self.detail = message
        where = [self.source]
        if rule is not None:
            where.append(f"rule {rule}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}")


class SecretMissingError(DeidError):
    """An action needs a secret that neither the caller nor the environment provided."""

    def __init__(self, name: str, env_var: str) -> None:
        self.name = name
        self.env_var = env_var
        super().__init__(
            f"secret {name!r} is needed (for keyed hashes, UIDs and date shifts) but was not "
            f"given: pass secrets={{{name!r}: ...}} or set the environment variable {env_var}"
        )


class DicomInputError(DeidError):
    """A DICOM input could not be read or is not a DICOM data set."""

    def __init__(self, source: str | Path, message: str) -> None:
        self.source = str(source)
        self.detail = message
        super().__init__(f"{self.source}: {message}")
