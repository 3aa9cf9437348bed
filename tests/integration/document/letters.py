"""Helpers for the print job tests: a batch of activation letters as identity publishes it, and
waiting for a job over HTTP."""
from __future__ import annotations

import asyncio
import io
import re
import random
import uuid
from datetime import date, timedelta
from typing import Any

from pypdf import PdfReader

from shared.events.envelope import Envelope
from shared.events.identity_events import ActivationLetter, ActivationLettersRequested

FIRST = ["Zoë", "Anouk", "Daan", "Noël", "Loïs", "Sem", "Chloë", "Mehmet", "Fleur", "Ruben", "Eşref", "Björn"]
LAST = [("", "Bakker"), ("van", "Dijk"), ("de", "Vries"), ("", "Ĳzerman"), ("", "Çelik"), ("van der", "Müller"),
        ("", "Jansen"), ("", "Öztürk"), ("de", "Boer"), ("", "Smit")]
CLASSES = ["4a", "4b", "4c", "10a"]


def letters_batch(n: int, *, school_id: uuid.UUID | None = None, requested_by: uuid.UUID | None = None,
                  email: str = "decaan@school.example.nl", seed: int = 1) -> ActivationLettersRequested:
    """``n`` letters in random order (the service sorts them), each with a unique code."""
    rnd = random.Random(seed)
    letters = []
    for i in range(n):
        first, (tussen, last) = rnd.choice(FIRST), rnd.choice(LAST)
        name = " ".join(p for p in (first, tussen, last) if p) + f" {i:04d}"
        letters.append(ActivationLetter(
            student_id=uuid.uuid4(), student_name=name, sort_name=f"{last}, {first} {tussen} {i:05d}".strip(),
            class_name=rnd.choice(CLASSES), code=f"C{seed % 1000:03d}-{i:05d}"))
    return ActivationLettersRequested(
        batch_id=uuid.uuid4(), school_id=school_id or uuid.uuid4(), school_name="Het Ĳsselcollege",
        requested_by=requested_by or uuid.uuid4(), requested_by_email=email,
        expires_at=date.today() + timedelta(days=60), register_url="https://doorstroom.example.nl/registreren",
        letters=letters)


def envelope(data: ActivationLettersRequested) -> Envelope:
    return Envelope(source="/doorstroom/identity", type="identity.activation_letters_requested",
                    subject=str(data.batch_id), data=data.model_dump(mode="json"))


def expected_order(data: ActivationLettersRequested) -> list[ActivationLetter]:
    from services.document.rendering.letters import print_order
    by_id = {str(l.student_id): l for l in data.letters}
    return [by_id[l["student_id"]] for l in print_order([l.model_dump(mode="json") for l in data.letters])]


async def job_of_batch(http, base: str, headers: dict, batch_id: uuid.UUID, timeout: float = 20) -> dict[str, Any]:
    """The job of a batch, once the consumer recorded it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with http.get(f"{base}/v1/print-jobs", params={"batch_id": str(batch_id)}, headers=headers) as r:
            assert r.status == 200, await r.text()
            items = (await r.json())["items"]
        if items:
            return items[0]
        if loop.time() > deadline:
            raise TimeoutError(f"no print job for batch {batch_id}")
        await asyncio.sleep(0.1)


async def wait_for_state(http, base: str, headers: dict, job_id: str, states=("done", "failed"),
                         timeout: float = 60) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with http.get(f"{base}/v1/print-jobs/{job_id}", headers=headers) as r:
            assert r.status == 200, await r.text()
            job = await r.json()
        if job["state"] in states:
            return job
        if loop.time() > deadline:
            raise TimeoutError(f"print job still {job['state']} ({job['pages_done']}/{job['pages_total']})")
        await asyncio.sleep(0.1)


def pdf_pages(pdf: bytes) -> list[str]:
    return [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]


def assert_letters_in_order(pages: list[str], data: ActivationLettersRequested) -> None:
    """Page i is the letter of the i-th student in class and name order, and every code is on
    exactly one page."""
    ordered = expected_order(data)
    assert len(pages) == len(ordered)
    shapes = {re.sub(r"[A-Z]", "A", re.sub(r"\d", "9", l.code.reveal())) for l in data.letters}
    pattern = re.compile("|".join(re.escape(s).replace("9", r"\d").replace("A", "[A-Z]") for s in shapes))
    for page, letter in zip(pages, ordered):
        assert letter.student_name in page and f"Klas {letter.class_name}" in page
        assert set(pattern.findall(page)) == {letter.code.reveal()}, "this letter's code, and no other"
