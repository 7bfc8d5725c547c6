"""Answerers for the chatbot example: any OpenAI-compatible endpoint, or a real offline one.

An answerer turns a question and the conversation so far into a reply:

* :class:`OpenAICompatibleAnswerer` asks a language model over HTTP
  (``POST {base_url}/chat/completions``), for OpenAI, a local llama.cpp or vLLM server, Ollama's
  ``/v1`` and the like;
* :class:`OfflineAnswerer` needs no network and no model: it works out arithmetic, unit
  conversions, dates, word counts and simple text edits, knows a few things about tarry and
  remembers the user's name, and says honestly when a question is beyond it. It is deterministic:
  the same question and history always give the same reply, which keeps replayed runs and tests
  stable.

:func:`answerer_from_settings` picks one. This module reads no environment variables: the caller
passes the settings it read.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any, Literal, Protocol

import httpx

__all__ = [
    "DEFAULT_MODEL",
    "SYSTEM_PROMPT",
    "Answerer",
    "AnswererError",
    "OfflineAnswerer",
    "OpenAICompatibleAnswerer",
    "Turn",
    "answerer_from_settings",
]

DEFAULT_MODEL = "gpt-4o-mini"
"""The model asked when a URL is configured without one."""


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: Literal["user", "assistant"]
    """Who said it: the person chatting, or the answerer."""
    text: str
    """What was said."""


class Answerer(Protocol):
    """Anything that can reply to a question in the context of a conversation."""

    def answer(self, question: str, history: Sequence[Turn]) -> str:
        """Reply to `question`.

        Args:
            question: The user's new message.
            history: The conversation before it, oldest first.

        Returns:
            The reply's text.
        """
        ...


class AnswererError(Exception):
    """The answerer could not produce a reply (the endpoint failed, timed out or answered
    something that is not a chat completion)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        """The HTTP status the endpoint answered with, when it answered at all."""


# --- offline: a dispatcher over small skills -----------------------------------------------

_Skill = Callable[[str, Sequence[Turn]], str | None]
"""A capability: the reply to a question it understands, `None` for any other question."""

_CAPABILITIES = (
    "Offline I can do arithmetic, unit conversions (km/mi, kg/lb, °C/°F, m/ft), dates, word "
    "counts, reversing or upper-casing text, and questions about tarry."
)

_INTRODUCTION = re.compile(
    r"\b(?:my name is|my name's|i am called|i'm called)\s+"
    # Later words only when capitalized: "my name is Ann and ..." is Ann.
    r"(?P<name>[^\W\d_][\w'\u2019-]*(?:\s+(?-i:[A-Z])[\w'\u2019-]*){0,2})",
    re.IGNORECASE,
)
_NAME_QUESTION = re.compile(
    r"\b(?:what(?:'s| is) my name|do you (?:know|remember) my name|who am i)\b", re.IGNORECASE
)


def _name_in(text: str) -> str | None:
    match = _INTRODUCTION.search(text)
    if match is None:
        return None
    name = match["name"]
    return name.title() if name.islower() else name


def _remembered_name(history: Sequence[Turn]) -> str | None:
    for turn in reversed(history):
        if turn.role == "user" and (name := _name_in(turn.text)) is not None:
            return name
    return None


def _names(question: str, history: Sequence[Turn]) -> str | None:
    """Learn the user's name from "my name is ..." and tell it back later."""
    if _NAME_QUESTION.search(question):
        name = _remembered_name(history)
        if name is None:
            return "You haven't told me your name yet. Say “my name is …” and I'll remember it."
        return f"Your name is {name}."
    name = _name_in(question)
    return None if name is None else f"Nice to meet you, {name}! What can I do for you?"


_GREETING = re.compile(
    r"(?:hi|hello|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day))"
    r"(?: there| tarry| bot| again| everyone)*"
)
_THANKS = re.compile(
    r"(?:thanks|thank you|thx|ty|cheers|many thanks)(?: (?:so|very) much| a lot| again| tarry)*"
)
_GOODBYE = re.compile(r"(?:bye|goodbye|bye bye|see you|see ya|good night)(?: later| tarry)*")
_HOW_ARE_YOU = re.compile(r"how are you(?: doing)?(?: today)?")


