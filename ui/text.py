"""Text that a file, a profile or a person supplied, made safe for Streamlit's Markdown.

Streamlit renders the body of ``st.markdown``, ``st.write``, ``st.caption``, ``st.error`` and
the other message elements, widget labels and button labels as Markdown: a profile title such
as ``![x](https://attacker.example/pixel.png)`` would make the browser ask another host for an
image, and ``[Session expired: sign in](https://attacker.example)`` would be a real link. Every
message that carries such a string is built with :func:`md` from a template written here, in
the code, with each supplied value escaped (:func:`escape`): every ASCII punctuation character
that could form a link, an image, emphasis, HTML, a directive or a block gets a backslash
(CommonMark shows it as it is), an invisible word joiner breaks what GFM would turn into a
link by itself (``http://``, ``www.``, ``a@b``), and line breaks stay line breaks. Longer
supplied text is shown with :func:`plain` (``st.text``: no Markdown at all) or in a
dataframe.
"""

from __future__ import annotations

import re
import string
from typing import Any

import streamlit as st

#: Characters that make Markdown (or HTML, or Streamlit's directives and LaTeX) wherever they
#: are: links and images need brackets, HTML and autolinks angle brackets.
_ALWAYS = re.compile(r"([\\`*\[\]<>$~|{}])")
#: ``_`` opens emphasis only next to a non-word character (``ps315_basic`` stays as it is).
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
#: What GFM turns into a link without any brackets, found in the text after the Markdown is
#: parsed (so a backslash does not stop it): ``http://…``, ``www.…``, ``a@b.org``. A word
#: joiner (U+2060, invisible, no line break) goes in the middle of each.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9]:)(?=//)|(?<=www)(?=\.)|(?=@)")
WORD_JOINER = "\u2060"
#: What makes a block at the start of a line: a heading, a list, a quote, a rule.
_LINE_START = re.compile(r"^([#+\-=>]|\d+[.)])")


def escape(value: object) -> str:
    """``value`` as Markdown that shows exactly its characters: every character that could
    form a link, an image, HTML, emphasis, code, a directive or a block is backslash-escaped
    (CommonMark shows an escaped character as it is), a word joiner (invisible) splits
    ``http://``, ``www.`` and ``a@b`` so that nothing becomes a link by itself; a line break
    becomes a hard break, with no leading spaces that would make a code block."""
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "  \n".join(_escape_line(line.strip()) for line in lines)


def _escape_line(line: str) -> str:
    line = _ALWAYS.sub(r"\\\1", line)
    line = _UNDERSCORE.sub(r"\\_", line)
    line = _AUTOLINK.sub(WORD_JOINER, line)
    return _LINE_START.sub(lambda match: match.group(0)[:-1] + "\\" + match.group(0)[-1], line)


def code(value: object) -> str:
    """``value`` as a Markdown code span (shown in a monospace font, nothing interpreted):
    fenced with more backticks than it holds, on one line."""
    text = " ".join(str(value).splitlines())
    fence = "`" * (max((len(run) for run in _backtick_runs(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _backtick_runs(text: str) -> list[str]:
    runs, current = [], ""
    for char in text:
        if char == "`":
            current += char
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


class _Code(str):
    """A field already made a code span (``{value!c}`` in a template)."""


class _EscapingFormatter(string.Formatter):
    """A formatter whose fields are formatted first (``{n:,}``), then escaped;
    ``{value!c}`` makes the field a code span instead."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "c":
            return _Code(code(value))
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, _Code):
            return str(value)
        return escape(format(value, format_spec))


_FORMATTER = _EscapingFormatter()


def md(template: str, /, *args: object, **values: object) -> str:
    """Markdown from a template written in the code and escaped values:
    ``md("**{name}**: {n:,} tags", name=profile_id, n=count)``; ``{path!c}`` shows a value as
    a code span. The template's own Markdown (bold, italics) works; nothing in a value can."""
    return _FORMATTER.format(template, *args, **values)


def plain(value: object, **kwargs: Any) -> None:
    """Show supplied text exactly as it is, never as Markdown (``st.text``)."""
    st.text(str(value), **kwargs)


def label_text(value: object) -> str:
    """Our own text for a place that shows it as it is (an option of a select box): without
    the backticks that mark code in Markdown, which would show as they are."""
    return str(value).replace("`", "")
