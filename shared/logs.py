"""JSON logs on stdout, with the request id and the trace id of the work in progress."""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import traceback

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_service_name = "service"


try:
    from opentelemetry import trace as _trace
except ImportError:  # pragma: no cover - a dependency; logs go on without it
    _trace = None


def _trace_id() -> str | None:
    """The W3C trace id of the work in progress (shared.tracing), or None."""
    if _trace is None:
        return None
    sc = _trace.get_current_span().get_span_context()
    return f"{sc.trace_id:032x}" if sc.is_valid else None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": _service_name,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        trace_id = _trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        extra = getattr(record, "fields", None)
        if extra:
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        return format_exception_safely(ei[1]) if ei and ei[1] is not None else super().formatException(ei)


_QUERY_ARGUMENT = re.compile(r"(invalid input for query argument \$\d+).*", re.S)


def safe_error_text(exc: BaseException) -> str | None:
    """What a log may say of an error that can carry row or input values, or None for any other
    error. PostgreSQL's message and DETAIL ("Failing row contains (...)") hold the values of the
    row: only the sqlstate and the names of the constraint, table and column are kept. asyncpg's
    "invalid input for query argument $2: <value>" loses the value; a pydantic ValidationError
    keeps where and what, not the input."""
    import asyncpg
    from asyncpg.exceptions import _base as asyncpg_base
    from pydantic import ValidationError

    if isinstance(exc, asyncpg.PostgresError):
        names = {k: getattr(exc, k, None) for k in ("table_name", "column_name", "constraint_name")}
        return " ".join([f"sqlstate={exc.sqlstate}"]
                        + [f"{k.removesuffix('_name')}={v}" for k, v in names.items() if v])
    if isinstance(exc, asyncpg_base.InterfaceError):
        return _QUERY_ARGUMENT.sub(r"\1 (value left out)", str(exc))
    if isinstance(exc, ValidationError):
        return f"{exc.error_count()} validation errors for {exc.title}: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))} {e['type']}" for e in exc.errors(include_url=False, include_input=False))
    return None


def describe_error(exc: BaseException) -> str:
    """``TypeName: text`` of an error for a log field or a message header, without row values."""
    text = safe_error_text(exc)
    return f"{type(exc).__name__}: {text if text is not None else exc}"


def format_exception_safely(exc: BaseException) -> str:
    """The traceback of ``exc`` and the errors it was raised from, as ``traceback`` prints it,
    with the text of every error that can carry row values replaced (``safe_error_text``)."""
    te = traceback.TracebackException.from_exception(exc)
    pending: list[tuple[traceback.TracebackException, BaseException | None]] = [(te, exc)]
    seen: set[int] = set()
    while pending:
        node, error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if (text := safe_error_text(error)) is not None:
            node._str = text  # what format() prints after the exception's type
        if node.__cause__ is not None:
            pending.append((node.__cause__, error.__cause__))
        if node.__context__ is not None:
            pending.append((node.__context__, error.__context__))
        for sub_node, sub_error in zip(node.exceptions or [], getattr(error, "exceptions", None) or []):
            pending.append((sub_node, sub_error))
    return "".join(te.format()).rstrip("\n")


def setup_logging(service_name: str, level: str = "INFO") -> None:
    global _service_name
    _service_name = service_name
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def log_fields(**fields: object) -> dict:
    """``logger.info("...", extra=log_fields(x=1))`` puts x into the JSON entry."""
    return {"fields": fields}
