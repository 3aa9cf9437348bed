"""Sealed secrets (shared.sealing): links and codes that let their holder act travel and rest as
AES-256-GCM ciphertext with a key id; producers pass plain strings, consumers reveal; keys rotate;
production refuses to run without a key; the contract says which fields are sealed."""
from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from shared.events import asyncapi
from shared.events.dossier_events import ParentReviewRequested
from shared.events.identity_events import (ActivationCodeIssued, ActivationLetter, ActivationLettersRequested,
                                           PasswordResetRequested, StaffInvited, VerificationRequested)
from shared.events.registry import all_event_types
from shared.sealing import Keyring, Sealed, SealError, keyring, sealed_fields, using

LINK = "https://portaal.example.nl/account/verifieren?token=Zm9vYmFyLWdlaGVpbS10b2tlbi0xMjM0NTY3ODkw"


def _ring(*previous: bytes) -> Keyring:
    return Keyring(os.urandom(32), previous)


def test_a_sealed_value_opens_only_with_its_key_and_purpose():
    ring = _ring()
    sealed = ring.seal(LINK)
    assert sealed.startswith(f"sealed:v1:{ring.current_id}:") and "token" not in sealed
    assert ring.seal(LINK) != sealed, "a fresh nonce every time"
    assert ring.open(sealed) == LINK
    with pytest.raises(SealError):
        ring.open(sealed, purpose="document-file")  # sealed for another use
    with pytest.raises(SealError):
        _ring().open(sealed)  # another key
    tampered = sealed[:-3] + ("AAA" if not sealed.endswith("AAA") else "BBB")
    with pytest.raises(SealError):
        ring.open(tampered)
    blob = ring.seal_bytes(b"%PDF-1.7 activatiecode", "document-file")
    assert b"activatiecode" not in blob and ring.open_bytes(blob, "document-file") == b"%PDF-1.7 activatiecode"
    with pytest.raises(SealError):
        ring.open_bytes(blob, "document-print-chunk")


def test_keys_rotate_a_former_key_still_opens_and_the_current_one_seals():
    old_key, new_key = os.urandom(32), os.urandom(32)
    old = Keyring(old_key)
    sealed_before = old.seal(LINK)
    rotated = Keyring(new_key, [old_key])
    assert rotated.open(sealed_before) == LINK
    assert not rotated.sealed_with_current(sealed_before)
    fresh = rotated.seal(LINK)
    assert rotated.sealed_with_current(fresh) and fresh.split(":")[2] != sealed_before.split(":")[2]
    with pytest.raises(SealError, match="does not have"):
        Keyring(new_key).open(sealed_before)  # the old key dropped too early: said so, not garbage


def test_producers_pass_plain_strings_the_wire_carries_only_ciphertext_consumers_reveal():
    with using(_ring()):
        event = VerificationRequested(verification_id=uuid.uuid4(), email="roos@example.nl", verify_url=LINK,
                                      expires_at=datetime.now(UTC))
        wire = event.model_dump_json()
        assert "token" not in wire and "sealed:v1:" in wire
        assert event.model_dump(mode="json") == json.loads(wire), "sealed once: every dump says the same"
        received = VerificationRequested.model_validate_json(wire)
        assert received.verify_url.reveal() == LINK
        assert "token" not in repr(received) and "token" not in str(received.verify_url)
        # an event published before sealing (plain) is still understood
        legacy = VerificationRequested.model_validate({**json.loads(wire), "verify_url": LINK})
        assert legacy.verify_url.reveal() == LINK
        with pytest.raises(ValidationError):
            VerificationRequested.model_validate({**json.loads(wire), "verify_url": "sealed:v1:nonsense"})


def test_nested_codes_in_a_batch_of_letters_are_sealed():
    with using(_ring()):
        batch = ActivationLettersRequested(
            batch_id=uuid.uuid4(), school_id=uuid.uuid4(), school_name="Het Ĳsselcollege", requested_by=uuid.uuid4(),
            requested_by_email="decaan@example.nl", expires_at=date(2027, 7, 31), register_url="https://x/nieuw",
            letters=[ActivationLetter(student_id=uuid.uuid4(), student_name="Sem", sort_name="Sem", class_name="4a",
                                      code="7KQM-X2RD-HP")])
        wire = batch.model_dump_json()
        assert "7KQM" not in wire
        assert ActivationLettersRequested.model_validate_json(wire).letters[0].code.reveal() == "7KQM-X2RD-HP"


