"""Mail replies: which wait or run they answer, their new text, and the answer it gives."""

from __future__ import annotations

import enum
import textwrap
import uuid
from typing import Any, Literal

import pydantic
import pytest

from tarry import errors
from tarry import input as input_module
from tarry.engine import input_spec as engine_input_spec
from tarry.input import RunInput
from tarry.outbound import tokens
from tarry.replies import find, read

KEY = b"k" * 32
WAIT = tokens.ReplyTarget("wait", str(uuid.UUID(int=7)))
RUN = tokens.ReplyTarget("run", str(uuid.UUID(int=9)))


def mail(headers: str, body: str = "Approve\n") -> bytes:
    """A raw mail from header lines and a body (both written without indentation)."""
    text = textwrap.dedent(headers).strip() + "\n\n" + textwrap.dedent(body)
    return text.replace("\n", "\r\n").encode()


def text_of(raw: bytes) -> str:
    return read.reply_text(read.parse_message(raw))


def target_of(headers: str) -> tokens.ReplyTarget | None:
    return find.find_target(read.parse_message(mail(headers)), KEY)


# --- finding the target ---------------------------------------------------------------


def token(target: tokens.ReplyTarget, key: bytes = KEY) -> str:
    return tokens.reply_token(key, target)


@pytest.mark.parametrize("header", ["To", "Cc", "Delivered-To", "X-Original-To"])
def test_the_token_in_a_recipient_address_names_the_target(header: str) -> None:
    found = target_of(
        f"""
        From: Jane <jane@example.com>
        {header}: "Approvals" <tarry+{token(WAIT)}@example.com>
        Subject: Re: approve
        """
    )
    assert found == WAIT


def test_addresses_are_read_in_any_case_and_among_several_recipients() -> None:
    found = target_of(
        f"""
        From: jane@example.com
        To: bob@example.com, "Tarry, Approvals" <Tarry+{token(RUN).upper()}@Example.COM>
        """
    )
    assert found == RUN


def test_in_reply_to_and_references_name_the_target_when_the_address_has_none() -> None:
    by_reply = target_of(
        f"""
        From: jane@example.com
        To: approvals@example.com
        In-Reply-To: <{token(WAIT)}.4f1c2a@example.com>
        """
    )
    by_references = target_of(
        f"""
        From: jane@example.com
        To: approvals@example.com
        References: <CAB1234@mail.gmail.com>
         <{token(RUN)}.aa11@example.com> <other@mail.gmail.com>
        """
    )
    assert (by_reply, by_references) == (WAIT, RUN)


def test_invalid_tokens_are_skipped_and_the_first_valid_one_wins() -> None:
    forged = token(RUN, key=b"another server")
    found = target_of(
        f"""
        From: jane@example.com
        To: tarry+{forged}@example.com, tarry+{token(WAIT)[:-1]}x@example.com
        Cc: tarry+nonsense@example.com
        In-Reply-To: <{token(WAIT)}.1@example.com>
        References: <{token(RUN)}.1@example.com>
        """
    )
    assert found == WAIT


def test_a_mail_without_a_valid_token_has_no_target() -> None:
    assert target_of("From: jane@example.com\nTo: tarry@example.com") is None
    assert target_of("From: jane@example.com\nTo: tarry+@example.com\nIn-Reply-To: junk") is None


def test_envelope_recipients_are_read_first() -> None:
    message = read.parse_message(mail(f"From: a@b.c\nTo: tarry+{token(WAIT)}@x.org"))
    found = find.find_target(message, KEY, recipients=[f"tarry+{token(RUN)}@x.org"])
    assert found == RUN


def test_address_token_is_the_part_after_the_last_plus() -> None:
    assert find.address_token("<tarry+inbox+abc@x.org>") == "abc"
    assert find.address_token("tarry@x.org") is None
    assert find.address_token("tarry+@x.org") is None


def test_the_sender_is_the_from_address() -> None:
    message = read.parse_message(mail('From: "Doe, Jane" <jane@example.com>\nTo: x@y.z'))
    assert find.sender_address(message) == "jane@example.com"
    assert find.sender_address(read.parse_message(mail("To: x@y.z"))) == ""


# --- the new text of real clients' replies --------------------------------------------

