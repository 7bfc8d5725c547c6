"""Seed 003 ("106 - Get more out of your workflows"), Concurrency: the elevator.

The seed's code with `prefect` replaced by `tarry` in its imports. The three floors
run at once on a thread pool, so the flow takes about 3 s, not 6 s.
"""

from tarry import flow, task
from tarry.futures import wait
from tarry.task_runners import ThreadPoolTaskRunner
import time


@task
def stop_at_floor(floor):
    print(f"elevator moving to floor {floor}")
    time.sleep(floor)
    print(f"elevator stops on floor {floor}")


@flow(task_runner=ThreadPoolTaskRunner(max_workers=3))
def elevator():
    floors = []

    for floor in range(3, 0, -1):
        floors.append(stop_at_floor.submit(floor))

    wait(floors)


if __name__ == "__main__":
    elevator()
