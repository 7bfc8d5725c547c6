"""A three-step pipeline: each task call is a step recorded in the run's journal.

Run it with `python examples/getting_started.py` or
`tarry run examples/getting_started.py:pipeline --param n=5`, then look at the run with
`tarry runs ls` and `tarry runs show RUN_ID`.
"""

from __future__ import annotations

from tarry import flow, get_run_logger, task


@task(retries=2, retry_delay_seconds=1)
def extract(n: int) -> list[int]:
    return list(range(n))


@task
def transform(rows: list[int]) -> list[int]:
    get_run_logger().info("transforming %d rows", len(rows))
    return [row * 2 for row in rows]


@task
def load(rows: list[int]) -> int:
    print(f"loaded {len(rows)} rows")
    return sum(rows)


@flow(log_prints=True)
def pipeline(n: int = 3) -> int:
    return load(transform(extract(n)))


if __name__ == "__main__":
    pipeline(5)
