"""Seed 003, Parallelism: DaskTaskRunner. The seed's code with its imports changed.

`prefect_dask.task_runners.DaskTaskRunner` becomes `tarry.task_runners.DaskTaskRunner`
(`pip install 'tarry[dask]'`). The greetings are computed by the worker processes of a
Dask cluster started for the run; the run's journal records each of them in this process.
"""

from tarry import flow, task
from tarry.task_runners import DaskTaskRunner
import asyncio

@task
async def say_hello(name):
    print(f"hello {name}")

@task
async def say_goodbye(name):
    print(f"goodbye {name}")

 
@flow(task_runner=DaskTaskRunner())
async def greetings(names):
    for name in names:
        say_hello.submit(name)
        say_goodbye.submit(name)

if __name__ == "__main__":
    asyncio.run(greetings(["arthur", "trillian", "ford", "marvin"]))
