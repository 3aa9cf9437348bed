"""Argon2id password hashing, always in a bounded thread pool, never on the event loop.

argon2-cffi releases the GIL while hashing, so the pool's threads use the cores in parallel
while the event loop keeps serving other requests.
"""
from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.identity.domain.passwords import normalize_password

# verified when an account is unknown or has no password yet, so such a login costs as much as
# a real one and its answer time tells nothing
_DUMMY_PASSWORD = "doorstroom-dummy-password-for-timing"


class PasswordHasher:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int, threads: int = 0) -> None:
        self._ph = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
                                         hash_len=32, salt_len=16, type=argon2.Type.ID)
        self.threads = threads or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="argon2")
        self._dummy: str | None = None

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def hash(self, password: str) -> str:
        return await self._run(self._ph.hash, normalize_password(password))

    def _verify_sync(self, encoded: str, password: str) -> bool:
        try:
            return self._ph.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def verify(self, encoded: str | None, password: str) -> bool:
        """True when ``password`` matches; costs one Argon2id run even without a stored hash."""
        if encoded is None:
            if self._dummy is None:
                self._dummy = await self.hash(_DUMMY_PASSWORD)
            await self._run(self._verify_sync, self._dummy, normalize_password(password))
            return False
        return await self._run(self._verify_sync, encoded, normalize_password(password))

    def needs_rehash(self, encoded: str) -> bool:
        try:
            return self._ph.check_needs_rehash(encoded)
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
