"""Seed 003, Human-in-the-loop: basic. The seed's code with `prefect` replaced by `tarry`.

Run it, then answer from another terminal in the same folder:
`tarry inputs ls` shows the wait; `tarry resume RUN_ID --input '"Jeff"'` answers it
(RUN_ID: the start of the run id that `tarry inputs ls` shows).
"""

from tarry import flow, pause_flow_run

@flow(log_prints=True)
def greet_user():
    name = pause_flow_run(str)
    print(f"Hello, {name}!")

if __name__ == "__main__":
    greet_user()
