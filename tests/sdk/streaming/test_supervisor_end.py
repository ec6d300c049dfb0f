"""Closing a stream ends its connection task even when a cancellation is lost on the way.

On Python 3.11 ``asyncio.wait_for`` drops a cancellation that arrives as its inner await
completes; the reconnect loop then goes on to wait on its live connection. A closer that cancels
once and waits would wait forever (seen as a hung ``Stream.close()`` and a socket left in
CLOSE_WAIT); ``end_task`` cancels again until the task has ended.
"""

from __future__ import annotations

import asyncio
import contextlib

from capitalcom_sdk.streaming._supervisor import end_task


async def _loses_first_cancel(forever: asyncio.Future[None], ended: list[str]) -> None:
    # what a wait_for racing its inner future does on 3.11: the cancel is gone
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(3600)
    try:
        await forever  # e.g. ``raise await conn.done`` on a connection that stays up
    finally:
        ended.append("ended")


async def test_one_cancel_is_not_enough_for_a_task_that_loses_it() -> None:
    forever: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    ended: list[str] = []
    task = asyncio.create_task(_loses_first_cancel(forever, ended))
    await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=0.3)
    assert not done  # the hang the closer used to have
    await end_task(task, every=0.05)
    assert task.cancelled()
    assert ended == ["ended"]


async def test_end_task_returns_at_once_for_a_well_behaved_task() -> None:
    task = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    await asyncio.wait_for(end_task(task), 1.0)
    assert task.cancelled()


async def test_end_task_on_a_finished_task() -> None:
    async def quick() -> None:
        return None

    task = asyncio.create_task(quick())
    await task
    await end_task(task)
    assert task.done()
    assert not task.cancelled()
