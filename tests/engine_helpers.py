"""Shared by the engine's tests: run torch on one thread.

The engine's test models are tiny; on this 2-core machine, shared with other processes, two
intra-op threads spin-wait on each other and made a 0.2 s run take 10 s. One thread is also
what these sizes run fastest on. Import the fixture into a test module to use it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
