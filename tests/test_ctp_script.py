"""Reading CTP scripts: the XML items as written, and element scripts split as CTP splits them."""

from __future__ import annotations

import pytest

from deid.ctp.script import (
    Call,
    CtpScriptError,
    ExpressionError,
    Literal,
    Piece,
    escape_literal,
    parse_expression,
    parse_script,
)

EXPRESSIONS: list[tuple[str, tuple[Piece, ...]]] = [
    ("@keep()", (Call("keep", (), (), "@keep()"),)),
    ("ANON", (Literal("ANON"),)),
    ("a\\@b", (Literal("a@b"),)),
    ("@hashuid(@UIDROOT,this)",
     (Call("hashuid", ("@UIDROOT", "this"), (), "@hashuid(@UIDROOT,this)"),)),
    ('@contents(this,"a,b(c")',
     (Call("contents", ("this", '"a,b(c"'), (), '@contents(this,"a,b(c")'),)),
    ("@hash(this,[a,b])", (Call("hash", ("this", "[a,b]"), (), "@hash(this,[a,b])"),)),
    ("@if(this,exists){@hash(this)}{@remove()}",
     (Call("if", ("this", "exists"), ("@hash(this)", "@remove()"),
           "@if(this,exists){@hash(this)}{@remove()}"),)),
    ("@always()@append(){X @date()}",
     (Call("always", (), (), "@always()"),
      Call("append", (), ("X @date()",), "@append(){X @date()}"))),
    ("@param(EUCAIM-)@hashptid(@SECRET_KEY,this)@param(^A)",
     (Call("param", ("EUCAIM-",), (), "@param(EUCAIM-)"),
      Call("hashptid", ("@SECRET_KEY", "this"), (), "@hashptid(@SECRET_KEY,this)"),
      Call("param", ("^A",), (), "@param(^A)"))),
    ("Site @param(@SITEID)!", (Literal("Site "), Call("param", ("@SITEID",), (),
                                                       "@param(@SITEID)"), Literal("!"))),
]


@pytest.mark.parametrize(("text", "pieces"), EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_expressions_split_as_ctp_splits_them(text: str, pieces: tuple[Piece, ...]) -> None:
    assert parse_expression(text) == pieces


@pytest.mark.parametrize("text", ["hashuid(@UIDROOT,this)", "@hash(this,10", "@a-b(x)",
                                  "@select{@keep()}"])
def test_scripts_ctp_cannot_run_are_errors(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)


def test_quoted_arguments_lose_their_quotes() -> None:
    call = parse_expression('@contents(this,"[0-9]+","***")')[0]
    assert isinstance(call, Call) and call.arg(1) == "[0-9]+" and call.arg(2) == "***"
    assert call.arg(5) == ""


def test_escaped_literals_read_back_unchanged() -> None:
    text = "a@b\\c"
    assert parse_expression(escape_literal(text)) == (Literal(text),)


SCRIPT = """<script>
 <!-- <e en="T" t="00100010" n="PatientName">@remove()</e> is commented out -->
 <p t="UIDROOT">1.2.3</p>
 <e en="T" t="00100010" n="PatientName">@hash(this,10)</e>
 <e en="F" t="00100020" n="PatientID"/>
 <e en="T" t="00100030" n="PatientBirthDate">@empty()<!--deid {"action": "dummy"}--></e>
 <k en="T" t="0018">Keep group 0018</k>
 <r en="T" t="privategroups">Remove private groups</r>
 <x t="1">unknown</x>
</script>
"""


def test_items_keep_their_order_attributes_and_original_text() -> None:
    script = parse_script(SCRIPT, "s.script")
    assert [item.kind for item in script.items] == ["p", "e", "e", "e", "k", "r", "x"]
    first = script.of_kind("e")[0]
    assert first.raw == '<e en="T" t="00100010" n="PatientName">@hash(this,10)</e>'
    assert first.enabled and first.target == "00100010" and first.text == "@hash(this,10)"
    empty = script.of_kind("e")[1]
    assert not empty.enabled and empty.text == "" and empty.raw.endswith("/>")
    annotated = script.of_kind("e")[2]
    assert annotated.text == "@empty()" and annotated.annotation == '{"action": "dummy"}'


@pytest.mark.parametrize(("text", "words"), [
    ("not xml at all", "not well-formed"),
    ("<profile><e/></profile>", "expected <script>"),
    ('<!DOCTYPE s [<!ENTITY a "b">]><script/>', "DOCTYPE"),
])
def test_unreadable_scripts_raise_one_clear_error(text: str, words: str) -> None:
    with pytest.raises(CtpScriptError, match=words) as error:
        parse_script(text, "bad.script")
    assert str(error.value).startswith("bad.script: ")
