"""``python -m services.identity.admin EMAIL "NAAM"`` refuses control characters before it touches
the database (the operator's command line is an entrance too)."""
from __future__ import annotations

import pytest

from services.identity import admin
from shared.text import SINGLE_LINE_MESSAGE


@pytest.mark.parametrize("argv", [["beheer@example.nl", "Jan\nBeheer"], ["beheer@example.nl\x00", "Jan Beheer"],
                                  ["beheer@example.nl", "Jan\tBeheer"]])
def test_a_control_character_is_refused_and_nothing_is_made(monkeypatch, capsys, argv):
    made = []

    async def create_admin(email: str, name: str) -> None:
        made.append((email, name))

    monkeypatch.setattr(admin, "create_admin", create_admin)
    with pytest.raises(SystemExit) as exit_:
        admin.main(argv)
    assert exit_.value.code == 2 and made == []
    assert SINGLE_LINE_MESSAGE in capsys.readouterr().err


def test_a_plain_name_goes_on(monkeypatch):
    made = []

    async def create_admin(email: str, name: str) -> None:
        made.append((email, name))

    monkeypatch.setattr(admin, "create_admin", create_admin)
    admin.main([" Beheer@Example.nl ", " Jan Beheer "])
    assert made == [("beheer@example.nl", "Jan Beheer")]
