"""Read RSNA CTP DicomAnonymizer scripts: the XML items and the function language of elements.

A script is ``<script>`` holding ``<p t="NAME">value</p>`` parameters, ``<e en="T|F"
t="ggggeeee" n="Name">expression</e>`` element scripts, ``<k en t="gggg|safeprivateelements">``
keep commands and ``<r en t="privategroups|curves|overlays|unspecifiedelements">`` remove
commands. Expressions are parsed as CTP's ``DICOMAnonymizer.makeReplacement`` and ``FnCall`` read
them: ``\\`` escapes the next character, ``@name(args)`` calls a function (arguments split on
commas outside quotes, brackets and nested parentheses), ``@if``/``@select`` take ``{true}
{false}`` clauses and ``@append`` one ``{clause}``; everything else is literal text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from deid.errors import DeidError

ESCAPE = "\\"
_CLAUSE_FUNCTIONS = {"if": 2, "select": 2, "append": 1}
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ITEM_RE = re.compile(
    r"<!--.*?-->"
    r"|<(?P<kind>[pekr])\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(?:/>|>.*?</(?P=kind)\s*>)",
    re.DOTALL,
)
_ANNOTATION_RE = re.compile(r"<!--\s*deid\s+(\{.*?\})\s*-->", re.DOTALL)


class CtpScriptError(DeidError):
    """A CTP script that cannot be read: not XML, or not a ``<script>``."""

    def __init__(self, name: str, message: str) -> None:
        self.source = name
        self.detail = message
        super().__init__(f"{name}: {message}")


class ExpressionError(ValueError):
    """An element script CTP cannot parse (CTP fails or stops reading there)."""


@dataclass(frozen=True, slots=True)
class ScriptItem:
    """One child of ``<script>``: its kind (``p``, ``e``, ``k``, ``r`` or another tag name),
    attributes, text content (comments excluded, as CTP reads it), the original XML text, and
    the deid annotation comment written by the exporter, if any."""

    kind: str
    attrs: Mapping[str, str]
    text: str
    raw: str
    annotation: str | None = None

    @property
    def enabled(self) -> bool:
        """``en="T"``; CTP treats any other value as disabled."""
        return self.attrs.get("en", "") == "T"

    @property
    def target(self) -> str:
        """The ``t`` attribute."""
        return self.attrs.get("t", "").strip()


@dataclass(frozen=True)
class CtpScript:
    """A parsed script: its items in file order."""

    name: str
    items: tuple[ScriptItem, ...]

    def of_kind(self, kind: str) -> tuple[ScriptItem, ...]:
        """The items of one kind, in file order."""
        return tuple(item for item in self.items if item.kind == kind)


def parse_script(text: str, name: str) -> CtpScript:
    """Parse the XML of a DicomAnonymizer script; raise :class:`CtpScriptError` if unreadable."""
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        raise CtpScriptError(name, "DOCTYPE and ENTITY declarations are not allowed in a "
                             "CTP script")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise CtpScriptError(name, f"not well-formed XML ({error})") from error
    if root.tag != "script":
        raise CtpScriptError(name, f"the root element is <{root.tag}>, expected <script> "
                             "(a CTP DicomAnonymizer script)")
    raws = _raw_items(text)
    children = list(root)
    known = [child for child in children if child.tag in ("p", "e", "k", "r")]
    if [kind for kind, _ in raws] != [child.tag for child in known]:
        raws = [(child.tag, ET.tostring(child, encoding="unicode").strip()) for child in known]
    raw_of = {id(child): raw for child, (_, raw) in zip(known, raws, strict=True)}
    items = []
    for child in children:
        raw = raw_of.get(id(child)) or ET.tostring(child, encoding="unicode").strip()
        items.append(ScriptItem(str(child.tag), MappingProxyType(dict(child.attrib)),
                                "".join(child.itertext()), raw, annotation_text(raw)))
    return CtpScript(name, tuple(items))


def annotation_text(raw: str) -> str | None:
    """The JSON of the ``<!--deid {...}-->`` comment in an item's XML text, if any."""
    match = _ANNOTATION_RE.search(raw)
    return match.group(1) if match else None


