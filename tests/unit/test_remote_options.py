"""`remote_options`: resources for the tasks submitted inside the block, checked at once."""

from __future__ import annotations

import math
import re

import pytest

from tarry.task_runners import RemoteOptions, remote_options
from tarry.task_runners._remote import current_remote_options


def test_blocks_nest_and_the_inner_one_overrides_what_it_sets() -> None:
    with remote_options(num_cpus=2, resources={"tape": 1}):
        with remote_options(num_gpus=1, num_cpus=0.5) as inner:
            assert inner.as_ray_options() == {
                "num_cpus": 0.5,
                "num_gpus": 1,
                "resources": {"tape": 1},
            }
        assert current_remote_options() == RemoteOptions(num_cpus=2, resources={"tape": 1})
    assert current_remote_options().as_ray_options() == {}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_cpus": -1}, "num_cpus must be a number of at least 0, not -1"),
        ({"num_gpus": math.nan}, "num_gpus must be a number of at least 0, not nan"),
        ({"memory": "1GB"}, "memory must be a number of at least 0, not '1GB'"),
        ({"num_cpus": True}, "num_cpus must be a number of at least 0, not True"),
        ({"resources": {"tape": -2}}, "resources['tape'] must be a number of at least 0, not -2"),
        ({"resources": {"": 1}}, "a resource name must be text, not ''"),
    ],
)
def test_a_bad_amount_is_refused_and_changes_nothing(
    options: dict[str, object], message: str
) -> None:
    block = remote_options(**options)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^" + re.escape(f"remote_options: {message}") + "$"):
        block.__enter__()
    assert current_remote_options() == RemoteOptions()
