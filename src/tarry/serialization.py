"""JSON encoding of parameters, results and errors; no pickle in the store.

JSON-native values (str, int, float, bool, None, lists, dicts with str keys) are
stored as they are. Other supported values are stored as a tagged object
``{"__tarry__": tag, ...}`` so replay returns an equal value of the same type.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import json
import sys
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from tarry import errors, loader

__all__ = [
    "decode",
    "dumps",
    "encode",
    "error_from_json",
    "error_to_json",
    "inputs_digest",
    "loads",
    "plain",
]

_TAG = "__tarry__"
_NATIVE = (str, int, float, bool, type(None))


def encode(value: Any) -> Any:
    """Turn `value` into JSON-compatible data that `decode` turns back.

    Raises:
        errors.SerializationError: The value's type is not supported.
    """
    if isinstance(value, _NATIVE) and not isinstance(value, enum.Enum):
        return value
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return _encode_dict(value)
    return _encode_other(value)


def _encode_dict(value: dict[Any, Any]) -> Any:
    if all(isinstance(k, str) for k in value) and _TAG not in value:
        return {k: encode(v) for k, v in value.items()}
    return {_TAG: "dict", "items": [[encode(k), encode(v)] for k, v in value.items()]}


def _encode_other(value: Any) -> Any:
    # pydantic is imported only by programs that use it: if it is not loaded,
    # the value cannot be a model (and `import tarry` stays fast).
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        return {
            _TAG: "model",
            "type": _qualname(type(value)),
            "data": value.model_dump(mode="json"),
        }
    for kind, tag, to_json in _ENCODERS:
        if isinstance(value, kind):
            return {_TAG: tag, **to_json(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {_TAG: "dataclass", "type": _qualname(type(value)), "fields": fields}
    raise errors.SerializationError(
        f"cannot store a value of type {_qualname(type(value))}. "
        + " ".join((errors.SerializationError.__doc__ or "").split("\n\n")[1].split())
    )


def _qualname(kind: type) -> str:
    return loader.object_ref(kind)


def _import(ref: str) -> Any:
    return loader.load_object(ref)


_ENCODERS: list[tuple[type, str, Callable[[Any], dict[str, Any]]]] = [
    (enum.Enum, "enum", lambda v: {"type": _qualname(type(v)), "value": encode(v.value)}),
    (tuple, "tuple", lambda v: {"items": [encode(x) for x in v]}),
    (frozenset, "frozenset", lambda v: {"items": [encode(x) for x in v]}),
    (set, "set", lambda v: {"items": [encode(x) for x in v]}),
    (dt.datetime, "datetime", lambda v: {"iso": v.isoformat()}),
    (dt.date, "date", lambda v: {"iso": v.isoformat()}),
    (dt.time, "time", lambda v: {"iso": v.isoformat()}),
    (dt.timedelta, "timedelta", lambda v: {"seconds": v.total_seconds()}),
    (uuid.UUID, "uuid", lambda v: {"hex": str(v)}),
    (decimal.Decimal, "decimal", lambda v: {"str": str(v)}),
    (bytes, "bytes", lambda v: {"b64": base64.b64encode(v).decode()}),
]

_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "dict": lambda o: {decode(k): decode(v) for k, v in o["items"]},
    "model": lambda o: _import(o["type"]).model_validate(o["data"]),
    "enum": lambda o: _import(o["type"])(decode(o["value"])),
    "dataclass": lambda o: _import(o["type"])(**{k: decode(v) for k, v in o["fields"].items()}),
    "tuple": lambda o: tuple(decode(x) for x in o["items"]),
    "frozenset": lambda o: frozenset(decode(x) for x in o["items"]),
    "set": lambda o: {decode(x) for x in o["items"]},
    "datetime": lambda o: dt.datetime.fromisoformat(o["iso"]),
    "date": lambda o: dt.date.fromisoformat(o["iso"]),
    "time": lambda o: dt.time.fromisoformat(o["iso"]),
    "timedelta": lambda o: dt.timedelta(seconds=o["seconds"]),
    "uuid": lambda o: uuid.UUID(o["hex"]),
    "decimal": lambda o: decimal.Decimal(o["str"]),
    "bytes": lambda o: base64.b64decode(o["b64"]),
}


def decode(data: Any) -> Any:
    """Turn data made by `encode` back into the value.

    Raises:
        errors.SerializationError: A tagged type cannot be imported or rebuilt.
    """
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(_TAG)
    if tag is None:
        return {k: decode(v) for k, v in data.items()}
    try:
        return _DECODERS[tag](data)
    except (errors.FlowLoadError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise errors.SerializationError(f"cannot rebuild a stored {tag}: {exc}") from exc


def plain(data: Any) -> Any:
    """Stored data as plain JSON for people and other programs; nothing is imported.

    What `encode` tagged loses its tag: a model or a dataclass becomes its fields, an
    enum its value, tuples and sets lists, dates and times ISO strings, a timedelta its
    seconds, a UUID or decimal its text, bytes their base64. The API and the UI show
    this; `decode` stays the way back to the values themselves.
    """
    if isinstance(data, list):
        return [plain(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(_TAG)
    if tag is None:
        return {k: plain(v) for k, v in data.items()}
    untag = _PLAIN.get(tag)
    return data if untag is None else untag(data)


def _plain_key(key: Any) -> str:
    return key if isinstance(key, str) else json.dumps(key)


def _plain_items(data: dict[str, Any]) -> list[Any]:
    return [plain(x) for x in data["items"]]


_PLAIN: dict[str, Callable[[dict[str, Any]], Any]] = {
    "dict": lambda o: {_plain_key(plain(k)): plain(v) for k, v in o["items"]},
    "model": lambda o: plain(o["data"]),
    "dataclass": lambda o: {k: plain(v) for k, v in o["fields"].items()},
    "enum": lambda o: plain(o["value"]),
    "tuple": _plain_items,
    "frozenset": _plain_items,
    "set": _plain_items,
    "datetime": lambda o: o["iso"],
    "date": lambda o: o["iso"],
    "time": lambda o: o["iso"],
    "timedelta": lambda o: o["seconds"],
    "uuid": lambda o: o["hex"],
    "decimal": lambda o: o["str"],
    "bytes": lambda o: o["b64"],
}


def dumps(value: Any) -> str:
    """Encode `value` and render it as compact JSON text."""
    return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None) -> Any:
    """Parse JSON text made by `dumps` back into the value (`None` stays `None`)."""
    return None if text is None else decode(json.loads(text))


def inputs_digest(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """A short, stable digest of a step's inputs.

    Values that cannot be encoded count by their type only, so an object whose
    `repr` holds a memory address still digests the same on every replay.
    """
    payload = json.dumps(
        [_digestible(list(args)), _digestible(kwargs)],
        separators=(",", ":"),
        sort_keys=True,
        default=str,
    )
    return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


def _digestible(value: Any) -> Any:
    try:
        return encode(value)
    except errors.SerializationError:
        if isinstance(value, list | tuple):
            return [_digestible(v) for v in value]
        if isinstance(value, dict):
            return {str(k): _digestible(v) for k, v in value.items()}
        return {_TAG: "opaque", "type": _qualname(type(value))}


def error_to_json(exc: BaseException) -> dict[str, Any]:
    """Describe an exception as JSON data: type, message, arguments, attributes, traceback."""
    return {
        "type": _qualname(type(exc)),
        "message": str(exc),
        "args": _encoded_or_none(list(exc.args)),
        "attrs": _encoded_or_none(dict(getattr(exc, "__dict__", {}))),
        "traceback": "".join(traceback.format_exception(exc)),
    }


def _encoded_or_none(value: Any) -> Any:
    try:
        return encode(value)
    except errors.SerializationError:
        return None


def error_from_json(data: dict[str, Any]) -> BaseException:
    """Rebuild an exception described by `error_to_json`.

    The original type is rebuilt when it can be imported and gives back the same
    message; otherwise the result is `errors.StepFailed`, which keeps the type
    name and message.
    """
    fallback = errors.StepFailed(data["type"].replace(":", "."), data["message"])
    try:
        kind = _import(data["type"])
    except errors.FlowLoadError:
        return fallback
    if not (isinstance(kind, type) and issubclass(kind, Exception)) or data["args"] is None:
        return fallback
    rebuilt = _rebuild(kind, decode(data["args"]), decode(data.get("attrs") or {}))
    return rebuilt if rebuilt is not None and _message(rebuilt) == data["message"] else fallback


def _rebuild(kind: type[Exception], args: list[Any], attrs: dict[str, Any]) -> Exception | None:
    try:
        exc = kind(*args)
    except Exception:  # noqa: BLE001 - its __init__ wants other arguments
        # Build it without running the subclass's __init__; OSError subclasses
        # (TimeoutError) leave `args` to __init__, so set them here.
        exc = kind.__new__(kind, *args)
        exc.args = tuple(args)
    exc.__dict__.update(attrs)
    return exc


def _message(exc: Exception) -> str | None:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a __str__ that needs what __init__ would have set
        return None
