"""Seed 001, child workflows: a parent made of three child flows, then one child per department.

`data_pipeline` calls three child flows in sequence; each one's result is the next one's input,
and the parent returns what they produced:

    data-pipeline
    ├── validation-flow   task validate_records
    ├── processing-flow   task calculate_statistics
    └── storage-flow      task save_to_database  (a real SQLite file)

`all_departments` runs one `data_pipeline` child per department at the same time and adds their
results up. To run child flows concurrently, make them `async def` and `asyncio.gather` their
calls: each call is a child run of its own, with its parent recorded, and a replayed parent
re-enters the same children. `tarry runs ls` lists them all; in the UI each run links to its
children.

Run it:

    python examples/child_flows/child_workflow.py [FOLDER]

The statistics go to `FOLDER/statistics.db` (default `child_flows_output`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from pathlib import Path

from pydantic import BaseModel

from tarry import flow, runtime, task

DEFAULT_FOLDER = "child_flows_output"


class Record(BaseModel):
    employee: str
    salary: float


class Rejected(BaseModel):
    record: Record
    reason: str


class Validated(BaseModel):
    valid: list[Record]
    rejected: list[Rejected]


class Statistics(BaseModel):
    department: str
    employees: int
    total: float
    mean: float
    minimum: float
    maximum: float


class DepartmentResult(BaseModel):
    statistics: Statistics
    rejected: list[Rejected]
    database: str


class CompanyReport(BaseModel):
    departments: list[str]
    employees: int
    total: float
    mean: float
    largest: str


SAMPLE_DATA: dict[str, list[Record]] = {
    "engineering": [
        Record(employee="Ada", salary=9200),
        Record(employee="Linus", salary=8700),
        Record(employee="Grace", salary=9900),
        Record(employee="", salary=5000),
    ],
    "sales": [
        Record(employee="Dale", salary=6100),
        Record(employee="Peggy", salary=7300),
        Record(employee="Don", salary=-10),
    ],
    "support": [
        Record(employee="Roy", salary=4800),
        Record(employee="Jen", salary=5200),
        Record(employee="Moss", salary=5100),
    ],
}


# -- the three child flows and their tasks --------------------------------------------------


def _problem(record: Record) -> str | None:
    if not record.employee.strip():
        return "no employee name"
    if record.salary <= 0:
        return f"salary {record.salary:g} is not positive"
    return None


@task
async def validate_records(records: list[Record]) -> Validated:
    problems = [(record, _problem(record)) for record in records]
    return Validated(
        valid=[record for record, problem in problems if problem is None],
        rejected=[Rejected(record=r, reason=p) for r, p in problems if p is not None],
    )


@task
async def calculate_statistics(department: str, records: list[Record]) -> Statistics:
    salaries = [record.salary for record in records]
    return Statistics(
        department=department,
        employees=len(salaries),
        total=sum(salaries),
        mean=round(sum(salaries) / len(salaries), 2) if salaries else 0.0,
        minimum=min(salaries, default=0.0),
        maximum=max(salaries, default=0.0),
    )


_SCHEMA = """CREATE TABLE IF NOT EXISTS department_statistics (
    run_id TEXT PRIMARY KEY, department TEXT NOT NULL, employees INTEGER NOT NULL,
    total REAL NOT NULL, mean REAL NOT NULL, minimum REAL NOT NULL, maximum REAL NOT NULL,
    saved_at REAL NOT NULL)"""

# Keyed by the storage run's id: a step runs again if its process dies mid-way, and the
# second write then replaces the first instead of adding a duplicate row.
_UPSERT = """INSERT OR REPLACE INTO department_statistics VALUES
    (:run_id, :department, :employees, :total, :mean, :minimum, :maximum, :saved_at)"""


def _write_row(database: Path, row: dict[str, object]) -> None:
    database.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database, timeout=30) as conn:
        conn.execute(_SCHEMA)
        conn.execute(_UPSERT, row)
    conn.close()


@task
async def save_to_database(statistics: Statistics, folder: str) -> str:
    database = Path(folder).resolve() / "statistics.db"
    row = {"run_id": runtime.flow_run.id, "saved_at": time.time(), **statistics.model_dump()}
    await asyncio.to_thread(_write_row, database, row)
    return str(database)


@flow
async def validation_flow(records: list[Record]) -> Validated:
    return await validate_records(records)


@flow
async def processing_flow(department: str, records: list[Record]) -> Statistics:
    return await calculate_statistics(department, records)


@flow
async def storage_flow(statistics: Statistics, folder: str) -> str:
    return await save_to_database(statistics, folder)


# -- the parents ----------------------------------------------------------------------------


@flow(log_prints=True)
async def data_pipeline(
    department: str = "engineering",
    records: list[Record] | None = None,
    folder: str = DEFAULT_FOLDER,
) -> DepartmentResult:
    """Validate, then compute, then store: three child flows, data passed along."""
    checked = await validation_flow(records if records is not None else SAMPLE_DATA[department])
    for bad in checked.rejected:
        print(f"{department}: dropped {bad.record.employee or '(unnamed)'}: {bad.reason}")
    statistics = await processing_flow(department, checked.valid)
    database = await storage_flow(statistics, folder)
    print(f"{department}: {statistics.employees} employees, mean {statistics.mean:,.2f}")
    return DepartmentResult(statistics=statistics, rejected=checked.rejected, database=database)


@task
async def aggregate(results: list[DepartmentResult]) -> CompanyReport:
    stats = [result.statistics for result in results]
    employees = sum(s.employees for s in stats)
    total = sum(s.total for s in stats)
    return CompanyReport(
        departments=[s.department for s in stats],
        employees=employees,
        total=total,
        mean=round(total / employees, 2) if employees else 0.0,
        largest=max(stats, key=lambda s: s.employees).department,
    )


@flow(log_prints=True)
async def all_departments(folder: str = DEFAULT_FOLDER) -> CompanyReport:
    """One `data_pipeline` child per department, all running at once, then one report."""
    results = await asyncio.gather(
        *(data_pipeline(name, records, folder) for name, records in SAMPLE_DATA.items())
    )
    report = await aggregate(list(results))
    print(f"company: {report.employees} employees in {len(report.departments)} departments")
    return report


async def main(folder: str) -> None:
    one = await data_pipeline("engineering", folder=folder)
    print(f"data-pipeline stored {one.statistics.department} in {one.database}")
    report = await all_departments(folder)
    print(f"all-departments: {report.model_dump_json()}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_FOLDER))
