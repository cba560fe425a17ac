"""Dispatch a canonical action on one (non-sequence) element's value.

Each action is a small function ``(params, vr, value, state) -> new value`` in one table;
:data:`REMOVE_ELEMENT` means the element is removed (``None`` is an empty value). A
``ValueError`` means the value cannot be transformed and the engine removes the element
instead (fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np
from pydicom.multival import MultiValue
from pydicom.valuerep import MAX_VALUE_LEN

from deid.policy.actions import ACTIONS, BINARY_VRS, DATE_VRS, NUMBER_VRS, TEXT_VRS, Action
from deid.policy.vr_values import value_problem
from deid.secret_store import Secrets
from deid.transform.clean import REDACTED, clean_text
from deid.transform.values import (
    date_offset_days,
    digest,
    dummy_value,
    exact,
    format_number,
    keyed_uid,
    round_age,
    round_number,
    shift_da,
    shift_dt,
    truncate_da,
    truncate_dt,
    truncate_tm,
)

_TEMPLATE_FIELD_RE: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(\d+))?\}")


class Keys(Protocol):
    """Where the actions get their keys: :class:`DerivedKeys` or :class:`deid.Secrets`."""

    def get(self, name: str = "default") -> bytes: ...


class DerivedKeys:
    """The keys of one profile: each secret derived for the profile's own domain, so that two
    profiles given the same secret give unlinkable pseudonyms, hashes, UIDs and date offsets;
    secrets the profile names in ``linkage`` are used as they are (shared on purpose)."""

    __slots__ = ("_cache", "domain", "linkage", "secrets")

    def __init__(self, secrets: Secrets, domain: str, linkage: Iterable[str] = ()) -> None:
        self.secrets = secrets
        self.domain = domain
        self.linkage = frozenset(linkage)
        self._cache: dict[str, bytes] = {}

    def get(self, name: str = "default") -> bytes:
        key = self._cache.get(name)
        if key is None:
            secret = self.secrets.get(name)
            key = secret if name in self.linkage else hmac.new(
                secret, b"deid profile domain|" + self.domain.encode("utf-8"),
                hashlib.sha256).digest()
            self._cache[name] = key
        return key


@dataclass(frozen=True)
class TransformState:
    """What actions need besides the value: keys, the patient, identifiers, parameters."""

    secrets: Keys
    patient_key: str
    identifiers: tuple[str, ...]
    params: Mapping[str, str]

    def __reduce__(self) -> tuple[type[TransformState], tuple[Any, ...]]:
        # Pickled by its fields (a compiled frozen class is not restored field by field).
        return TransformState, (self.secrets, self.patient_key, self.identifiers, self.params)


_ANY_VR: Final = frozenset({Action.KEEP, Action.REMOVE, Action.EMPTY, Action.DUMMY, Action.CLEAN})
#: Returned instead of a value when the element is removed.
REMOVE_ELEMENT: Final[Any] = object()


class ValueHolder(Protocol):
    """What a transform reads of an element: its VR and value (a pydicom DataElement fits)."""

    VR: str
    value: Any


Handler = Callable[[Mapping[str, Any], str, Any, TransformState], Any]


def transform_value(action: Action, params: Mapping[str, Any], element: ValueHolder,
                    state: TransformState) -> Any:
    """The element's new value under ``action``, or :data:`REMOVE_ELEMENT`."""
    vr = element.VR.split(" or ")[0]
    if action not in _ANY_VR and vr not in ACTIONS[action].vrs:
        raise ValueError(f"action {action.value} does not apply to VR {vr}")
    return _HANDLERS[action]({**_defaults(action), **params}, vr, element.value, state)


def _defaults(action: Action) -> dict[str, Any]:
    """The action's parameters that have a default, with it (made once per action)."""
    known = _DEFAULTS.get(action)
    if known is None:
        known = _DEFAULTS[action] = {name: spec.default
                                     for name, spec in ACTIONS[action].params.items()
                                     if spec.default is not None}
    return known


_DEFAULTS: Final[dict[Action, dict[str, Any]]] = {}


def _each(value: Any, function: Callable[[Any], Any]) -> Any:
    """Apply ``function`` to every value of a multi-valued element."""
    if is_multi(value):
        return [function(item) for item in value]
    return function(value)


def is_multi(value: Any) -> bool:
    """True for a multi-valued element's value (a list, tuple or pydicom MultiValue)."""
    return type(value) is not str and isinstance(value, (list, tuple, MultiValue))


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == b"" or (
        isinstance(value, (list, tuple)) and not value)


def _keep(params: Mapping[str, Any], vr: str, value: Any, state: TransformState) -> Any:
    if is_multi(value):
        return list(value)
    return value


def _remove(params: Mapping[str, Any], vr: str, value: Any, state: TransformState) -> Any:
    return REMOVE_ELEMENT


def _empty(params: Mapping[str, Any], vr: str, value: Any, state: TransformState) -> Any:
    return b"" if vr in BINARY_VRS else ""


def _dummy(params: Mapping[str, Any], vr: str, value: Any, state: TransformState) -> Any:
    if params.get("value") and vr not in BINARY_VRS and vr != "SQ":
        text = _fit(vr, fill_template(params["value"], {}, state.params))
        problem = value_problem(vr, text)
        if problem is not None:  # never write a value the element cannot hold
            raise ValueError(f"the dummy value is not a valid {vr}: {problem}")
        return text
    if vr == "UI":
        return _uid(params, vr, value, state) if not _is_empty(value) else "2.25.0"
    return dummy_value(vr)