GMAIL = mail(
    """
    From: Jane Doe <jane@example.com>
    To: Tarry Approvals <tarry+w00@example.com>
    Subject: Re: [tarry] train-model: approve
    MIME-Version: 1.0
    Content-Type: multipart/alternative; boundary="000000000000a1b2c3"
    """,
    """
    --000000000000a1b2c3
    Content-Type: text/plain; charset="UTF-8"

    Approve, the estimate looks right.

    On Mon, Jun 3, 2024 at 10:15 AM Tarry Approvals <
    tarry+w00@example.com> wrote:

    > Run brisk-otter of train-model is waiting for: approve
    >
    > Answer Approve: http://127.0.0.1:4300/l/abc
    >

    --000000000000a1b2c3
    Content-Type: text/html; charset="UTF-8"
    Content-Transfer-Encoding: quoted-printable

    <div dir=3D"ltr">Approve, the estimate looks right.</div><br><div class=3D"=
    gmail_quote"><div dir=3D"ltr" class=3D"gmail_attr">On Mon, Jun 3, 2024 at 10=
    :15 AM Tarry Approvals &lt;<a href=3D"mailto:tarry+w00@example.com">tarry+w0=
    0@example.com</a>&gt; wrote:<br></div><blockquote class=3D"gmail_quote" styl=
    e=3D"margin:0px 0px 0px 0.8ex">Run <b>brisk-otter</b> is waiting</blockquote=
    ></div>

    --000000000000a1b2c3--
    """,
)


def html_part(raw: bytes) -> str:
    part = read.parse_message(raw).get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def test_gmail_plain_text_loses_the_wrapped_attribution_and_the_quote() -> None:
    assert text_of(GMAIL) == "Approve, the estimate looks right."


def test_gmail_html_loses_the_gmail_quote_block() -> None:
    assert read.html_to_text(html_part(GMAIL)) == "Approve, the estimate looks right."


OUTLOOK = mail(
    """
    From: Jane Doe <jane@example.com>
    To: Tarry Approvals <tarry+w00@example.com>
    Subject: RE: [tarry] train-model: approve
    Content-Type: multipart/alternative; boundary="_000_DB9PR"
    MIME-Version: 1.0
    """,
    """
    --_000_DB9PR
    Content-Type: text/plain; charset="Windows-1252"
    Content-Transfer-Encoding: quoted-printable

    Disapprove =96 too expensive this quarter.

    Jane

    ________________________________
    From: Tarry Approvals <tarry+w00@example.com>
    Sent: Monday, June 3, 2024 10:15 AM
    To: Jane Doe <jane@example.com>
    Subject: [tarry] train-model: approve

    Run brisk-otter of train-model is waiting for: approve

    --_000_DB9PR
    Content-Type: text/html; charset="Windows-1252"
    Content-Transfer-Encoding: quoted-printable

    <html><head><style type=3D"text/css">p {margin:0}</style></head><body>
    <div style=3D"font-family: Aptos">Disapprove =96 too expensive this quarter.</div>
    <div style=3D"font-family: Aptos"><br></div><div>Jane</div>
    <div id=3D"appendonsend"></div><hr style=3D"display:inline-block;width:98%">
    <div id=3D"divRplyFwdMsg" dir=3D"ltr"><font face=3D"Calibri"><b>From:</b> Tarr=
    y Approvals<br><b>Sent:</b> Monday, June 3, 2024 10:15 AM</font></div>
    <div>Run brisk-otter of train-model is waiting for: approve</div>
    </body></html>

    --_000_DB9PR--
    """,
)


def test_outlook_plain_text_loses_the_header_block_and_its_separator() -> None:
    assert text_of(OUTLOOK) == "Disapprove \u2013 too expensive this quarter.\n\nJane"


def test_outlook_html_loses_everything_after_its_reply_marker() -> None:
    text = read.html_to_text(html_part(OUTLOOK))
    assert text == "Disapprove \u2013 too expensive this quarter.\n\nJane"


def test_an_old_outlook_original_message_line_ends_the_reply() -> None:
    body = """
    approve

    -----Original Message-----
    From: Tarry Approvals [mailto:tarry+w00@example.com]
    Sent: Monday, June 03, 2024 10:15 AM
    """
    assert text_of(mail("From: jane@example.com\nTo: x@y.z", body)) == "approve"


APPLE_MAIL_IPHONE = mail(
    """
    From: Jane Doe <jane@example.com>
    Content-Type: text/plain; charset=utf-8
    Content-Transfer-Encoding: quoted-printable
    Mime-Version: 1.0 (1.0)
    Subject: Re: [tarry] train-model: approve
    To: Tarry Approvals <tarry+w00@example.com>
    """,
    """
    Approve=20

    Sent from my iPhone

    > On 3 Jun 2024, at 10:15, Tarry Approvals <tarry+w00@example.com> wrote:
    >=20
    > =EF=BB=BFRun brisk-otter of train-model is waiting for: approve
    """,
)

