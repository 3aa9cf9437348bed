"""Every string field of identity's request bodies (and of the administrator's school query)
refuses control characters with the Dutch message, so a field added later cannot forget it."""
from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from services.identity.app import api  # imports every route module
from services.identity.routes.schools import SchoolQuery
from shared.text import MULTI_LINE_MESSAGE, SINGLE_LINE_MESSAGE

# refusals that say a field is no free text at all (a choice, a number, an id, a fixed pattern)
NOT_TEXT = {"literal_error", "uuid_type", "uuid_parsing", "int_type", "int_parsing", "bool_type", "bool_parsing",
            "list_type", "string_pattern_mismatch"}


def request_models() -> list[type[BaseModel]]:
    return sorted({op.body for op in api.operations if op.body is not None} | {SchoolQuery},
                  key=lambda m: m.__name__)


def field_errors(model: type[BaseModel], field: str, value: str) -> list[dict]:
    """The field's errors; of a union (a JWK object or PEM text), those of its text branch."""
    try:
        model.model_validate({field: value})
    except ValidationError as exc:
        return [e for e in exc.errors() if e["loc"][:1] == (field,) and e["type"] != "dict_type"]
    return []


def multi_line(model: type[BaseModel], field: str) -> bool:
    """A text of several lines (a PEM key): line breaks and tabs are allowed, other control characters not."""
    return "_multi_line" in repr(model.model_fields[field].annotation)


@pytest.mark.parametrize("model", request_models(), ids=lambda m: m.__name__)
@pytest.mark.parametrize("char", ["\x00", "\n", "\r", "\t", "\x1b", "\x7f"])
def test_every_string_field_refuses_control_characters(model, char):
    for field in model.model_fields:
        errors = field_errors(model, field, f"ab{char}cd")
        if {e["type"] for e in errors} & NOT_TEXT:
            continue
        if multi_line(model, field):
            expected = [] if char in "\n\r\t" else [MULTI_LINE_MESSAGE]
        else:
            expected = [SINGLE_LINE_MESSAGE]
        assert [e["ctx"]["error"].args[0] for e in errors] == expected, (model.__name__, field)


def test_the_models_cover_the_bodies_with_free_text():
    names = {m.__name__ for m in request_models()}
    assert {"LoginIn", "RegistrationIn", "StaffIn", "SchoolIn", "StudentSearchIn", "SchoolQuery"} <= names
