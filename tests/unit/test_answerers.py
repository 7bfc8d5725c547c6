"""The chatbot example's answerers: the offline one's skills, and an OpenAI-compatible endpoint.

`examples/` is not a package (its scripts are run by path), so the module is loaded from its
file; its names are therefore `Any` to mypy here.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT


def _load_answerers() -> ModuleType:
    name = "_tarry_example_answerers"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "examples" / "messaging" / "answerers.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: dataclasses look their module up while they are created.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


answerers = _load_answerers()
Turn = answerers.Turn
OFFLINE = answerers.OfflineAnswerer()
CANNOT = "I can't answer that offline; configure TARRY_CHATBOT_URL"


def ask(question: str, history: list[Any] | None = None) -> str:
    reply = OFFLINE.answer(question, history or [])
    assert isinstance(reply, str)
    return str(reply)


# --- arithmetic ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("what is 12 * (3 + 4)?", "12 * (3 + 4) = 84"),
        ("What's 12*(3+4)", "12 * (3 + 4) = 84"),
        ("12 * (3 + 4)", "12 * (3 + 4) = 84"),
        ("calculate 2 + 3 * 4", "2 + 3 * 4 = 14"),
        ("compute (2 + 3) * 4 =", "(2 + 3) * 4 = 20"),
        ("how much is 7 - 10?", "7 - 10 = -3"),
        ("what is 0.1 + 0.2?", "0.1 + 0.2 = 0.3"),  # exact, not 0.30000000000000004
        ("what is 10 / 4", "10 / 4 = 2.5"),
        ("what is 1 / 3", "1 / 3 ≈ 0.333333333333"),
        ("what is 7 // 2", "7 // 2 = 3"),
        ("what is -7 // 2", "-7 // 2 = -4"),
        ("what is 7 % 3", "7 % 3 = 1"),
        ("what is 2 ** 10", "2 ** 10 = 1024"),
        ("what is 2 ^ 10", "2 ** 10 = 1024"),
        ("what is 2 ** -2", "2 ** (-2) = 0.25"),
        ("what is 2 ** 0.5", "2 ** 0.5 ≈ 1.41421356237"),
        ("what is 2 ** 100", f"2 ** 100 = {2**100}"),
        ("what is -(3 - 5) * 1.5", "-(3 - 5) * 1.5 = 3"),
        ("what is 3 x 4", "3 * 4 = 12"),
        ("what is 5 plus 6 times 2?", "5 + 6 * 2 = 17"),
        ("what is 9 divided by 4", "9 / 4 = 2.25"),
        ("what is 2 to the power of 8", "2 ** 8 = 256"),
        ("what is 1,000 * 3", "1000 * 3 = 3000"),
        ("calculate 0x10 + 1", "16 + 1 = 17"),
    ],
)
def test_arithmetic(question: str, reply: str) -> None:
    assert ask(question) == reply


@pytest.mark.parametrize(
    ("question", "refusal"),
    [
        ("what is 5 / 0", "Dividing by zero has no answer."),
        ("what is 0 ** -1", "Dividing by zero has no answer."),
        ("what is 2 ** 100000", "That exponent is too large: I stop at 1000."),
        ("what is 9 ** 9 ** 9", "That exponent is too large"),
        ("what is 99 ** 999", "too large to write out"),
        ("what is 10 ** 999 * 10 ** 999", "too large to write out"),
        ("what is (-8) ** 0.5", "no real value"),
        ("calculate " + "9" * 51, "numbers of up to 50 digits"),
        ("calculate " + "1 + " * 60 + "1", "too long"),
        ("calculate " + "(" * 90 + "1" + ")" * 90, "1 = 1"),
        ("calculate 1 +", "I couldn't read that as arithmetic"),
        ("calculate __import__('os')", "I only work out arithmetic"),
        ("calculate (1).__class__", "I only work out arithmetic"),
        ("calculate x + 1", "I only work out arithmetic"),
        ("calculate True + 1", "I only work out arithmetic"),
        ("calculate 'a' * 3", "I only work out arithmetic"),
        ("calculate [1] * 3", "I only work out arithmetic"),
        ("calculate 1 if 1 else 2", "I only work out arithmetic"),
        ("calculate 1 < 2", "I only work out arithmetic"),
        ("calculate 1j", "I only work out arithmetic"),
        ("calculate lambda: 1", "I only work out arithmetic"),
        ("what is (1).__class__.__bases__", CANNOT),
        ("what is __import__('os').getcwd()", CANNOT),
    ],
)
def test_arithmetic_refuses_politely(question: str, refusal: str) -> None:
    assert refusal in ask(question)


def test_arithmetic_never_runs_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for question in (
        f"calculate __import__('os').system('touch {marker}')",
        f"calculate open('{marker}', 'w')",
        f"what is __import__('pathlib').Path('{marker}').touch()",
    ):
        ask(question)
    assert not marker.exists()


# --- units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("convert 10 km to miles", "10 kilometers is 6.21 miles."),
        ("How many miles is 10 km?", "10 kilometers is 6.21 miles."),
        ("10 kilometres in miles", "10 kilometers is 6.21 miles."),
        ("convert 1 mile to km", "1 mile is 1.61 kilometers."),
        ("convert 5 kg to lb", "5 kilograms is 11.02 pounds."),
        ("how many pounds are in 2 kilograms", "2 kilograms is 4.41 pounds."),
        ("convert 1 lb to kg", "1 pound is 0.45 kilograms."),
        ("convert 100 °F to °C", "100 °F is 37.78 °C."),
        ("what is -40 degrees celsius in fahrenheit?", "-40 °C is -40 °F."),
        ("20 C to F", "20 °C is 68 °F."),
        ("convert 0 kelvin to celsius", "0 K is -273.15 °C."),
        ("convert 3 m to ft", "3 meters is 9.84 feet."),
        ("how many feet in 1 meter?", "1 meter is 3.28 feet."),
        ("convert 6.5 feet to meters", "6.5 feet is 1.98 meters."),
        ("convert 1 m to km", "1 meter is 0.001 kilometers."),
    ],
)
def test_unit_conversions(question: str, reply: str) -> None:
    assert ask(question) == reply


def test_unit_conversion_between_kinds_is_refused() -> None:
    assert ask("convert 10 km to kg") == (
        "I can't convert kilometers to kilograms: one is a length, the other a mass."
    )


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("what day is 2026-12-25?", "2026-12-25 is a Friday."),
        ("What day of the week was 1969-07-20", "1969-07-20 is a Sunday."),
        ("2000-02-29", "2000-02-29 is a Tuesday."),
        (
            "how many days between 2026-01-01 and 2026-12-25?",
            "2026-01-01 and 2026-12-25 are 358 days apart.",
        ),
        (
            "days from 2026-12-25 to 2026-01-01",
            "2026-12-25 and 2026-01-01 are 358 days apart.",
        ),
        (
            "days between 2026-03-01 and 2026-03-02",
            "2026-03-01 and 2026-03-02 are 1 day apart.",
        ),
        (
            "what is 100 days after 2026-01-01?",
            "100 days after 2026-01-01 is Saturday, 2026-04-11.",
        ),
        ("2 weeks before 2026-03-01", "2 weeks before 2026-03-01 is Sunday, 2026-02-15."),
        ("is 2026-02-30 a Monday?", "2026-02-30 is not a valid date (ISO dates are YYYY-MM-DD)."),
        ("1 day after 9999-12-31", "That date is outside the calendar I know (years 1 to 9999)."),
        ("9999999999 days after 2026-01-01", "That date is outside the calendar I know"),
    ],
)
def test_dates(question: str, reply: str) -> None:
    assert ask(question).startswith(reply)


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ('how many words in "the quick brown fox"?', "“the quick brown fox” has 4 words."),
        (
            "How many words are in the sentence: hello there, general Kenobi",
            "“hello there, general Kenobi” has 4 words.",
        ),
        ("count the words in: one two three", "“one two three” has 3 words."),
        ("word count of 'a b c d'", "“a b c d” has 4 words."),
        ("number of words in don't stop-believing", "“don't stop-believing” has 2 words."),
        ("how many words in 'one'", "“one” has 1 word."),
        (
            'how many characters in "hello world"',
            "“hello world” has 11 characters (10 without spaces).",
        ),
        ("count the chars in abc", "“abc” has 3 characters (3 without spaces)."),
        ("how many letters in strawberry?", "“strawberry” has 10 letters."),
        ("how many words in 'what is 2 + 2?'", "“what is 2 + 2?” has 4 words."),
    ],
)
def test_counts(question: str, reply: str) -> None:
    assert ask(question) == reply


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("reverse hello world", "dlrow olleh"),
        ("Reverse 'hello world'", "dlrow olleh"),
        ("please reverse the text: abc", "cba"),
        ("can you reverse “stressed”?", "desserts"),
        ("reverse the words in 'one two three'", "three two one"),
        ("reverse textbook", "koobtxet"),
        ("uppercase hello world", "HELLO WORLD"),
        ("upper-case: tarry", "TARRY"),
        ('make "hello" uppercase', "HELLO"),
        ("convert 'shout this' to upper case", "SHOUT THIS"),
        ("write quiet please in all caps", "QUIET PLEASE"),
        ("lowercase HELLO", "hello"),
    ],
)
def test_text_edits(question: str, reply: str) -> None:
    assert ask(question) == reply


# --- tarry, small talk, names --------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is tarry?", "tarry is a Python library for durable, human-in-the-loop workflows"),
        ("tell me about tarry", "tarry is a Python library"),
        ("How do I pause a flow?", "`pause_flow_run(...)`"),
        ("how can a flow wait for a human", "`pause_flow_run(...)`"),
        ("How do I answer a wait?", "`tarry resume RUN_ID --input JSON`"),
        ("how can I resume a paused run", "`resume_flow_run(run_id, run_input)`"),
        ("What does `tarry server` do?", "the REST API under /api"),
        ("what happens when my process crashes?", "takes the run over"),
    ],
)
def test_facts_about_tarry(question: str, expected: str) -> None:
    assert expected in ask(question)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("hello", "Hello! Offline I can do arithmetic"),
        ("Hi there!", "Hello!"),
        ("good morning", "Hello!"),
        ("thanks!", "You're welcome!"),
        ("Thank you so much", "You're welcome!"),
        ("bye", "Goodbye!"),
        ("how are you?", "I'm a small offline program"),
        ("", "Ask me something!"),
    ],
)
def test_small_talk(question: str, expected: str) -> None:
    assert ask(question).startswith(expected)


def test_a_greeting_inside_a_question_is_not_small_talk() -> None:
    assert ask("hello, what is 2 + 2") != ask("hello")


def test_name_is_remembered_from_history() -> None:
    history = [
        Turn("user", "hi"),
        Turn("assistant", "Hello!"),
        Turn("user", "My name is Ann"),
        Turn("assistant", "Nice to meet you, Ann!"),
        Turn("user", "what is 2 + 2?"),
        Turn("assistant", "2 + 2 = 4"),
    ]
    assert ask("what is my name?", history) == "Your name is Ann."
    assert ask("Do you remember my name", history) == "Your name is Ann."
    assert ask("who am I?", history) == "Your name is Ann."
    assert ask("hello", history).startswith("Hello again, Ann!")
    assert ask("bye", history) == "Goodbye, Ann!"


def test_name_memory_takes_the_latest_user_introduction() -> None:
    history = [
        Turn("user", "my name is ann"),
        Turn("user", "Actually my name is Ann Lee and I like cats"),
        Turn("assistant", "My name is Tarry."),  # the answerer's own words are not the user's
    ]
    assert ask("what's my name", history) == "Your name is Ann Lee."
    assert ask("what's my name", history[:1]) == "Your name is Ann."


def test_name_unknown_without_an_introduction() -> None:
    reply = ask("what is my name?", [Turn("user", "hello"), Turn("assistant", "Hello!")])
    assert reply.startswith("You haven't told me your name yet.")


def test_an_introduction_is_acknowledged() -> None:
    assert ask("Hi, my name is Bo.") == "Nice to meet you, Bo! What can I do for you?"


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "write me a poem", "what is love", "???"],
)
def test_unknown_questions_get_an_honest_reply(question: str) -> None:
    reply = ask(question)
    assert reply.startswith(CANNOT)
    assert "Offline I can do arithmetic" in reply


ALL_QUESTIONS = [
    "what is 12 * (3 + 4)?",
    "what is 2 ** 0.5",
    "convert 10 km to miles",
    "what day is 2026-12-25?",
    "how many words in 'a b'",
    "reverse abc",
    "what is tarry?",
    "hello",
    "what is my name?",
    "What is the capital of France?",
]


@pytest.mark.parametrize("question", ALL_QUESTIONS)
def test_offline_answers_are_deterministic(question: str) -> None:
    history = [Turn("user", "my name is Ann"), Turn("assistant", "Nice to meet you, Ann!")]
    replies = {answerers.OfflineAnswerer().answer(question, list(history)) for _ in range(3)}
    assert len(replies) == 1
    assert replies == {OFFLINE.answer(question, tuple(history))}


def test_turns_are_frozen() -> None:
    turn = Turn("user", "hi")
    with pytest.raises(AttributeError):
        turn.text = "changed"
    assert turn == Turn(role="user", text="hi")


# --- an OpenAI-compatible endpoint on a real local HTTP server ------------------------------


@dataclass
class FakeEndpoint:
    """A chat-completions server on 127.0.0.1 that records what it is sent."""

    base_url: str
    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        body = json.loads(handler.rfile.read(length))
        self.requests.append(
            {"path": handler.path, "headers": dict(handler.headers.items()), "body": body}
        )
        if self.mode == "slow":
            # Sends nothing until the test ends, so the client's timeout fires.
            self.release.wait(10)
            handler.close_connection = True
            return
        status, payload = self._reply(body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _reply(self, body: dict[str, Any]) -> tuple[int, object]:
        question = body["messages"][-1]["content"]
        message = {"role": "assistant", "content": f"model says: {question}"}
        return {
            "ok": (200, {"id": "x", "choices": [{"index": 0, "message": message}]}),
            "error": (500, {"error": {"message": "the model is overloaded", "type": "server"}}),
            "plain-error": (503, b"upstream unavailable"),
            "unauthorized": (401, {"error": {"message": "Incorrect API key provided"}}),
            "not-json": (200, b"<html>not json</html>"),
            "no-choices": (200, {"choices": []}),
            "no-message": (200, {"choices": [{"index": 0}]}),
            "null-content": (200, {"choices": [{"message": {"content": None}}]}),
            "list": (200, ["choices"]),
        }[self.mode]


@pytest.fixture
def endpoint() -> Iterator[FakeEndpoint]:
    fake: FakeEndpoint | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            assert fake is not None
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            fake.respond(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake = FakeEndpoint(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    # A short poll so that shutdown() returns at once rather than after half a second.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_openai_request_carries_model_system_prompt_history_and_question(
    endpoint: FakeEndpoint,
) -> None:
    answerer = answerers.OpenAICompatibleAnswerer(endpoint.base_url, "tiny-model", "sk-test")
    history = [Turn("user", "my name is Ann"), Turn("assistant", "Nice to meet you, Ann!")]

    assert answerer.answer("what is my name?", history) == "model says: what is my name?"

    [request] = endpoint.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["headers"]["Content-Type"] == "application/json"
    body = request["body"]
    assert body["model"] == "tiny-model"
    system, *rest = body["messages"]
    assert system == {"role": "system", "content": answerers.SYSTEM_PROMPT}
    assert rest == [
        {"role": "user", "content": "my name is Ann"},
        {"role": "assistant", "content": "Nice to meet you, Ann!"},
        {"role": "user", "content": "what is my name?"},
    ]


def test_openai_without_key_sends_no_authorization(endpoint: FakeEndpoint) -> None:
    answerer = answerers.OpenAICompatibleAnswerer(endpoint.base_url + "/", "m")
    assert answerer.answer("hi", []) == "model says: hi"
    [request] = endpoint.requests
    assert "Authorization" not in request["headers"]
    assert [m["role"] for m in request["body"]["messages"]] == ["system", "user"]


@pytest.mark.parametrize(
    ("mode", "status", "message"),
    [
        ("error", 500, "answered HTTP 500: the model is overloaded"),
        ("plain-error", 503, "answered HTTP 503: upstream unavailable"),
        ("unauthorized", 401, "answered HTTP 401: Incorrect API key provided"),
        ("not-json", 200, "did not answer with a chat completion"),
        ("no-choices", 200, "did not answer with a chat completion"),
        ("no-message", 200, "did not answer with a chat completion"),
        ("list", 200, "did not answer with a chat completion"),
        ("null-content", 200, r"answered a completion without text \(content is NoneType\)"),
    ],
)
def test_openai_failures_raise_answerer_error(
    endpoint: FakeEndpoint, mode: str, status: int, message: str
) -> None:
    endpoint.mode = mode
    answerer = answerers.OpenAICompatibleAnswerer(endpoint.base_url, "m", "sk-secret")
    with pytest.raises(answerers.AnswererError, match=message) as caught:
        answerer.answer("hi", [])
    assert caught.value.status_code == status
    assert "sk-secret" not in str(caught.value)


def test_openai_timeout_raises_answerer_error(endpoint: FakeEndpoint) -> None:
    endpoint.mode = "slow"
    answerer = answerers.OpenAICompatibleAnswerer(endpoint.base_url, "m", timeout=0.2)
    with pytest.raises(answerers.AnswererError, match=r"did not answer within 0\.2 s") as caught:
        answerer.answer("hi", [])
    assert caught.value.status_code is None


def test_openai_unreachable_endpoint_raises_answerer_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answerer = answerers.OpenAICompatibleAnswerer(f"http://127.0.0.1:{port}/v1", "m", timeout=2)
    with pytest.raises(answerers.AnswererError, match="could not reach"):
        answerer.answer("hi", [])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "api.openai.com/v1"}, "must start with http:// or https://"),
        ({"base_url": "http://x/v1", "timeout": 0}, "timeout must be positive"),
    ],
)
def test_openai_answerer_checks_its_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        answerers.OpenAICompatibleAnswerer(model="m", **kwargs)


# --- choosing one --------------------------------------------------------------------------


@pytest.mark.parametrize("url", [None, "", "   "])
def test_settings_without_url_give_the_offline_answerer(url: str | None) -> None:
    chosen = answerers.answerer_from_settings(url, "ignored", "ignored")
    assert isinstance(chosen, answerers.OfflineAnswerer)


def test_settings_with_url_give_the_openai_answerer(endpoint: FakeEndpoint) -> None:
    chosen = answerers.answerer_from_settings(endpoint.base_url, None, None)
    assert isinstance(chosen, answerers.OpenAICompatibleAnswerer)
    assert chosen.answer("hi", []) == "model says: hi"
    assert endpoint.requests[0]["body"]["model"] == answerers.DEFAULT_MODEL == "gpt-4o-mini"
    assert "Authorization" not in endpoint.requests[0]["headers"]

    named = answerers.answerer_from_settings(endpoint.base_url, "llama3", "")
    named.answer("hi", [])
    assert endpoint.requests[1]["body"]["model"] == "llama3"


def test_public_names() -> None:
    assert set(answerers.__all__) == {
        "DEFAULT_MODEL",
        "SYSTEM_PROMPT",
        "Answerer",
        "AnswererError",
        "OfflineAnswerer",
        "OpenAICompatibleAnswerer",
        "Turn",
        "answerer_from_settings",
    }