def test_every_field_that_lets_its_holder_act_is_sealed():
    sealed = {et.name: sealed_fields(et.payload) for et in all_event_types() if sealed_fields(et.payload)}
    assert sealed == {
        "identity.verification_requested": ["verify_url"],
        "identity.password_reset_requested": ["reset_url"],
        "identity.staff_invited": ["accept_url"],
        "identity.activation_code_issued": ["code"],
        "identity.activation_letters_requested": ["letters[].code"],
        "dossier.parent_review_requested": ["link_url"],
    }
    for model in (PasswordResetRequested, StaffInvited, ActivationCodeIssued, ParentReviewRequested):
        assert sealed_fields(model), model.__name__


def test_the_contract_describes_sealed_fields_and_that_outside_subscribers_get_no_secrets():
    doc = json.loads(asyncapi.render())
    schemas = doc["components"]["schemas"]
    for key, field in (("identity_verification_requested_data", "verify_url"),
                       ("identity_password_reset_requested_data", "reset_url"),
                       ("identity_staff_invited_data", "accept_url"),
                       ("identity_activation_code_issued_data", "code"),
                       ("dossier_parent_review_requested_data", "link_url")):
        prop = schemas[key]["properties"][field]
        variant = next(v for v in [prop, *prop.get("anyOf", [])] if v.get("format"))
        assert variant["format"] == "sealed" and variant["pattern"].startswith("^sealed:")
        assert prop["x-sealed"] is True
        assert "AES-256-GCM" in prop["description"] and "Outside subscribers get no secrets" in prop["description"]
    assert schemas["ActivationLetter"]["properties"]["code"]["format"] == "sealed"
    assert "Outside subscribers get no secrets" in doc["info"]["description"]
    assert schemas["identity_account_exists_notice_data"]["properties"]["reset_url"].get("format") != "sealed", \
        "a link to the 'wachtwoord vergeten' page lets no one act: it stays readable"


def test_production_refuses_to_start_without_the_seal_key_outside_it_a_public_development_key():
    from services.document.settings import DocumentSettings
    from services.dossier.settings import DossierSettings
    from services.identity.settings import IdentitySettings
    from services.notification.settings import NotificationSettings
    from services.portal.settings import PortalSettings
    from shared.sealing import DEV_EVENT_SEAL_KEY, keyring_from

    key = base64.b64encode(os.urandom(32)).decode()
    bsn_keys = dict(bsn_encryption_key=key, bsn_hmac_key=key, activation_code_key=key)
    for cls, extra in ((IdentitySettings, bsn_keys), (DossierSettings, {}), (NotificationSettings, {}),
                       (DocumentSettings, {})):
        with pytest.raises(ValidationError, match="EVENT_SEAL_KEY must be set when ENVIRONMENT=production"):
            cls(environment="production", **extra)
        assert cls(environment="production", event_seal_key=key, **extra).environment == "production"
    assert PortalSettings(environment="production").environment == "production", "the portal holds no seal key"
    with pytest.raises(ValidationError, match="EVENT_SEAL_KEY is not valid base64"):
        NotificationSettings(event_seal_key="geen base64!")
    with pytest.raises(ValidationError, match="must decode to 32 bytes"):
        NotificationSettings(event_seal_key=base64.b64encode(b"kort").decode())
    with pytest.raises(ValidationError, match="EVENT_SEAL_OLD_KEYS"):
        NotificationSettings(event_seal_key=key, event_seal_old_keys=f"{key},kapot")
    ring = keyring_from(NotificationSettings(event_seal_key=key, event_seal_old_keys=DEV_EVENT_SEAL_KEY))
    assert len(ring.key_ids) == 2
    assert keyring_from(NotificationSettings()).current_id == Keyring(base64.b64decode(DEV_EVENT_SEAL_KEY)).current_id
    with pytest.raises(SealError):
        keyring_from(PortalSettings(environment="production"))  # a process without a key seals nothing


def test_the_process_keyring_is_the_environments_unless_installed():
    ring = _ring()
    with using(ring):
        assert keyring() is ring
        assert Sealed("x").sealed().split(":")[2] == ring.current_id
    assert keyring() is not ring


def test_compose_gives_the_seal_key_to_every_service_that_seals_and_not_to_the_portal():
    import yaml

    from tests.unit.test_compose import COMPOSE_FILE, _environment

    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    for name in ("identity", "dossier", "notification", "document", "demo-data"):
        env_ = _environment(services[name])
        assert env_["EVENT_SEAL_KEY"] == "${EVENT_SEAL_KEY:-}", name  # one value for all; unset: the dev key
        assert env_["EVENT_SEAL_OLD_KEYS"] == "${EVENT_SEAL_OLD_KEYS:-}", name
    assert "EVENT_SEAL_KEY" not in _environment(services["portal"])
