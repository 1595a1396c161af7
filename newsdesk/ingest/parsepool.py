"""CPU-bound parsing on spare cores while the event loop fetches and stores.

A refresh of many feeds spends about half its CPU parsing XML and cleaning
item HTML (``entries``), and a Python process runs that on one core at a
time: with the work here, one process fetches and stores while others parse.
``concurrent.futures.ProcessPoolExecutor`` does the pooling; what this adds
is the choice of start method, the size from the settings, and recovery
from a parser process that dies (a hostile document can crash a C parser):
the call that was running fails with ``ParserCrashed`` and the next call gets
a fresh pool, so one bad feed costs only itself.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# Parse processes used at most when the setting says "one per spare core".
MAX_AUTO_PROCESSES = 4


class ParserCrashed(RuntimeError):
    """A parse process died while working on this call's document."""


def pool_size(setting: int, cpus: int | None = None) -> int:
    """Parse processes for ``NEWSDESK_PARSE_PROCESSES``: -1 is one per spare core."""
    if setting >= 0:
        return setting
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(0, min(cpus - 1, MAX_AUTO_PROCESSES))


class ParsePool:
    """A few parse processes; ``run`` awaits a function call in one of them.

    The spawn start method: each process starts from a clean interpreter,
    never a fork of one with threads and open database connections. It costs
    about half a CPU second of imports per process, paid once a run, and the
    processes stay this process's children, so their CPU time is accounted
    to it (``RUSAGE_CHILDREN``) once the pool is closed.
    """

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("a parse pool needs at least one process")
        self.processes = processes
        self._context = multiprocessing.get_context("spawn")
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.processes, mp_context=self._context)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` in a parse process; its exceptions come back as they were raised.

        ``fn`` must be a module-level function and ``args`` picklable.
        """
        executor = self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except BrokenProcessPool as exc:
            self._replace(executor)
            raise ParserCrashed("the parser process died on this document") from exc

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A fresh pool for the next call (once, however many calls saw the same crash)."""
        if self._executor is broken:
            log.warning("a parse process died; starting a new pool")
            broken.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