APPLE_MAIL_HTML = mail(
    """
    From: Jane Doe <jane@example.com>
    Content-Type: text/html; charset=utf-8
    Content-Transfer-Encoding: 7bit
    Subject: Re: [tarry] train-model: approve
    To: Tarry Approvals <tarry+w00@example.com>
    """,
    """
    <html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>
    <body dir="auto"><div>Approve&nbsp;</div><div><br></div><div>Thanks &amp; bye</div>
    <div><br><blockquote type="cite">On 3 Jun 2024, at 10:15, Tarry Approvals
    &lt;tarry+w00@example.com&gt; wrote:<br><br></blockquote></div>
    <blockquote type="cite"><div>Run brisk-otter is waiting</div></blockquote></body></html>
    """,
)


def test_apple_mail_loses_the_quote_and_the_sent_from_my_iphone_line() -> None:
    assert text_of(APPLE_MAIL_IPHONE) == "Approve"


def test_an_html_only_reply_is_read_as_text_without_its_blockquotes() -> None:
    assert text_of(APPLE_MAIL_HTML) == "Approve\n\nThanks & bye"


THUNDERBIRD = mail(
    """
    From: Jane Doe <jane@example.com>
    To: Tarry Approvals <tarry+w00@example.com>
    Subject: Re: [tarry] train-model: approve
    User-Agent: Mozilla Thunderbird
    Content-Type: text/plain; charset=UTF-8; format=flowed
    Content-Transfer-Encoding: 8bit
    """,
    # Flowed lines end with a space where the client wrapped them; "-- " starts the signature.
    "Decision: Approve\n"
    "Code: 1234567\n"
    "Note: the estimate was checked against last month's bill and the new \n"
    "instance prices.\n"
    "\n"
    "-- \n"
    "Jane Doe, Finance\n"
    "\n"
    "On 6/3/24 10:15, Tarry Approvals wrote:\n"
    "> Run brisk-otter of train-model is waiting for: approve\n",
)


def test_thunderbird_flowed_lines_are_joined_and_the_signature_goes() -> None:
    assert text_of(THUNDERBIRD) == (
        "Decision: Approve\nCode: 1234567\nNote: the estimate was checked against last "
        "month's bill and the new instance prices."
    )


def test_thunderbird_attribution_ends_the_reply_when_there_is_no_signature() -> None:
    body = "Approve\n\nOn 03.06.24 10:15, Tarry Approvals wrote:\n> Run brisk-otter\n"
    assert text_of(mail("From: j@x.y\nTo: t@x.y", body)) == "Approve"


def test_flowed_text_with_delsp_joins_without_the_space() -> None:
    raw = mail(
        "From: j@x.y\nTo: t@x.y\nContent-Type: text/plain; format=flowed; delsp=yes",
        "super \ncalifragilistic\n",
    )
    assert text_of(raw) == "supercalifragilistic"


def test_interleaved_quotes_keep_only_the_new_lines() -> None:
    body = """
    > Approve the run?
    Yes
    > Any comment?
    Go ahead
    """
    assert read.strip_quotes(textwrap.dedent(body)) == "Yes\nGo ahead"


def test_german_attribution_and_plain_sentences_about_writing() -> None:
    assert read.strip_quotes("Ja\n\nAm 03.06.2024 um 10:15 schrieb Tarry:\n> Frage") == "Ja"
    assert read.strip_quotes("On reflection, I wrote:\nyes") == "On reflection, I wrote:\nyes"


def test_a_mail_without_text_has_empty_reply_text() -> None:
    raw = mail(
        "From: j@x.y\nTo: t@x.y\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64",
        "JVBERi0=\n",
    )
    assert text_of(raw) == ""


def test_an_unknown_charset_is_read_as_well_as_it_can_be() -> None:
    raw = mail("From: j@x.y\nTo: t@x.y\nContent-Type: text/plain; charset=x-klingon", "Approve\n")
    assert text_of(raw) == "Approve"


# --- answers from text --------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    DARK_GREEN = "dark green"


class Approval(RunInput):
    decision: Literal["Approve", "Disapprove"]
    code: str | None = pydantic.Field(None, title="Authorization code", pattern=r"^[1-9]{7}$")
    note: str = pydantic.Field("", json_schema_extra={"format": "textarea"})
    urgent: bool = False
    amount: int = 0


