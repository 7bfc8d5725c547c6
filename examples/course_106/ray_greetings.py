"""Seed 003, Parallelism: the DaskTaskRunner greetings on RayTaskRunner.

The seed names `prefect_ray`'s RayTaskRunner beside Dask's and shows code only for
Dask: this is the seed's Dask code with `DaskTaskRunner` swapped for
`tarry.task_runners.RayTaskRunner` (`pip install 'tarry[ray]'`). The greetings are
computed by the worker processes of a local Ray started for the run; the run's
journal records each of them in this process.
"""

from tarry import flow, task
from tarry.task_runners import RayTaskRunner
import asyncio

@task
async def say_hello(name):
    print(f"hello {name}")

@task
async def say_goodbye(name):
    print(f"goodbye {name}")

 
@flow(task_runner=RayTaskRunner())
async def greetings(names):
    for name in names:
        say_hello.submit(name)
        say_goodbye.submit(name)

if __name__ == "__main__":
    asyncio.run(greetings(["arthur", "trillian", "ford", "marvin"]))
