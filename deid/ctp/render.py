"""Canonical actions as CTP element scripts: one table, action -> writer.

Each writer gives the CTP expression nearest to the action, chosen so that importing it gives
the action back (``@keep()``, ``@remove()``, ``@empty()``, a literal for ``dummy``,
``@contents(this,...)`` for ``clean``, ``@hashuid(@UIDROOT,this)``, ``@hash(this,N)``,
``@hashptid(...)`` in a template for ``pseudonym``, ``@incrementdate``/``@hashdate``,
``@modifydate``/``@truncate`` and ``@round(this,N)``). Where CTP cannot express an action or a
parameter (:data:`deid.ctp.fidelity.NOT_EXPRESSIBLE`), the exporter adds a ``<!--deid {...}-->``
comment (see :mod:`deid.ctp.exporter`); :func:`element_script` is also how the importer tells
whether to trust such a comment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deid.ctp.arguments import secret_param
from deid.ctp.expressions import default_dummy_literal
from deid.ctp.fidelity import resolved
from deid.ctp.script import escape_literal
from deid.policy.actions import ACTIONS, ALL_VRS, BINARY_VRS, TEXT_VRS, Action

CLEAN_SCRIPT = '@contents(this,"[0-9]+","***")'
_FIELD_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(\d+))?\}")
_SITE_INPUT_RE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}\{(value|patient)\}$")
_TRUNCATE_DATE = {"year": "@modifydate(this,*,1,1)", "month": "@modifydate(this,*,*,1)",
                  "day": "@modifydate(this,*,*,*)"}
_TRUNCATE_LENGTH = {("TM", "hour"): 2, ("TM", "minute"): 4, ("", "hour"): 10,
                    ("", "minute"): 12}


@dataclass
class ScriptParams:
    """The parameters the exported script declares (added to as writers need them)."""

    values: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)

    def uid_root(self, root: str) -> str:
        """The parameter holding ``root`` (``{NAME}`` roots name theirs)."""
        match = re.fullmatch(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", root)
        if match and match.group(1) in self.values:
            return match.group(1)
        name, number = "UIDROOT", 1
        while self.values.get(name, root) != root:
            number += 1
            name = f"UIDROOT_{number}"
        self.values[name] = root
        return name

    def secret(self, name: str) -> str:
        """The (empty) parameter that names secret ``name``; ``""`` for the default secret."""
        if name == "default":
            return ""
        self.secrets.add(name)
        return "@" + secret_param(name)


Writer = Callable[[Mapping[str, Any], str | None, ScriptParams], str]


def element_script(action: Action, params: Mapping[str, Any], vr: str | None,
                   declared: ScriptParams) -> tuple[Action, Mapping[str, Any], str]:
    """What the exporter writes for an element of ``vr``: the action resolved for the VR as
    deid carries it out (``remove`` where the VR does not allow it: the engine fails closed),
    its parameters and its script."""
    action, params = resolved(action, params, vr)
    if vr in ALL_VRS and vr not in ACTIONS[action].vrs:
        action, params = Action.REMOVE, {}
    return action, params, script_for(action, params, vr, declared)


def script_for(action: Action, params: Mapping[str, Any], vr: str | None,
               declared: ScriptParams) -> str:
    """The CTP script nearest to ``action`` with ``params`` on an element of VR ``vr``."""
    full = {key: params.get(key, spec.default) for key, spec in ACTIONS[action].params.items()}
    return WRITERS[action](full, vr, declared)


def _text(template: str) -> str:
    """A dummy value template as CTP text: literals escaped, ``{NAME}`` as @param(@NAME)."""
    out = []
    position = 0
    for match in _FIELD_RE.finditer(template):
        out.append(escape_literal(template[position:match.start()]))
        out.append(f"@param(@{match.group(1)})")
        position = match.end()
    out.append(escape_literal(template[position:]))
    return "".join(out)


def _dummy(params: Mapping[str, Any], vr: str | None, declared: ScriptParams) -> str:
    if vr == "UI" and not params.get("value"):  # deid's dummy UID is the UID remapped
        return f"@hashuid(@{declared.uid_root('2.25')},this)"
    if params.get("value") and vr not in BINARY_VRS:  # CTP cannot write text into binary
        return _text(params["value"])
    return escape_literal(default_dummy_literal(vr) or "") or "@empty()"


def _clean(params: Mapping[str, Any], vr: str | None, declared: ScriptParams) -> str:
    if vr == "UI":
        return f"@hashuid(@{declared.uid_root('2.25')},this)"
    if vr in ("DA", "DT"):
        return "@hashdate(this,PatientID)"
    if vr == "SQ":
        return "@process()"
    return CLEAN_SCRIPT if vr is None or vr in TEXT_VRS else "@keep()"


def _uid(params: Mapping[str, Any], vr: str | None, declared: ScriptParams) -> str:
    if vr == "SQ":
        return "@process()"
    salt = ",PatientID" if params["secret"] != "default" else ""  # keyed like the patient
    return f"@hashuid(@{declared.uid_root(params['root'])},this{salt})"


def _hash(params: Mapping[str, Any], vr: str | None, declared: ScriptParams) -> str:
    of = "PatientID" if params["input"] == "{patient}" else "this"
    length = f",{params['length']}" if params["length"] else ""
    return f"{escape_literal(params['prefix'])}@hash({of}{length})"


def _pseudonym(params: Mapping[str, Any], vr: str | None, declared: ScriptParams) -> str:
    site = _SITE_INPUT_RE.match(params["input"])
    first = f"@{site.group(1)}" if site and site.group(1) in declared.values else (
        declared.secret(params["secret"]))
    patient = params["input"] == "{patient}" or bool(site and site.group(2) == "patient")
    of = "PatientID" if patient else "this"
    out = []
    position = 0
    template = params["template"]
    for match in _FIELD_RE.finditer(template):
        out.append(escape_literal(template[position:match.start()]))
        name, width = match.groups()
        length = f",{width}" if width else ""
        if name == "hash":
            out.append(f"@hashptid({first},{of}{length})")
        elif name == "patient":
            out.append(f"@hashptid({declared.secret(params['secret'])},PatientID{length})")
        else:
            out.append(f"@param(@{name})")
        position = match.end()
    out.append(escape_literal(template[position:]))
    return "".join(out)


def _shift_date(params: Mapping[str, Any], vr: str | None, declared: ScriptParams) -> str:
    days = params["days"]
    if vr == "TM":
        return "@keep()"  # whole-day shifts leave the time of day
    if not days:
        return "@hashdate(this,PatientID)"
    named = next((name for name, value in declared.values.items()
                  if value.strip() == str(days) and "INC" in name.upper()), None)
    return f"@incrementdate(this,{'@' + named if named else days})"


def _truncate_date(params: Mapping[str, Any], vr: str | None, declared: ScriptParams) -> str:
    unit = params["to"]
    if vr == "TM" and unit in _TRUNCATE_DATE:
        return "000000"
    if unit in _TRUNCATE_DATE:
        return _TRUNCATE_DATE[unit]
    return f"@truncate(this,{_TRUNCATE_LENGTH['TM' if vr == 'TM' else '', unit]})"


def _round(params: Mapping[str, Any], vr: str | None, declared: ScriptParams) -> str:
    step = float(params["step"])
    if not step.is_integer():
        return "@remove()"  # CTP's @round takes whole group sizes only
    return f"@round(this,{int(step)})"


#: One writer per canonical action.
WRITERS: Mapping[Action, Writer] = {
    Action.KEEP: lambda params, vr, declared: "@process()" if vr == "SQ" else "@keep()",
    Action.REMOVE: lambda params, vr, declared: "@remove()",
    Action.EMPTY: lambda params, vr, declared: "@empty()",
    Action.DUMMY: _dummy,
    Action.CLEAN: _clean,
    Action.UID: _uid,
    Action.HASH: _hash,
    Action.PSEUDONYM: _pseudonym,
    Action.SHIFT_DATE: _shift_date,
    Action.TRUNCATE_DATE: _truncate_date,
    Action.ROUND: _round,
}
