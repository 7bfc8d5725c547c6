"""Seed 003, Concurrency: the elevator on RayTaskRunner.

The seed's elevator with its `ThreadPoolTaskRunner(max_workers=3)` swapped for
`tarry.task_runners.RayTaskRunner()` (`pip install 'tarry[ray]'`): each floor is a
Ray task in a worker process of a local Ray started for the run. Ray gives each
task one CPU, so on a machine with fewer than three CPUs a floor waits for one.
"""

from tarry import flow, task
from tarry.futures import wait
from tarry.task_runners import RayTaskRunner
import time


@task
def stop_at_floor(floor):
    print(f"elevator moving to floor {floor}")
    time.sleep(floor)
    print(f"elevator stops on floor {floor}")


@flow(task_runner=RayTaskRunner())
def elevator():
    floors = []

    for floor in range(3, 0, -1):
        floors.append(stop_at_floor.submit(floor))

    wait(floors)


if __name__ == "__main__":
    elevator()
