"""Arguments of CTP functions: element names, parameter references, numbers, secrets.

CTP reads an argument beginning with ``@`` (or ``$``) as a script parameter (``<p t="NAME">``)
and anything else as itself (``DICOMAnonymizerContext.getParam``); element arguments are
``this``, a keyword such as ``PatientID``, or a tag as ``ggggeeee``, ``(gggg,eeee)`` or
``[gggg,eeee]``. Parameters whose name says they are secret (``SECRET_KEY``, ``HASHKEY``,
``PASSWORD``...) become named secrets, supplied at run time as ``DEID_SECRET_<NAME>``; their
values are never written to a profile.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from deid.policy.dictionary import info_for_tag, keyword_to_tag

PATIENT_ID = 0x00100020
_SECRET_WORDS = ("SECRET", "KEY", "PASSWORD", "PASSPHRASE", "TOKEN", "SALT")
_TAG_RE = re.compile(r"^[\[(]?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})[\])]?$")


def is_secret_param(name: str) -> bool:
    """True for parameter names that clearly hold a secret (``SECRET_KEY``, ``HASHKEY``...)."""
    upper = name.upper()
    return any(word in upper for word in _SECRET_WORDS)


def secret_name(param: str) -> str:
    """The deid secret a secret parameter becomes: ``SECRET_KEY`` -> ``key`` (supplied as
    ``DEID_SECRET_KEY``), ``HASHKEY`` -> ``hashkey``."""
    lower = param.lower()
    if lower.startswith("secret_") and len(lower) > len("secret_"):
        return lower[len("secret_"):]
    return lower


def secret_param(secret: str) -> str:
    """The script parameter an exported secret is declared as (inverse of :func:`secret_name`)."""
    return f"SECRET_{secret.upper()}"


def _no_secret(element: str) -> str | None:
    return None


@dataclass(frozen=True)
class Context:
    """What a mapper needs besides the call: the element, its VR, the script's parameters."""

    tag: int | None = None
    vr: str | None = None
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    secrets: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    element_secret: Callable[[str], str | None] = _no_secret


class RefKind(StrEnum):
    """What a parameter-style argument refers to."""

    PARAM = "param"
    SECRET = "secret"
    UNDECLARED = "undeclared"
    LITERAL = "literal"


@dataclass(frozen=True, slots=True)
class Ref:
    """A resolved argument: a declared parameter, a secret, an undeclared name or literal text."""

    kind: RefKind
    text: str

    def value(self, ctx: Context) -> str | None:
        """The argument's value (a parameter's value, the literal), or ``None``."""
        if self.kind is RefKind.PARAM:
            return ctx.params[self.text]
        return self.text if self.kind is RefKind.LITERAL else None


def ref(arg: str, ctx: Context) -> Ref:
    """Resolve an argument as CTP's ``getParam`` does."""
    text = arg.strip()
    if text[:1] in ("@", "$"):
        name = text[1:]
        if name in ctx.secrets:
            return Ref(RefKind.SECRET, ctx.secrets[name])
        if name in ctx.params:
            return Ref(RefKind.PARAM, name)
        return Ref(RefKind.UNDECLARED, name)
    return Ref(RefKind.LITERAL, text)


def int_arg(arg: str, ctx: Context) -> int | None:
    """An integer argument (literal or parameter), or ``None`` when it is not an integer."""
    value = ref(arg, ctx).value(ctx)
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def element_vr(tag: int | None) -> str | None:
    """The dictionary VR of a tag (the first of ``US or SS``), ``None`` when unknown."""
    info = info_for_tag(tag) if tag is not None else None
    return info.vr.split(" or ")[0] if info and info.vr else None


def element_tag(arg: str) -> int | None:
    """The tag an element argument names (keyword or hex tag), if it can be told."""
    text = arg.strip().strip('"')
    match = _TAG_RE.match(text)
    if match:
        return int(match.group(1) + match.group(2), 16)
    return keyword_to_tag(text)


class Source(StrEnum):
    """Whose value a function reads."""

    VALUE = "value"
    PATIENT = "patient"
    OTHER = "other"


def source(arg: str, ctx: Context) -> Source:
    """``this`` (or the element itself), the patient's ID, or another element."""
    text = arg.strip()
    if text in ("", "this"):
        return Source.VALUE
    tag = element_tag(text)
    if tag is not None and tag == ctx.tag:
        return Source.VALUE
    return Source.PATIENT if tag == PATIENT_ID else Source.OTHER
