"""The services' HTTP APIs as the demo loader calls them: logging in at identity as a demo person,
then calling dossier as that person, exactly the paths and If-Match headers the portal uses."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

import aiohttp

T = TypeVar("T")


class DemoFailed(Exception):
    """The living school could not be made; the message (Dutch) says what to do."""


@dataclass
class ApiProblem(Exception):
    status: int
    code: str | None
    detail: str

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.code or ''}: {self.detail}"


def if_match(version: Any) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


@dataclass
class Api:
    http: aiohttp.ClientSession
    identity_url: str
    dossier_url: str
    passwords: dict[str, str]  # e-mail -> password of everyone the loader acts as
    _tokens: dict[str, str] = field(default_factory=dict)

    async def _request(self, base: str, method: str, path: str, *, headers: dict[str, str] | None = None,
                       json: Any = None) -> tuple[dict, dict[str, str]]:
        url = base.rstrip("/") + path
        try:
            async with self.http.request(method, url, headers=headers or {}, json=json) as r:
                body = await r.json(content_type=None) if r.content_length != 0 else None
                if r.status >= 400:
                    body = body if isinstance(body, dict) else {}
                    raise ApiProblem(r.status, body.get("code"), str(body.get("detail") or ""))
                return body or {}, dict(r.headers)
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError):
            raise DemoFailed(f"{url} is niet bereikbaar. Draaien de diensten identity en dossier, en kloppen "
                             "IDENTITY_URL en DOSSIER_URL? Laad de demo daarna opnieuw: wat er al staat, "
                             "blijft staan.") from None

    async def token(self, email: str) -> str:
        """An access token of ``email`` (logged in once per run, as the portal's login page does)."""
        if email not in self._tokens:
            body, _ = await self._request(self.identity_url, "POST", "/v1/sessions",
                                          json={"email": email, "password": self.passwords[email]})
            self._tokens[email] = body["access_token"]
        return self._tokens[email]

    async def dossier(self, who: str, method: str, path: str, body: Any = None, *, version: Any = None,
                      headers: dict[str, str] | None = None) -> dict:
        """A call to dossier's API as ``who`` (an e-mail address we log in with, or None: no token)."""
        send = dict(headers or {})
        if who:
            send["Authorization"] = f"Bearer {await self.token(who)}"
        if version is not None:
            send.update(if_match(version))
        answer, _ = await self._request(self.dossier_url, method, path, headers=send,
                                        json=body if method != "GET" else None)
        return answer


async def until(what: str, probe: Callable[[], Awaitable[T | None]], timeout: float, interval: float = 0.3) -> T:
    """``probe()`` until it answers something (not None, not falsy); DemoFailed after ``timeout`` seconds,
    saying in Dutch what did not arrive. The services learn from each other through the broker, so
    what one knows reaches the other a moment later."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if loop.time() > deadline:
            raise DemoFailed(f"Na {timeout:.0f} s is {what} nog niet bij de dossierdienst bekend. Draaien de "
                             "diensten en RabbitMQ (de gegevens gaan als events van identity naar dossier)? "
                             "Laad de demo daarna opnieuw: wat er al staat, blijft staan.")
        await asyncio.sleep(interval)
