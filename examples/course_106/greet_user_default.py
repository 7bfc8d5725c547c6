"""Seed 003, Human-in-the-loop: default value. The seed's code with `prefect` replaced by `tarry`.

An async flow; the form is pre-filled with "anonymous", so resuming without input is accepted.
"""

import asyncio
from tarry import flow, pause_flow_run
from tarry.input import RunInput

class UserNameInput(RunInput):
    name: str

 
@flow(log_prints=True)
async def greet_user():
    user_input = await pause_flow_run(
        wait_for_input=UserNameInput.with_initial_data(name="anonymous")
    )

    if user_input.name == "anonymous":
        print("Hello, stranger!")
    else:
        print(f"Hello, {user_input.name}!")

if __name__ == "__main__":
    asyncio.run(greet_user())