def _small_talk(question: str, history: Sequence[Turn]) -> str | None:
    """Answer greetings, thanks and goodbyes (only when the message is nothing else)."""
    words = " ".join(re.sub(r"[^\w\s']", " ", question.lower()).split())
    name = _remembered_name(history)
    if _GREETING.fullmatch(words):
        hello = f"Hello again, {name}!" if name else "Hello!"
        return f"{hello} {_CAPABILITIES}"
    if _THANKS.fullmatch(words):
        return "You're welcome!"
    if _GOODBYE.fullmatch(words):
        return f"Goodbye, {name}!" if name else "Goodbye!"
    if _HOW_ARE_YOU.fullmatch(words):
        return "I'm a small offline program, so I'm always fine. What can I do for you?"
    return None


# --- text: counts, reversing, changing case -----------------------------------------------

_QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019", "`": "`"}
_COUNT = re.compile(
    r"(?:how many|count(?: the)?|number of)\s+(?P<what>words|characters|chars|letters)\s+"
    r"(?:are\s+)?(?:there\s+)?(?:in|of)\b\s*(?:the\s+(?:text|sentence|string)\b)?\s*:?\s*"
    r"(?P<text>.+)",
    re.IGNORECASE | re.DOTALL,
)
_WORD_COUNT = re.compile(
    r"(?P<what>word|character|letter) count (?:of|for|in)\b\s*:?\s*(?P<text>.+)",
    re.IGNORECASE | re.DOTALL,
)
_POLITE = r"(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?"
_REVERSE = re.compile(
    rf"{_POLITE}reverse\s+(?:(?:the\s+)?(?:(?P<words>words)\s+(?:in|of)|text|string|"
    r"(?:letters|characters)\s+(?:in|of))\b)?\s*:?\s*(?P<text>.+)",
    re.IGNORECASE | re.DOTALL,
)
_CASE_WORDS = r"(?P<case>upper|lower)\s*-?\s*case|all\s+(?:caps|capitals)"
_CASE_FIRST = re.compile(
    rf"{_POLITE}(?:{_CASE_WORDS})\s*(?:the\s+(?:text|string)\s+)?:?\s*(?P<text>.+)",
    re.IGNORECASE | re.DOTALL,
)
_CASE_LAST = re.compile(
    rf"{_POLITE}(?:make|convert|turn|change|put|write)\s+(?P<text>.+?)\s+"
    rf"(?:(?:to|in|into)\s+)?(?:{_CASE_WORDS})[.!?]*",
    re.IGNORECASE | re.DOTALL,
)
_WORD = re.compile(r"\w+(?:['\u2019-]\w+)*")


def _payload(text: str) -> str:
    """The text a command works on: inside its quotes, or without the final question mark."""
    text = text.strip()
    closing = _QUOTES.get(text[:1])
    if closing and len(text) > 1:
        end = text.rfind(closing)
        if end > 0:
            return text[1:end]
    return text.rstrip("?").rstrip()


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _counts(question: str, history: Sequence[Turn]) -> str | None:
    """Count the words, characters or letters of a text."""
    match = _COUNT.fullmatch(question.strip()) or _WORD_COUNT.fullmatch(question.strip())
    if match is None:
        return None
    text, what = _payload(match["text"]), match["what"].lower()
    if what.startswith("word"):
        return f"“{text}” has {_plural(len(_WORD.findall(text)), 'word')}."
    if what.startswith("letter"):
        return f"“{text}” has {_plural(sum(c.isalpha() for c in text), 'letter')}."
    without_spaces = sum(not c.isspace() for c in text)
    return f"“{text}” has {_plural(len(text), 'character')} ({without_spaces} without spaces)."