def _raw_items(text: str) -> list[tuple[str, str]]:
    """The original text of every top-level ``p``/``e``/``k``/``r`` item, in order."""
    return [(match.group("kind"), match.group(0)) for match in _ITEM_RE.finditer(text)
            if match.group("kind")]


@dataclass(frozen=True, slots=True)
class Literal:
    """Literal text of an expression (escapes resolved)."""

    text: str


@dataclass(frozen=True, slots=True)
class Call:
    """A function call: name, raw arguments, ``{}`` clauses, and its text in the script."""

    name: str
    args: tuple[str, ...]
    clauses: tuple[str, ...]
    text: str

    def arg(self, index: int) -> str:
        """Argument ``index`` trimmed, surrounding quotes removed; ``""`` when absent."""
        if index >= len(self.args):
            return ""
        value = self.args[index].strip()
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        return value


Piece = Literal | Call


def parse_expression(expression: str) -> tuple[Piece, ...]:
    """Split an element script into literal text and function calls.

    Raises :class:`ExpressionError` where CTP would fail or stop reading: an ``@`` not followed
    by ``name(``, a function name that is not a word, or an argument list that never closes.
    """
    pieces: list[Piece] = []
    literal: list[str] = []
    index = 0
    while index < len(expression):
        char = expression[index]
        if char == ESCAPE and index + 1 < len(expression):
            literal.append(expression[index + 1])
            index += 2
        elif char == "@":
            if literal:
                pieces.append(Literal("".join(literal)))
                literal = []
            call, index = _call(expression, index + 1)
            pieces.append(call)
        else:
            literal.append(char)
            index += 1
    if literal:
        pieces.append(Literal("".join(literal)))
    return tuple(pieces)


def _call(text: str, start: int) -> tuple[Call, int]:
    """Parse the call beginning after ``@`` at ``start``; return it and the index after it."""
    open_paren = text.find("(", start)
    if open_paren == -1:
        raise ExpressionError(f"'@{text[start:start + 20]}' is not a function call "
                              "(no '(' follows)")
    name = re.sub(r"\s", "", text[start:open_paren])
    if not _NAME_RE.match(name):
        raise ExpressionError(f"'@{text[start:open_paren + 1]}' is not a function name")
    args: list[str] = []
    position = open_paren
    while True:
        end = _delimiter(text, position + 1, ",)", "(")
        if end == -1:
            raise ExpressionError(f"the arguments of @{name}( never close")
        args.append(text[position + 1:end].strip())
        position = end
        if text[end] == ")":
            break
    after = position + 1
    clauses: list[str] = []
    for _ in range(_CLAUSE_FUNCTIONS.get(name, 0)):
        brace = text.find("{", after)
        close = _delimiter(text, brace + 1, "}", "{") if brace != -1 else -1
        if close == -1:
            after = len(text)  # CTP ignores the rest of the script after a missing clause
            break
        clauses.append(text[brace + 1:close])
        after = close + 1
    if args == [""]:
        args = []
    return Call(name, tuple(args), tuple(clauses), "@" + text[start:after]), after


def _delimiter(text: str, index: int, delimiters: str, opener: str) -> int:
    """CTP's ``FnCall.getDelimiter``: the closing delimiter at nesting level 0, skipping
    escaped characters, double-quoted text and ``[...]``; ``-1`` when there is none."""
    depth = 1
    brackets = 0
    quoted = escaped = False
    while index < len(text):
        char = text[index]
        if escaped:
            escaped = False
        elif char == ESCAPE:
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == "[":
            brackets += 1
        elif char == "]":
            brackets -= 1
        elif char == opener:
            depth += 1
        elif char in delimiters and brackets == 0:
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def escape_literal(text: str) -> str:
    """Text written so that CTP copies it literally (``@`` and ``\\`` escaped)."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("@", ESCAPE + "@")
