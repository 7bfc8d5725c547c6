"""Friendly run names such as `brave-otter`."""

from __future__ import annotations

import random

__all__ = ["run_name"]

_ADJECTIVES = """
amber azure bold brave bright brisk calm clever cosmic crimson curious daring eager gentle
golden hasty humble jolly keen lively lucky merry misty nimble noble quiet rapid rustic
scarlet shy silent silver sly smart snowy solar steady stellar sunny swift tidy vivid witty
""".split()
_ANIMALS = """
albatross badger beaver bison bobcat crane dingo dolphin eagle falcon ferret gecko heron
ibis jaguar koala lemur lynx magpie marmot mole narwhal newt ocelot orca otter owl panda
pelican puffin quokka raven salmon seal sparrow tapir toucan turtle walrus wombat yak zebra
""".split()


def run_name() -> str:
    """A random `adjective-animal` name."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_ANIMALS)}"  # noqa: S311 - not security
