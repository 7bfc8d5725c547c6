"""A chatbot made of two flows: a question answerer and a chat session (seeds/000 part 2).

The answerer receives questions and answers each with a language model (any
OpenAI-compatible endpoint: set TARRY_CHATBOT_URL, and TARRY_CHATBOT_MODEL /
TARRY_CHATBOT_API_KEY if needed) or, by default, an offline answerer that works
out arithmetic, unit conversions, dates and more, deterministically. When no
question comes for a while it suspends itself: it holds no thread and no memory
until the chat resumes it. Each question is received exactly once, so unlike
Prefect's version it needs no store of "seen" keys.

    python examples/messaging/llm_chatbot.py answerer   # serves the answerer
    python examples/messaging/llm_chatbot.py chat       # ask questions; q quits
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from tarry import (
    flow,
    get_run_logger,
    receive_input,
    resume_flow_run,
    send_input,
    service,
    suspend_flow_run,
    task,
)
from tarry.config import Settings
from tarry.deployments import run_deployment
from tarry.states import RunState

# The answerers live next to this file (run as a script or loaded by a worker).
sys.path.insert(0, str(Path(__file__).parent))
import answerers

ANSWERER = "question-answerer/llm-chatbot"
QUIT = ("quit", "bye", "q", "stop")


@task
def answer(question: str, history: list[tuple[str, str]]) -> str:
    settings = Settings.from_env()
    bot = answerers.answerer_from_settings(
        settings.chatbot_url, settings.chatbot_model, settings.chatbot_api_key
    )
    turns = [answerers.Turn(role, text) for role, text in history]  # type: ignore[arg-type]
    return bot.answer(question, turns)


@flow(log_prints=True)
def question_answerer(idle_seconds: float = 60) -> int:
    logger = get_run_logger()
    history: list[tuple[str, str]] = []
    while True:
        for question in receive_input(str, timeout=idle_seconds, with_metadata=True):
            if question.value == "__EXIT__":
                return len(history) // 2
            reply = answer(question.value, history)
            history += [("user", question.value), ("assistant", reply)]
            question.respond(reply)
            logger.info("answered %r", question.value)
        print("No question for a while: suspending until the chat resumes me.")
        suspend_flow_run(key=f"idle-{len(history)}", timeout=None)


@task
def answerer_run() -> str:
    """The answerer run to talk to: one that is still going, else a new one."""
    going = (RunState.PENDING, RunState.RUNNING, RunState.WAITING)
    for run in service.list_runs(states=going, flow_name="question-answerer", limit=1):
        return run.id
    return run_deployment(ANSWERER, timeout=0, as_subflow=False).id


@task
def wake(answerer_id: str) -> bool:
    """Resume the answerer if it suspended itself for lack of questions (once: a task)."""
    if not service.list_pending_inputs(answerer_id):
        return False
    print("The answerer is suspended. Resuming it...")
    resume_flow_run(answerer_id)
    return True


@flow
def chat_session(questions: list[str] | None = None) -> list[str]:
    answerer_id = answerer_run()
    answers = receive_input(str, timeout=None)
    said = []
    for question in questions if questions is not None else _ask():
        wake(answerer_id)
        send_input(question, answerer_id)
        said.append(answers.next())
        print(f"Answer: {said[-1]}\n")
    return said


def _ask() -> Iterator[str]:
    while (question := input("Ask a question: ").strip()).lower() not in QUIT:
        if question:
            yield question


if __name__ == "__main__":
    if sys.argv[1:2] == ["answerer"]:
        idle = float(sys.argv[2]) if len(sys.argv) > 2 else 60
        question_answerer.serve(name="llm-chatbot", parameters={"idle_seconds": idle})
    elif sys.argv[1:] == ["chat"]:
        chat_session()
    else:
        raise SystemExit("usage: llm_chatbot.py answerer [IDLE_SECONDS] | chat")
