"""The notification mails for print jobs: Dutch, with the link, never a code."""
from __future__ import annotations

from services.notification.templates import render


def test_print_job_completed_mail():
    mail = render("print_job_completed", {"pages": 1, "download_url": "https://portaal.example.nl/afdrukopdrachten/1",
                                          "expires_at": "2026-12-13T10:00:00+00:00"})
    assert mail.subject == "De activatiebrieven staan klaar"
    assert "1 brief," in mail.body and "https://portaal.example.nl/afdrukopdrachten/1" in mail.body
    assert "13-12-2026 om 11:00" in mail.body and "Met vriendelijke groet" in mail.body


def test_print_job_failed_mail():
    mail = render("print_job_failed", {"reason": "Het maken van de brieven is niet gelukt.",
                                       "page_url": "https://portaal.example.nl/afdrukopdrachten/2"})
    assert mail.subject == "De activatiebrieven konden niet worden gemaakt"
    assert "Het maken van de brieven is niet gelukt." in mail.body
    assert "https://portaal.example.nl/afdrukopdrachten/2" in mail.body
