"""The API calls of one page at the same time: all answers in order, and the first failure raised as
it is (the page's error handling depends on its type) with the other calls cancelled."""
from __future__ import annotations

import asyncio

import pytest

from services.portal.backend import ApiError, BackendDown, LoginRequired, together
from services.portal.render import _Environment, environment


@pytest.mark.asyncio
async def test_answers_come_back_in_the_order_of_the_calls() -> None:
    async def after(seconds: float, value: str) -> str:
        await asyncio.sleep(seconds)
        return value
    started = asyncio.get_running_loop().time()
    assert await together(after(0.1, "eerste"), after(0.05, "tweede")) == ["eerste", "tweede"]
    assert asyncio.get_running_loop().time() - started < 0.14  # at the same time, not one after another


@pytest.mark.asyncio
@pytest.mark.parametrize("error", [ApiError(404, "Niet gevonden"), BackendDown("dossier"), LoginRequired()])
async def test_the_first_failure_is_raised_as_it_is_and_the_others_are_cancelled(error: Exception) -> None:
    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def failing() -> None:
        await asyncio.sleep(0.01)
        raise error

    with pytest.raises(type(error)) as raised:
        await together(slow(), failing())
    assert raised.value is error and cancelled.is_set()


def test_templates_read_keys_of_json_objects_as_jinja_does() -> None:
    env = environment()
    assert isinstance(env, _Environment) and env.auto_reload is False
    template = env.from_string("{{ row.name }}|{{ row.missing.deeper or 'leeg' }}|{{ row.items()|list|length }}|"
                               "{{ obj.real }}|{{ row['items'] }}")
    assert template.render(row={"name": "<Noor>", "items": 3}, obj=2) == "&lt;Noor&gt;|leeg|2|2|3"