def _text_edits(question: str, history: Sequence[Turn]) -> str | None:
    """Reverse a text (its characters, or its words), or change it to upper or lower case."""
    question = question.strip()
    if (match := _REVERSE.fullmatch(question)) is not None:
        text = _payload(match["text"])
        return " ".join(reversed(text.split())) if match["words"] else text[::-1]
    match = _CASE_FIRST.fullmatch(question) or _CASE_LAST.fullmatch(question)
    if match is None:
        return None
    text = _payload(match["text"])
    return text.lower() if (match["case"] or "").lower() == "lower" else text.upper()


# --- units ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    kind: str
    singular: str
    plural: str
    factor: float = 1.0
    """How many of the kind's base unit (metre, kilogram) one of this is."""


_UNITS: dict[str, _Unit] = {}
for _aliases, _each in (
    (("km", "kilometer", "kilometers", "kilometre", "kilometres"),
     _Unit("length", "kilometer", "kilometers", 1000.0)),
    (("m", "meter", "meters", "metre", "metres"), _Unit("length", "meter", "meters")),
    (("cm", "centimeter", "centimeters", "centimetre", "centimetres"),
     _Unit("length", "centimeter", "centimeters", 0.01)),
    (("mi", "mile", "miles"), _Unit("length", "mile", "miles", 1609.344)),
    (("ft", "foot", "feet"), _Unit("length", "foot", "feet", 0.3048)),
    (("inch", "inches"), _Unit("length", "inch", "inches", 0.0254)),
    (("yd", "yard", "yards"), _Unit("length", "yard", "yards", 0.9144)),
    (("kg", "kilo", "kilos", "kilogram", "kilograms", "kilogramme", "kilogrammes"),
     _Unit("mass", "kilogram", "kilograms")),
    (("g", "gram", "grams", "gramme", "grammes"), _Unit("mass", "gram", "grams", 0.001)),
    (("lb", "lbs", "pound", "pounds"), _Unit("mass", "pound", "pounds", 0.45359237)),
    (("oz", "ounce", "ounces"), _Unit("mass", "ounce", "ounces", 0.028349523125)),
    (("c", "°c", "celsius", "centigrade"), _Unit("temperature", "°C", "°C")),
    (("f", "°f", "fahrenheit"), _Unit("temperature", "°F", "°F")),
    (("kelvin", "kelvins"), _Unit("temperature", "K", "K")),
):  # fmt: skip
    _UNITS.update(dict.fromkeys(_aliases, _each))

_UNIT = r"(?:degrees?\s+)?(?:{})(?![a-z])".format(
    "|".join(re.escape(a) for a in sorted(_UNITS, key=len, reverse=True))
)
_NUMBER = r"-?\d+(?:\.\d+)?"
_CONVERSIONS = (
    re.compile(
        rf"(?P<n>{_NUMBER})\s*(?P<src>{_UNIT})\s+(?:to|in|into|as)\s+(?P<dst>{_UNIT})",
        re.IGNORECASE,
    ),
    re.compile(
        rf"how\s+many\s+(?P<dst>{_UNIT})\b.*?(?P<n>{_NUMBER})\s*(?P<src>{_UNIT})", re.IGNORECASE
    ),
)


def _unit(text: str) -> _Unit:
    return _UNITS[re.sub(r"^degrees?\s+", "", text.lower())]


def _to_celsius(value: float, unit: _Unit) -> float:
    return {"°C": value, "°F": (value - 32) * 5 / 9}.get(unit.singular, value - 273.15)


def _from_celsius(value: float, unit: _Unit) -> float:
    return {"°C": value, "°F": value * 9 / 5 + 32}.get(unit.singular, value + 273.15)


