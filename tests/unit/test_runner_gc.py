"""A service's start-up objects are frozen out of the garbage collector's full collections."""
from __future__ import annotations

import gc

from shared.runner import _freeze_startup_objects


async def test_start_up_objects_are_frozen():
    gc.unfreeze()
    before = gc.get_freeze_count()
    try:
        await _freeze_startup_objects(None)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