def _uid(params: Mapping[str, Any], vr: str, value: Any, state: TransformState) -> Any:
    secret = state.secrets.get(params.get("secret", "default"))
    root = fill_template(params.get("root", "2.25"), {}, state.params)
    return _each(value, lambda uid: keyed_uid(str(uid), secret, root) if str(uid) else "")


def _fit(vr: str, text: str) -> str:
    limit = MAX_VALUE_LEN.get(vr, 64 if vr == "PN" else 0)
    return text[:limit] if limit else text


def _hash_text(params: Mapping[str, Any], value: str, state: TransformState) -> str:
    secret = state.secrets.get(params.get("secret", "default"))
    fields = {"value": value, "patient": state.patient_key}
    hashed = fill_template(params.get("input", "{value}"), fields, state.params)
    hexdigest = digest(hashed, secret, algorithm=params.get("algorithm", "sha256"),
                       keying=params.get("keying", "hmac"))
    length = params.get("length", 0)
    return hexdigest[:length] if length else hexdigest


def _hash(params: Mapping[str, Any], vr: str, value: Any, state: TransformState) -> Any:
    def one(item: Any) -> str:
        text = params.get("prefix", "") + _hash_text(params, str(item), state)
        return _fit(vr, text.upper() if vr == "CS" else text)

    return _each(value, one) if not _is_empty(value) else value


def _pseudonym(params: Mapping[str, Any], vr: str, value: Any,
               state: TransformState) -> Any:
    def one(item: Any) -> str:
        def field(match: re.Match[str]) -> str:
            name, width = match.group(1), match.group(2)
            if name == "hash":
                text = _hash_text(params, str(item), state)
            elif name == "patient":
                text = _hash_text({**params, "input": "{value}"}, state.patient_key, state)
            else:
                text = state.params[name]
            return text[: int(width)] if width else text

        return _fit(vr, _TEMPLATE_FIELD_RE.sub(field, params["template"]))

    return _each(value, one)


def fill_template(template: str, fields: Mapping[str, str], params: Mapping[str, str]) -> str:
    """Replace ``{name}`` and ``{name:N}`` (first N characters) from ``fields`` or ``params``."""
    if "{" not in template:
        return template  # e.g. a UID root: nothing to fill

    def field(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        text = fields[name] if name in fields else params[name]
        return text[: int(width)] if width else text

    return _TEMPLATE_FIELD_RE.sub(field, template)


def _offset(params: Mapping[str, Any], state: TransformState) -> int:
    if params.get("days"):
        return int(params["days"])
    secret = state.secrets.get(params.get("secret", "default"))
    return date_offset_days(state.patient_key, secret, int(params.get("max_days", 365)))


def _shift_date(params: Mapping[str, Any], vr: str, value: Any,
                state: TransformState) -> Any:
    if _is_empty(value) or vr == "TM":
        return _keep(params, vr, value, state)  # whole-day shifts leave the time of day
    days = _offset(params, state)
    shift = shift_da if vr == "DA" else shift_dt
    return _each(value, lambda item: shift(str(item), days))


def _truncate_date(params: Mapping[str, Any], vr: str, value: Any,
                   state: TransformState) -> Any:
    if _is_empty(value):
        return value
    unit = params.get("to", "month")
    function = {"DA": truncate_da, "DT": truncate_dt, "TM": truncate_tm}[vr]
    return _each(value, lambda item: function(str(item), unit))


def _round(params: Mapping[str, Any], vr: str, value: Any, state: TransformState) -> Any:
    if _is_empty(value):
        return value
    step, cap = exact(params["step"]), exact(params.get("max", 0))
    if vr == "AS":
        return _each(value, lambda item: round_age(str(item), step, cap))
    return _each(value, lambda item: format_number(vr, round_number(exact(_number_text(vr, item)),
                                                                  step, cap)))


def _number_text(vr: str, item: Any) -> str:
    """A number as written: FL values by their shortest single-precision spelling (1.65, not
    1.6499999761581)."""
    if vr == "FL" and isinstance(item, float):
        return str(np.format_float_positional(np.float32(item), unique=True, trim="-"))
    return str(item)


def _clean(params: Mapping[str, Any], vr: str, value: Any, state: TransformState) -> Any:
    """Text: identifiers scrubbed; PN: dummy; UI: remapped; DA/DT: shifted; others kept."""
    if _is_empty(value):
        return value
    if vr == "PN":
        return dummy_value("PN")
    if vr == "UI":
        return _uid(params, vr, value, state)
    if vr in DATE_VRS:
        return _shift_date(params, vr, value, state)
    if vr in TEXT_VRS:
        return _each(value, lambda item: _clean_one(vr, str(item), state))
    if vr in NUMBER_VRS or vr in BINARY_VRS or vr in ("AS", "AT"):
        return _keep(params, vr, value, state)
    return _keep(params, vr, value, state)


def _clean_one(vr: str, text: str, state: TransformState) -> str:
    cleaned = clean_text(text, state.identifiers)
    if vr in ("AE", "CS") and cleaned != text:
        return str(dummy_value(vr))
    if vr == "UR" and REDACTED in cleaned:
        return str(dummy_value(vr))
    return _fit(vr, cleaned)


_HANDLERS: Final[dict[Action, Handler]] = {
    Action.KEEP: _keep,
    Action.REMOVE: _remove,
    Action.EMPTY: _empty,
    Action.DUMMY: _dummy,
    Action.CLEAN: _clean,
    Action.UID: _uid,
    Action.HASH: _hash,
    Action.PSEUDONYM: _pseudonym,
    Action.SHIFT_DATE: _shift_date,
    Action.TRUNCATE_DATE: _truncate_date,
    Action.ROUND: _round,
}