def _format_float(value: float) -> str:
    """Two decimals for everyday sizes, four significant digits for small ones."""
    text = f"{value:.2f}" if abs(value) >= 0.1 or value == 0 else f"{value:.4g}"
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _conversions(question: str, history: Sequence[Turn]) -> str | None:
    """Convert lengths, masses and temperatures between units."""
    match = next((m for p in _CONVERSIONS if (m := p.search(question)) is not None), None)
    if match is None:
        return None
    value, src, dst = float(match["n"]), _unit(match["src"]), _unit(match["dst"])
    if src.kind != dst.kind:
        return (
            f"I can't convert {src.plural} to {dst.plural}: "
            f"one is a {src.kind}, the other a {dst.kind}."
        )
    if src.kind == "temperature":
        result = _from_celsius(_to_celsius(value, src), dst)
    else:
        result = value * src.factor / dst.factor
    src_name = src.singular if value == 1 else src.plural
    dst_name = dst.singular if round(result, 2) == 1 else dst.plural
    return f"{match['n']} {src_name} is {_format_float(result)} {dst_name}."


# --- dates ---------------------------------------------------------------------------------

_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_SHIFT = re.compile(
    r"(?P<n>\d+)\s+(?P<unit>days?|weeks?)\s+(?P<dir>after|before|from)\s+(?P<date>\d{4}-\d{2}-\d{2})",
    re.IGNORECASE,
)


# Not `calendar.day_name`: that follows the process's locale, and replies must not.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _long(day: dt.date) -> str:
    return f"{_WEEKDAYS[day.weekday()]}, {day.isoformat()}"


def _dates(question: str, history: Sequence[Turn]) -> str | None:
    """Day of the week of an ISO date, days between two dates, a date plus or minus days."""
    texts = _DATE.findall(question)
    if not texts:
        return None
    days = []
    for text in texts:
        try:
            days.append(dt.date.fromisoformat(text))
        except ValueError:
            return f"{text} is not a valid date (ISO dates are YYYY-MM-DD)."
    if (shift := _SHIFT.search(question)) is not None:
        count = int(shift["n"]) * (7 if shift["unit"].lower().startswith("week") else 1)
        sign = -1 if shift["dir"].lower() == "before" else 1
        try:
            moved = dt.date.fromisoformat(shift["date"]) + dt.timedelta(days=sign * count)
        except OverflowError:
            return "That date is outside the calendar I know (years 1 to 9999)."
        return f"{shift.group(0)} is {_long(moved)}."
    if len(days) >= 2:
        first, second = days[0], days[1]
        between = abs((second - first).days)
        return f"{first} and {second} are {_plural(between, 'day')} apart."
    return f"{days[0]} is a {_WEEKDAYS[days[0].weekday()]}."


# --- arithmetic ----------------------------------------------------------------------------

_MAX_EXPRESSION_LENGTH = 200
"""Longer expressions are refused before they are parsed."""
_MAX_NUMBER_DIGITS = 50
"""Numbers written with more digits are refused."""
_MAX_EXPONENT = 1000
"""Larger (absolute) exponents are refused before anything is computed."""
_MAX_RESULT_BITS = 3400
"""Intermediate results may not need more bits than this (about 1,000 decimal digits)."""

