"""Read profile TOML files, validate them, and resolve their bases.

Validation happens here, once; a :class:`~deid.policy.profile_model.Profile` that exists is valid.
Every error is a :class:`~deid.errors.ProfileError` naming the file, rule number and field.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from deid.errors import ProfileError
from deid.policy.actions import ACTIONS, ALL_VRS, Action, Param, uid_root_problem
from deid.policy.dictionary import info_for_tag, keyword_to_tag
from deid.policy.profile_model import (
    SCHEMA_VERSION,
    Matcher,
    MatcherKind,
    PrivatePolicy,
    Profile,
    Provenance,
    Rule,
    Unlisted,
)
from deid.policy.standard import OPTION_IDS
from deid.tags import TagPattern, is_private_group, parse_tag

SHIPPED_DIR = Path(__file__).parent.parent / "profiles"
STANDARD_TABLES = ("E.1-1",)

_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def is_profile_id(text: str) -> bool:
    """True for a valid profile id: lower-case letters, digits and _, starting with a letter,
    at most 64 characters."""
    return bool(_ID_RE.match(text))
_TEMPLATE_FIELD_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(\d+))?\}")
_SECRET_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TOP_KEYS = {
    "schema_version", "id", "title", "provenance", "description", "base", "options",
    "unlisted", "private_tags", "standard_table", "params", "rules", "linkage",
}
_MATCHER_KEYS = ("tag", "keyword", "vr", "private_creator", "pattern")
_RULE_KEYS = {*_MATCHER_KEYS, "element", "action", "reason", "source", "enabled", "decided_by",
              "agreeing_profiles"}
_TEMPLATE_BUILTINS = {"hash", "patient"}
_INPUT_BUILTINS = {"value", "patient"}


@dataclass(frozen=True)
class ProfileInfo:
    """A shipped or user profile as listed to users."""

    id: str
    title: str
    provenance: str
    path: Path


def list_profiles(directory: Path = SHIPPED_DIR) -> list[ProfileInfo]:
    """Every profile file in ``directory`` (the shipped profiles by default), sorted by id."""
    infos = []
    for path in sorted(directory.glob("*.toml")):
        raw = _read_toml(path)
        infos.append(ProfileInfo(str(raw.get("id", path.stem)), str(raw.get("title", "")),
                                 str(raw.get("provenance", "")), path))
    return sorted(infos, key=lambda info: info.id)


def load_profile(id_or_path: str | Path, *, search: tuple[Path, ...] = ()) -> Profile:
    """Load a profile by shipped id or by path to a TOML file, bases included.

    Parameters
    ----------
    id_or_path
        A profile id (``"ps315_basic"``) or a path to a ``.toml`` file.
    search
        Extra directories searched for ids (before the shipped profiles). A profile file's own
        directory is always searched for its base.
    """
    path = _locate(id_or_path, search)
    return _load(path, search, ())


def load_profiles(spec: str | None = None, *, search: tuple[Path, ...] = ()) -> list[Profile]:
    """Profiles from a comma-separated list of ids or paths; every shipped profile when
    ``spec`` is empty. Raises :class:`ProfileError` for the first that cannot be loaded."""
    names = [part.strip() for part in (spec or "").split(",") if part.strip()]
    if not names:
        names = [info.id for info in list_profiles()]
    profiles = [load_profile(name, search=search) for name in names]
    seen: set[str] = set()
    for profile in profiles:
        if profile.id in seen:
            raise ProfileError(profile.path or profile.id, f"profile id {profile.id!r} is "
                               "given twice; each compared profile needs its own id")
        seen.add(profile.id)
    return profiles


def load_profile_text(text: str, *, name: str = "<uploaded>",
                      search: tuple[Path, ...] = ()) -> Profile:
    """Load a profile from TOML text (e.g. an upload); ``name`` is used in error messages."""
    data = text.encode("utf-8")
    raw = _parse_toml(data, name)
    return _build(raw, name, None, hashlib.sha256(data).hexdigest(), search, ())


def _locate(id_or_path: str | Path, search: tuple[Path, ...]) -> Path:
    candidate = Path(id_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise ProfileError(candidate, "no such profile file; give a shipped id or a "
                               "path to a .toml file")
        return candidate
    name = str(id_or_path)
    for directory in (*search, SHIPPED_DIR):
        path = directory / f"{name}.toml"
        if path.is_file():
            return path
    known = ", ".join(info.id for info in list_profiles())
    raise ProfileError(name, f"unknown profile id; shipped profiles are: {known}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ProfileError(path, f"cannot read the file ({error.strerror})") from error
    return _parse_toml(data, str(path))


def _parse_toml(data: bytes, name: str) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ProfileError(name, "the file is not UTF-8 text") from error
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(name, f"not valid TOML: {error}") from error


def _load(path: Path, search: tuple[Path, ...], seen: tuple[str, ...]) -> Profile:
    data = path.read_bytes() if path.is_file() else b""
    raw = _parse_toml(data, str(path))
    sha = hashlib.sha256(data).hexdigest()
    return _build(raw, str(path), path, sha, (*search, path.parent), seen)


def _build(raw: dict[str, Any], name: str, path: Path | None, sha: str,
           search: tuple[Path, ...], seen: tuple[str, ...]) -> Profile:
    _reject_unknown(raw, _TOP_KEYS, name, None, "top-level key")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ProfileError(name, f"schema_version must be {SCHEMA_VERSION} (got {version!r})",
                           field="schema_version")
    profile_id = _text(raw, "id", name, required=True)
    if not _ID_RE.match(profile_id):
        raise ProfileError(name, "ids are lower-case letters, digits and _ (max 64), "
                           f"starting with a letter (got {profile_id!r})", field="id")
    if profile_id in seen:
        raise ProfileError(name, f"base chain loops: {' -> '.join((*seen, profile_id))}",
                           field="base")
    base = _load_base(raw, name, search, (*seen, profile_id))
    options = _options(raw, name)
    params = _params(raw, name)
    linkage = _linkage(raw, name)
    unlisted = _enum(raw, "unlisted", Unlisted, name, Unlisted.BASE if base else None)
    private = _enum(raw, "private_tags", PrivatePolicy, name,
                    PrivatePolicy.BASE if base else None)
    if base is None and (unlisted is Unlisted.BASE or private is PrivatePolicy.BASE):
        raise ProfileError(name, "'base' is only allowed when the profile has a base",
                           field="unlisted" if unlisted is Unlisted.BASE else "private_tags")
    if "retain_safe_private" in options and private in (PrivatePolicy.REMOVE,
                                                          PrivatePolicy.KEEP):
        raise ProfileError(name, f"private_tags = {private.value!r} contradicts option "
                           "retain_safe_private (which keeps only safe private attributes)",
                           field="private_tags")
    standard_table = raw.get("standard_table")
    if standard_table is not None and standard_table not in STANDARD_TABLES:
        raise ProfileError(name, f"standard_table must be one of {STANDARD_TABLES}",
                           field="standard_table")
    rules = _rules(raw, name, set(params))
    _check_uid_roots(rules, params, name)
    return Profile(
        id=profile_id,
        title=_text(raw, "title", name, required=True),
        provenance=_enum(raw, "provenance", Provenance, name, None),
        unlisted=unlisted,
        private_tags=private,
        rules=rules,
        options=options,
        base=base,
        standard_table=standard_table,
        description=_text(raw, "description", name, required=False),
        params=MappingProxyType(params),
        linkage=linkage,
        path=path,
        sha256=sha,
    )


def _load_base(raw: dict[str, Any], name: str, search: tuple[Path, ...],
               seen: tuple[str, ...]) -> Profile | None:
    base_id = raw.get("base")
    if base_id is None:
        return None
    if not isinstance(base_id, str) or not base_id:
        raise ProfileError(name, "base must be a profile id", field="base")
    try:
        path = _locate(base_id, search)
    except ProfileError as error:
        raise ProfileError(name, f"base {base_id!r} not found ({error.detail})",
                           field="base") from error
    return _load(path, search, seen)


def _reject_unknown(raw: Mapping[str, Any], allowed: set[str], name: str,
                    rule: int | None, what: str) -> None:
    for key in raw:
        if key not in allowed:
            raise ProfileError(name, f"unknown {what} {key!r}; allowed: "
                               f"{', '.join(sorted(allowed))}", rule=rule, field=key)


def _text(raw: Mapping[str, Any], key: str, name: str, *, required: bool,
          rule: int | None = None) -> str:
    value = raw.get(key)
    if value is None:
        if required:
            raise ProfileError(name, "is required", rule=rule, field=key)
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ProfileError(name, "must be a non-empty string", rule=rule, field=key)
    return value


def _enum(raw: Mapping[str, Any], key: str, enum: Any, name: str, default: Any) -> Any:
    value = raw.get(key)
    if value is None:
        if default is None:
            raise ProfileError(name, f"is required; one of {', '.join(e.value for e in enum)}",
                               field=key)
        return default
    try:
        return enum(value)
    except ValueError:
        raise ProfileError(name, f"unknown value {value!r}; expected one of "
                           f"{', '.join(e.value for e in enum)}", field=key) from None


def _options(raw: Mapping[str, Any], name: str) -> tuple[str, ...]:
    options = raw.get("options", [])
    if not isinstance(options, list):
        raise ProfileError(name, "must be a list of PS3.15 option ids", field="options")
    for option in options:
        if option not in OPTION_IDS:
            raise ProfileError(name, f"unknown PS3.15 option {option!r}; expected one of "
                               f"{', '.join(OPTION_IDS)}", field="options")
    if len(set(options)) != len(options):
        raise ProfileError(name, "an option is listed twice", field="options")
    return tuple(options)


_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::\d+)?\}")


def _check_uid_roots(rules: tuple[Rule, ...], params: Mapping[str, str], name: str) -> None:
    """A ``root`` (after its ``{PARAM}`` values) must be a UID prefix with room for the digits
    that keep new UIDs distinct, as pydicom checks a prefix."""
    for rule in rules:
        root = rule.params.get("root")
        if root is None:
            continue
        text = _PARAM_RE.sub(lambda match: str(params.get(match.group(1), "")), str(root))
        problem = uid_root_problem(text)
        if problem is not None:
            raise ProfileError(name, problem, rule=rule.number, field="root")


def _linkage(raw: Mapping[str, Any], name: str) -> tuple[str, ...]:
    linkage = raw.get("linkage", [])
    if not isinstance(linkage, list) or not all(
            isinstance(item, str) and _SECRET_NAME_RE.match(item) for item in linkage):
        raise ProfileError(name, "must be a list of secret names (lower-case letters, digits, "
                           "_) whose keyed values are shared with every profile naming them",
                           field="linkage")
    return tuple(linkage)


def _params(raw: Mapping[str, Any], name: str) -> dict[str, str]:
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise ProfileError(name, "must be a table of NAME = \"value\"", field="params")
    for key, value in params.items():
        if not isinstance(value, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise ProfileError(name, f"parameter {key!r} must be an identifier with a string "
                               "value", field="params")
    return dict(params)


def _rules(raw: Mapping[str, Any], name: str, declared: set[str]) -> tuple[Rule, ...]:
    items = raw.get("rules", [])
    if not isinstance(items, list):
        raise ProfileError(name, "must be an array of tables ([[rules]])", field="rules")
    rules: list[Rule] = []
    by_key: dict[tuple[Any, ...], Rule] = {}
    patterns: list[Rule] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ProfileError(name, "must be a table", rule=number)
        rule = _rule(item, name, number, declared)
        if rule.enabled:
            _check_conflicts(rule, by_key, patterns, name)
        rules.append(rule)
    return tuple(rules)


def _rule(item: Mapping[str, Any], name: str, number: int, declared: set[str]) -> Rule:
    action_name = item.get("action")
    try:
        action = Action(str(action_name))
    except ValueError:
        raise ProfileError(name, f"unknown action {action_name!r}; expected one of "
                           f"{', '.join(a.value for a in Action)}", rule=number,
                           field="action") from None
    spec = ACTIONS[action]
    _reject_unknown(item, _RULE_KEYS | set(spec.params), name, number, "rule key")
    matcher = _matcher(item, name, number)
    params = _action_params(item, spec.params, name, number)
    _check_vr(matcher, action, name, number)
    if action is Action.PSEUDONYM:
        _check_template(params["template"], declared, name, number, "template",
                        _TEMPLATE_BUILTINS)
    for key in ("input", "root", "value"):
        if key not in params:
            continue
        _check_template(params[key], declared, name, number, key,
                        _INPUT_BUILTINS if key == "input" else set())
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ProfileError(name, "must be true or false", rule=number, field="enabled")
    agreeing = item.get("agreeing_profiles", [])
    if not isinstance(agreeing, list) or not all(isinstance(p, str) for p in agreeing):
        raise ProfileError(name, "must be a list of profile ids", rule=number,
                           field="agreeing_profiles")
    return Rule(number, matcher, action, MappingProxyType(params),
                _text(item, "reason", name, required=True, rule=number),
                _text(item, "source", name, required=True, rule=number), enabled,
                _text(item, "decided_by", name, required=False, rule=number), tuple(agreeing))


def _matcher(item: Mapping[str, Any], name: str, number: int) -> Matcher:
    given = [key for key in _MATCHER_KEYS if key in item]
    if len(given) != 1:
        raise ProfileError(name, "a rule needs exactly one matcher of "
                           f"{', '.join(_MATCHER_KEYS)} (got {given or 'none'})", rule=number)
    key = given[0]
    value = item[key]
    if not isinstance(value, str) or not value:
        raise ProfileError(name, "must be a non-empty string", rule=number, field=key)
    if "element" in item and key != "private_creator":
        raise ProfileError(name, "'element' narrows a private_creator rule only",
                           rule=number, field="element")
    builders: dict[str, Callable[[str], Matcher]] = {
        "tag": lambda text: Matcher(MatcherKind.TAG, tag=parse_tag(text)),
        "keyword": lambda text: Matcher(MatcherKind.TAG, tag=_keyword_tag(text)),
        "vr": lambda text: Matcher(MatcherKind.VR, vr=_vr(text)),
        "pattern": lambda text: Matcher(MatcherKind.PATTERN, pattern=TagPattern.parse(text)),
        "private_creator": lambda text: _creator_matcher(text, item.get("element")),
    }
    try:
        return builders[key](value)
    except ValueError as error:
        field = "element" if "element" in str(error) and key == "private_creator" else key
        raise ProfileError(name, str(error), rule=number, field=field) from error


def _keyword_tag(keyword: str) -> int:
    tag = keyword_to_tag(keyword)
    if tag is None:
        raise ValueError(f"unknown keyword {keyword!r}: not in the DICOM data dictionary "
                         "(write the tag as (gggg,eeee) instead)")
    return tag


def _vr(text: str) -> str:
    if text not in ALL_VRS:
        raise ValueError(f"unknown VR {text!r}; expected one of {', '.join(sorted(ALL_VRS))}")
    return text


def _creator_matcher(creator: str, element: Any) -> Matcher:
    if element is None:
        return Matcher(MatcherKind.PRIVATE_CREATOR, creator=creator)
    if not isinstance(element, str):
        raise ValueError("element must be a string like (0029,xx10)")
    try:
        pattern = TagPattern.parse(element)
    except ValueError as error:
        raise ValueError(f"element: {error}") from error
    if not is_private_group(pattern.value) or (pattern.mask >> 16) != 0xFFFF:
        raise ValueError(f"element {element!r} must name an odd (private) group, e.g. "
                         "(0029,xx10)")
    return Matcher(MatcherKind.PRIVATE_ELEMENT, pattern=pattern, creator=creator)


def _action_params(item: Mapping[str, Any], specs: Mapping[str, Param], name: str,
                   number: int) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, spec in specs.items():
        value = item.get(key, spec.default)
        if value is None:
            raise ProfileError(name, f"is required by action {item['action']!r}",
                               rule=number, field=key)
        if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, spec.kind) or isinstance(value, bool):
            raise ProfileError(name, f"must be of type {spec.kind.__name__}", rule=number,
                               field=key)
        problem = spec.check(value)
        if problem:
            raise ProfileError(name, f"{value!r}: {problem}", rule=number, field=key)
        params[key] = value
    return params


def _check_vr(matcher: Matcher, action: Action, name: str, number: int) -> None:
    vr = matcher.vr
    if matcher.kind is MatcherKind.TAG and matcher.tag is not None:
        info = info_for_tag(matcher.tag)
        vr = info.vr.split(" or ")[0] if info and info.vr else None
    if vr and vr in ALL_VRS and vr not in ACTIONS[action].vrs:
        raise ProfileError(name, f"action {action.value!r} is not valid for VR {vr}; it "
                           f"applies to {', '.join(sorted(ACTIONS[action].vrs))}",
                           rule=number, field="action")


def _check_template(template: str, declared: set[str], name: str, number: int, key: str,
                    builtins: set[str]) -> None:
    known = " nor ".join(sorted(builtins))
    for match in _TEMPLATE_FIELD_RE.finditer(template):
        field = match.group(1)
        if field not in builtins and field not in declared:
            raise ProfileError(name, f"template field {{{field}}} is neither {known} nor a "
                               "parameter declared in [params]", rule=number, field=key)
    leftover = _TEMPLATE_FIELD_RE.sub("", template)
    if "{" in leftover or "}" in leftover:
        raise ProfileError(name, "malformed template: use {field}, {field:12} or {PARAM}",
                           rule=number, field=key)


def _check_conflicts(rule: Rule, by_key: dict[tuple[Any, ...], Rule], patterns: list[Rule],
                     name: str) -> None:
    """Refuse a rule matching exactly what an earlier enabled rule matches (same matcher, or
    overlapping patterns with as many wildcards); record it for the rules after it."""
    other = by_key.get(rule.matcher.key)
    pattern = rule.matcher.pattern
    if other is None and rule.matcher.kind is MatcherKind.PATTERN and pattern is not None:
        other = next((earlier for earlier in patterns
                      if earlier.matcher.pattern is not None
                      and earlier.matcher.pattern.wildcards == pattern.wildcards
                      and earlier.matcher.pattern.overlaps(pattern)), None)
    if other is not None:
        raise ProfileError(name, f"conflicts with rule {other.number}: both match "
                           f"{rule.matcher.describe()}; keep one rule per matcher",
                           rule=rule.number, field=_matcher_field(rule.matcher))
    by_key[rule.matcher.key] = rule
    if rule.matcher.kind is MatcherKind.PATTERN:
        patterns.append(rule)


def _matcher_field(matcher: Matcher) -> str:
    return {
        MatcherKind.TAG: "tag",
        MatcherKind.PRIVATE_ELEMENT: "element",
        MatcherKind.PATTERN: "pattern",
        MatcherKind.PRIVATE_CREATOR: "private_creator",
        MatcherKind.VR: "vr",
    }[matcher.kind]
