"""The render pool: a render process that dies (killed, out of memory) costs one render, not the
service: the pool is replaced and the next render works."""
from __future__ import annotations

import os
import signal

import pytest

from services.document.render_pool import RenderPool, RenderUnavailable
from services.document.rendering.engine import compile_pdf


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def test_a_dead_render_process_is_replaced():
    pool = RenderPool(1)
    await pool.start()
    try:
        with pytest.raises(RenderUnavailable):
            await pool.run(_die)
        pdf = await pool.run(compile_pdf, "warm_up", {})
        assert pdf.startswith(b"%PDF")
    finally:
        pool.close()