def schema(wait_for_input: Any) -> dict[str, Any]:
    return input_module.input_spec(wait_for_input).schema


def answered(wait_for_input: Any, text: str) -> Any:
    """The value a reply gives, through the same validation as the form."""
    spec = input_module.input_spec(wait_for_input)
    data = read.parse_answer(spec.schema, text)
    return input_module.to_value(spec, input_module.validate(spec, data))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Yes", True),
        ("yes please", True),
        ("APPROVED.", True),
        ("ok", True),
        ("true", True),
        ("No", False),
        ("reject\nway too expensive", False),
        ("Rejected!", False),
        ("false", False),
    ],
)
def test_a_yes_no_question_takes_the_first_word(text: str, value: bool) -> None:
    assert answered(bool, text) is value


def test_an_unknown_word_for_a_yes_no_question_is_refused_by_validation() -> None:
    assert read.parse_answer(schema(bool), "maybe later") == {"value": "maybe later"}
    with pytest.raises(errors.InputInvalid):
        answered(bool, "maybe later")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Approve", "Approve"),
        ("approve", "Approve"),
        ("DISAPPROVE - over budget", "Disapprove"),
        ("Approve, looks fine\nthanks", "Approve"),
    ],
)
def test_a_choice_takes_the_option_the_first_line_starts_with(text: str, value: str) -> None:
    assert answered(Literal["Approve", "Disapprove"], text) == value


def test_a_one_field_answer_may_name_its_field() -> None:
    class Decision(RunInput):
        decision: Literal["Approve", "Disapprove"]

    assert read.parse_answer(schema(Decision), "Decision: approve") == {"decision": "Approve"}


def test_a_reply_to_an_approval_answers_its_decision_and_leaves_the_comment_out() -> None:
    approval = engine_input_spec.approval_spec().schema
    assert read.parse_answer(approval, "Reject\n\nToo dear this quarter.") == {"value": False}
    assert read.parse_answer(approval, "approve") == {"value": True}
    assert read.parse_answer(approval, "value: no\ncomment: too dear") == {
        "value": False,
        "comment": "too dear",
    }


def test_enum_options_match_by_value_with_spaces() -> None:
    assert answered(Color, "Dark Green please") is Color.DARK_GREEN
    assert answered(Color, "red") is Color.RED


def test_a_nullable_bool_choice_takes_yes_no_words() -> None:
    class Maybe(RunInput):
        ship: bool | None

    assert read.parse_answer(schema(Maybe), "approved") == {"ship": True}
    assert read.parse_answer(schema(Maybe), "No") == {"ship": False}


def test_an_unknown_option_is_kept_for_validation_to_refuse() -> None:
    assert read.parse_answer(schema(Literal["A", "B"]), "Approximately") == {
        "value": "Approximately"
    }
    with pytest.raises(errors.InputInvalid):
        answered(Literal["A", "B"], "Approximately")


def test_a_number_question_takes_the_first_line() -> None:
    assert answered(int, "1500\nthat is my estimate") == 1500
    assert answered(float, " 2.5 ") == 2.5
    assert read.parse_answer(schema(int), "a lot") == {"value": "a lot"}


def test_a_text_question_takes_the_whole_text() -> None:
    assert answered(str, "  Jeff\n\nfrom accounting  ") == "Jeff\n\nfrom accounting"


def test_several_fields_take_field_lines_by_name_or_title_in_any_case() -> None:
    text = """
    DECISION: Approve
    authorization code = 1234567
    - Urgent: yes
    Amount: 1200
    Note: checked against the bill
    and the new prices
    Thanks!
    """
    value = answered(Approval, textwrap.dedent(text))
    assert value == Approval(
        decision="Approve",
        code="1234567",
        urgent=True,
        amount=1200,
        note="checked against the bill\nand the new prices\nThanks!",
    )


def test_several_fields_take_a_json_object() -> None:
    text = '{"decision": "Disapprove", "amount": 3}'
    assert read.parse_answer(schema(Approval), text) == {"decision": "Disapprove", "amount": 3}


def test_fields_a_reply_leaves_out_are_left_to_validation() -> None:
    assert read.parse_answer(schema(Approval), "Sounds good to me") == {}
    with pytest.raises(errors.InputInvalid) as refused:
        answered(Approval, "Sounds good to me")
    assert [e.loc for e in refused.value.field_errors] == [("decision",)]


def test_a_wait_without_fields_takes_no_answer() -> None:
    assert read.parse_answer(None, "OK, go") is None
    assert read.parse_answer({"type": "object", "properties": {}}, "OK") is None