_ARITHMETIC_PREFIX = re.compile(
    r"^(?:(?:please\s+)?(?P<verb>calculate|compute|evaluate|work\s+out|solve)|what\s+is|what's|"
    r"how\s+much\s+is)\s*:?\s*",
    re.IGNORECASE,
)
_WORD_OPERATORS = (
    (r"\bmultiplied\s+by\b|\btimes\b|\u00d7", "*"),
    (r"\bdivided\s+by\b|\bover\b|\u00f7", "/"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"\bmod(?:ulo)?\b", "%"),
    (r"\bto\s+the\s+power\s+of\b|\^", "**"),
    (r"(?<=\d)(?<!\b0)\s*x\s*(?=[\d(])", "*"),  # 3 x 4 and 3x4, but not 0x10
    (r"(?<=\d),(?=\d{3}\b)", ""),
)
_LOOKS_ARITHMETIC = re.compile(r"^[\d\s.+\-*/%()]*\d[\d\s.+\-*/%()]*$")
_OPERATORS: dict[type[ast.operator], Callable[[Fraction, Fraction], Fraction]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: Fraction(a // b),
    ast.Mod: lambda a, b: a % b,
}
_REFUSAL = "I only work out arithmetic: numbers, + - * / // % ** and parentheses."


class _Refused(Exception):
    """An expression the evaluator will not compute; the message is the polite reply."""


class _Evaluator:
    """Exact arithmetic on fractions over a parsed expression, with size limits."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.exact = True

    def value(self, node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return self.value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            if isinstance(node.value, bool):  # True and False are ints, not numbers one typed
                raise _Refused(_REFUSAL)
            return self._number(node, node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            operand = self.value(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(node.op, ast.Pow):
                return self._checked(self._power(left, right))
            operator = _OPERATORS.get(type(node.op))
            if operator is not None:
                return self._checked(operator(left, right))
        raise _Refused(_REFUSAL)

    def _number(self, node: ast.Constant, value: float) -> Fraction:
        # The source text, not the float, so that 0.1 is exactly one tenth.
        text = ast.get_source_segment(self.source, node) or repr(node.value)
        if sum(c.isdigit() for c in text) > _MAX_NUMBER_DIGITS:
            raise _Refused(f"I only take numbers of up to {_MAX_NUMBER_DIGITS} digits.")
        try:
            return Fraction(text)
        except ValueError:  # 0x10, 1_000: the parsed value is exact for these
            return Fraction(value)

    def _power(self, base: Fraction, exponent: Fraction) -> Fraction:
        if abs(exponent) > _MAX_EXPONENT:
            raise _Refused(f"That exponent is too large: I stop at {_MAX_EXPONENT}.")
        if exponent.denominator == 1:
            # Estimated before computing: 9 ** 999 ** 999 must not even start.
            magnitude = max(abs(base.numerator), base.denominator)
            if math.log2(magnitude) * abs(exponent.numerator) > _MAX_RESULT_BITS:
                raise _Refused("That number would be too large to write out.")
            return base**exponent.numerator
        if base < 0:
            raise _Refused("A fractional power of a negative number has no real value.")
        self.exact = False
        try:
            return Fraction(float(base) ** float(exponent))
        except (OverflowError, ValueError) as exc:
            raise _Refused("That number would be too large to write out.") from exc

    @staticmethod
    def _checked(result: Fraction) -> Fraction:
        if max(result.numerator.bit_length(), result.denominator.bit_length()) > _MAX_RESULT_BITS:
            raise _Refused("That number would be too large to write out.")
        return result


def _format_fraction(value: Fraction) -> tuple[str, bool]:
    """The value as decimal text, and whether that text is exact."""
    if value.denominator == 1:
        return str(value.numerator), True
    with localcontext() as context:
        context.prec = 12
        decimal = (Decimal(value.numerator) / Decimal(value.denominator)).normalize()
    return str(decimal), Fraction(decimal) == value


def _expression(question: str) -> str | None:
    """The arithmetic in a question: after "calculate" anything, else only digits and operators."""
    text = question.strip().rstrip("?.!=").strip()
    prefix = _ARITHMETIC_PREFIX.match(text)
    explicit = prefix is not None and prefix["verb"] is not None
    text = text[prefix.end() :] if prefix else text
    for pattern, replacement in _WORD_OPERATORS:
        text = re.sub(pattern, replacement, text, flags=re.IGNORECASE)
    text = text.strip()
    return text if explicit or _LOOKS_ARITHMETIC.fullmatch(text) else None


def _arithmetic(question: str, history: Sequence[Turn]) -> str | None:
    """Work out + - * / // % ** with parentheses and decimals, exactly, without `eval`."""
    expression = _expression(question)
    if expression is None:
        return None
    if len(expression) > _MAX_EXPRESSION_LENGTH:
        return f"That expression is too long: I read up to {_MAX_EXPRESSION_LENGTH} characters."
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return f"I couldn't read that as arithmetic. {_REFUSAL}"
    evaluator = _Evaluator(expression)
    try:
        result = evaluator.value(tree)
    except _Refused as refusal:
        return str(refusal)
    except ZeroDivisionError:
        return "Dividing by zero has no answer."
    text, exact = _format_fraction(result)
    sign = "=" if exact and evaluator.exact else "≈"
    return f"{ast.unparse(tree)} {sign} {text}"


# --- what the offline answerer knows about tarry ------------------------------------------


@dataclass(frozen=True)
class _Fact:
    triggers: tuple[re.Pattern[str], ...]
    """Every one of these must match the question."""
    answer: str


def _fact(answer: str, *triggers: str) -> _Fact:
    return _Fact(tuple(re.compile(t, re.IGNORECASE) for t in triggers), " ".join(answer.split()))


_FACTS = (
    _fact(
        """A waiting run is answered with `resume_flow_run(run_id, run_input)` from Python, with
        `tarry inputs ls` then `tarry resume RUN_ID --input JSON` (or `--set field=value`) from
        the shell, in the inbox of `tarry server`'s web UI, through the REST API
        (`POST /api/inputs/{wait_id}/answer`) or with `tarry.get_client()`. The answer is
        validated against the input model first, and the first valid answer wins.""",
        r"\b(?:answer|resume|respond|reply)",
        r"\b(?:wait|waiting|run|flow|input|question|pause|paused|suspended)\b",
    ),
    _fact(
        """`tarry server` is one process with the web UI (an inbox of open questions with answer
        forms, the run list and each run's steps and logs), the REST API under /api, the timers
        and an embedded worker, on http://127.0.0.1:4300 by default. `--deploy ENTRYPOINT`
        registers a flow as a deployment and `--demo` starts one run of each.""",
        r"\bserver\b",
    ),
    _fact(
        """Call `pause_flow_run(...)` in the flow body: `name = pause_flow_run(str)` waits for an
        answer of that type (a `RunInput`, a pydantic model or a plain type), costs nothing while
        it waits and returns the validated answer. `timeout=` (3600 s by default) and
        `on_timeout=` say what happens when nobody answers; `suspend_flow_run(...)` is the same
        but takes the run out of memory at once.""",
        r"\b(?:pause|pausing|suspend|wait for (?:an? )?(?:input|answer|person|human))",
    ),
    _fact(
        """Every task a flow calls is recorded in the run's journal, and each run is leased to the
        process executing it. When that process dies, `tarry worker` (or the worker inside
        `tarry server`) takes the run over, at once on the same host, and replays it: finished
        steps come from the journal, the rest run.""",
        r"\b(?:crash|crashes|crashed|recover|recovery|killed|dies|died)\b",
    ),
    _fact(
        """tarry is a Python library for durable, human-in-the-loop workflows. A workflow is a
        plain function decorated with `@flow`; every `@task` it calls is recorded, so a run that
        crashes or is retried continues where it stopped and never repeats a finished step. When
        it needs a person it waits, typed and validated, for free, and resumes the moment someone
        answers. Everything runs on an embedded SQLite file.""",
        r"\btarry\b",
        r"\b(?:what|about|explain|describe|who)\b",
    ),
)


def _tarry_facts(question: str, history: Sequence[Turn]) -> str | None:
    """Answer simple questions about tarry from a small built-in knowledge base."""
    for fact in _FACTS:
        if all(t.search(question) for t in fact.triggers):
            return fact.answer
    return None


# --- the offline answerer ------------------------------------------------------------------

_SKILLS: tuple[_Skill, ...] = (
    _names,
    _small_talk,
    _counts,
    _text_edits,
    _conversions,
    _dates,
    _arithmetic,
    _tarry_facts,
)


class OfflineAnswerer:
    """Real answers without a network: each skill in turn, the first that understands wins.

    No randomness, no clock and no state beyond `history`: the same question and history give
    the same reply.
    """

    def answer(self, question: str, history: Sequence[Turn]) -> str:
        """Reply to `question` with the first skill that understands it.

        Args:
            question: The user's new message.
            history: The conversation before it, oldest first (used to remember the user's name).

        Returns:
            The reply, or an honest "I can't answer that offline" with what would help.
        """
        if not question.strip():
            return f"Ask me something! {_CAPABILITIES}"
        for skill in _SKILLS:
            reply = skill(question, history)
            if reply is not None:
                return reply
        return (
            "I can't answer that offline; configure TARRY_CHATBOT_URL to use a language model. "
            + _CAPABILITIES
        )


# --- any OpenAI-compatible endpoint -------------------------------------------------------

SYSTEM_PROMPT = (
    "You are the assistant of a chat run by tarry, a Python library for durable, "
    "human-in-the-loop workflows. Answer briefly and plainly."
)
"""The first message of every request to the language model."""


class OpenAICompatibleAnswerer:
    """Asks a chat-completions endpoint (OpenAI's API or any server that mimics it)."""

    def __init__(
        self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30
    ) -> None:
        """Configure the endpoint; nothing is sent until `answer`.

        Args:
            base_url: The API root, e.g. `https://api.openai.com/v1` or
                `http://127.0.0.1:11434/v1`; `/chat/completions` is appended.
            model: The model to ask.
            api_key: Sent as a bearer token when given.
            timeout: Seconds to wait for the whole reply.

        Raises:
            ValueError: `base_url` is not an http(s) URL, or `timeout` is not positive.
        """
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, not {base_url!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _request_body(self, question: str, history: Sequence[Turn]) -> dict[str, Any]:
        messages = [{"role": "system", "content": SYSTEM_PROMPT}]
        messages += [{"role": turn.role, "content": turn.text} for turn in history]
        messages.append({"role": "user", "content": question})
        return {"model": self.model, "messages": messages}

    def answer(self, question: str, history: Sequence[Turn]) -> str:
        """Ask the model and return its reply.

        Args:
            question: The user's new message.
            history: The conversation before it, oldest first.

        Returns:
            `choices[0].message.content` of the completion.

        Raises:
            AnswererError: The endpoint could not be reached, timed out, answered with an HTTP
                error, or answered something that is not a chat completion.
        """
        body = self._request_body(question, history)
        try:
            response = httpx.post(self.url, json=body, headers=self._headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise AnswererError(f"{self.url} did not answer within {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise AnswererError(f"could not reach {self.url}: {exc}") from exc
        if response.is_error:
            raise AnswererError(
                f"{self.url} answered HTTP {response.status_code}: {_error_detail(response)}",
                status_code=response.status_code,
            )
        return _completion_text(response, self.url)


def _error_detail(response: httpx.Response) -> str:
    """The endpoint's own error message when it sent one, else the start of its body."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError, IndexError):
        message = None
    text = message if isinstance(message, str) else response.text
    return " ".join(text.split())[:300] or response.reason_phrase


def _completion_text(response: httpx.Response, url: str) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise AnswererError(
            f"{url} did not answer with a chat completion (no choices[0].message.content): "
            f"{' '.join(response.text.split())[:200]!r}",
            status_code=response.status_code,
        ) from exc
    if not isinstance(content, str):
        raise AnswererError(
            f"{url} answered a completion without text (content is {type(content).__name__})",
            status_code=response.status_code,
        )
    return content


def answerer_from_settings(url: str | None, model: str | None, api_key: str | None) -> Answerer:
    """The answerer the settings ask for.

    Args:
        url: An OpenAI-compatible API root; `None` or empty for the offline answerer.
        model: The model to ask; `DEFAULT_MODEL` when `None` or empty.
        api_key: The endpoint's key, if it needs one.

    Returns:
        An `OpenAICompatibleAnswerer` when `url` is set, else an `OfflineAnswerer`.

    Raises:
        ValueError: `url` is set but is not an http(s) URL.
    """
    if url and url.strip():
        return OpenAICompatibleAnswerer(url.strip(), model or DEFAULT_MODEL, api_key or None)
    return OfflineAnswerer()
