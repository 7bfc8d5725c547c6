"""Typed inputs a paused flow waits for, and the checking of answers against them.

A wait names what it expects as a `RunInput` subclass, any pydantic model, or a
plain type (`str`, `int`, `float`, `bool`, an `Enum` class, `Literal[...]`, or any
other type pydantic validates, such as `list[int]` or `tuple[str, str]`).
`input_spec` turns that into an `InputSpec`, which can be stored as JSON and
rebuilt in another process (the web form, the CLI, a worker).

An answer is checked by `validate` before it is accepted, so a refused answer
leaves the run waiting and tells the person which field is wrong. The flow then
gets `to_value` of the stored answer: the model instance, or the bare value for
plain types.

When the model's class cannot be imported (it was defined inside a function, or
the module is missing in this process), answers are checked against the stored
JSON Schema instead. That checks types and field constraints (patterns, lengths,
ranges, choices) but not the model's Python validators: cross-field rules are
checked again when the flow turns the answer into its model.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import functools
import sys
import threading
from typing import Any, ClassVar, Literal, TypeVar, cast, get_origin

import pydantic
import pydantic_core

from tarry import errors, loader
from tarry.forms import patterns

__all__ = [
    "ApprovalAnswer",
    "InputSpec",
    "StrictInput",
    "approval_spec",
    "derive",
    "initial_complete",
    "input_spec",
    "to_value",
    "validate",
]

_ModelT = TypeVar("_ModelT", bound=pydantic.BaseModel)
_PLAIN_TYPES: tuple[type, ...] = (str, int, float, bool)
_DERIVATION = "_tarry_derivation"
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


@dataclasses.dataclass(frozen=True)
class _Derivation:
    """How `with_initial_data` made a class: from `base`, with `initial` and `description`."""

    base: type[pydantic.BaseModel]
    initial: dict[str, Any]
    description: str | None


class StrictInput(pydantic.BaseModel):
    """A model that refuses unknown fields: the base of every input a wait expects.

    `tarry.input.RunInput` adds the verbs users call (`with_initial_data`,
    `send_to`, `receive`); automatic inputs of plain types build on this directly.
    """

    model_config = pydantic.ConfigDict(extra="forbid")

    _tarry_derivation: ClassVar[_Derivation | None] = None


class ApprovalAnswer(StrictInput):
    """What `approve` asks for: approve (`True`) or reject (`False`), and why.

    The flow gets `value`; the comment stays with the stored answer. An answer
    without a comment is stored as `{"value": ...}`, as a plain `bool` wait's is.
    """

    value: bool
    comment: str | None = pydantic.Field(
        None, max_length=2000, title="Comment", description="Why, in a sentence (optional)."
    )

    @pydantic.model_serializer(mode="wrap")
    def _without_empty_comment(
        self, handler: pydantic.SerializerFunctionWrapHandler
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not data.get("comment"):
            data.pop("comment", None)
        return data


def approval_spec() -> InputSpec:
    """The input `approve` waits for: an `ApprovalAnswer`, whose `value` the flow gets."""
    return _APPROVAL_SPEC


def _derivation(model: type[pydantic.BaseModel]) -> _Derivation | None:
    # Read from the class itself: a hand-written subclass of a derived class is not derived.
    found = vars(model).get(_DERIVATION)
    return found if isinstance(found, _Derivation) else None


def derive(model: type[_ModelT], description: str | None, initial: dict[str, Any]) -> type[_ModelT]:
    """A subclass of `model` whose fields default to `initial` and whose form shows `description`.

    What `RunInput.with_initial_data` makes; see there. Deriving from a derived
    class merges the initial data (and keeps the description unless a new one is given).

    Raises:
        TypeError: A key of `initial` is not a field of `model`.
    """
    known = _derivation(model)
    new = {_field_name(model, key): value for key, value in initial.items()}
    merged = {**(known.initial if known else {}), **new}
    if description is None and known is not None:
        description = known.description
    fields: dict[str, Any] = {
        name: _with_default(model.model_fields[name], value) for name, value in new.items()
    }
    derived = pydantic.create_model(
        model.__name__,
        __base__=model,
        __module__=model.__module__,
        __qualname__=model.__qualname__,
        __doc__=model.__doc__,
        **fields,
    )
    setattr(derived, _DERIVATION, _Derivation(known.base if known else model, merged, description))
    return derived


def _field_name(model: type[pydantic.BaseModel], key: str) -> str:
    if key in model.model_fields:
        return key
    for name, field in model.model_fields.items():
        if field.alias == key:
            return name
    raise TypeError(f"{model.__name__} has no field {key!r} to give initial data to")


def _with_default(field: pydantic.fields.FieldInfo, value: Any) -> tuple[Any, Any]:
    # A copy keeps the title, description, constraints and alias; only the default changes.
    info = copy.copy(field)
    info.default = value
    info.default_factory = None
    return field.annotation, info


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """What a wait expects, in a form that can be stored and rebuilt in another process.

    Build one with `input_spec`; store `to_json()` and rebuild it with `from_json`.
    """

    schema: dict[str, Any]
    """JSON Schema of the answer (pydantic's `model_json_schema`), with field titles,
    descriptions, constraints, and initial data as each field's `default`."""
    description: str | None
    """Markdown shown above the answer form."""
    initial: dict[str, Any]
    """Initial data by field alias, as JSON-compatible data."""
    unwrap: bool
    """True for automatic inputs of plain types: the flow gets the answer's `value`."""
    model_ref: str | None
    """`loader.object_ref` of the importable model class (the base class of a
    `with_initial_data` class), or None when it cannot be imported."""
    model: type[pydantic.BaseModel] | None = dataclasses.field(default=None, compare=False)
    """The live model class, when known; None means answers are checked by `schema`."""
    value_type_ref: str | None = None
    """For automatic inputs: `loader.object_ref` of the plain type or Enum class, or None
    (a `Literal`, or an Enum that cannot be imported)."""
    title: str | None = None
    """The form's heading (the wait's `title=`); `None`: one is made from the description,
    the wait's name or the flow's name (`tarry.forms.headings`)."""

    def to_json(self) -> dict[str, Any]:
        """The spec as JSON-compatible data, everything but `model`.

        Returns:
            A dict with the keys `schema`, `description`, `initial`, `unwrap`,
            `model_ref` and `value_type_ref`, as the attributes of the same names, and
            `title` when there is one (a spec without one is stored as it always was).
        """
        data: dict[str, Any] = {
            "schema": self.schema,
            "description": self.description,
            "initial": self.initial,
            "unwrap": self.unwrap,
            "model_ref": self.model_ref,
            "value_type_ref": self.value_type_ref,
        }
        if self.title is not None:
            data["title"] = self.title
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], *, import_timeout: float | None = None) -> InputSpec:
        """Rebuild a spec from `to_json` data, with its live model when that can be imported.

        The model is `model_ref`'s class with `initial` and `description` applied
        again, or the automatic input of `value_type_ref` (a `Literal` input is
        rebuilt from the schema's choices). When the class cannot be imported,
        `model` stays None and answers are checked against `schema`.

        Args:
            data: What `to_json` returned.
            import_timeout: The most seconds importing the model's file may take
                (see `loader.load_object`); `None`: no limit.

        Returns:
            The rebuilt spec.
        """
        spec = cls(
            schema=data["schema"],
            description=data.get("description"),
            initial=dict(data.get("initial") or {}),
            unwrap=bool(data.get("unwrap")),
            model_ref=data.get("model_ref"),
            value_type_ref=data.get("value_type_ref"),
            title=data.get("title"),
        )
        return dataclasses.replace(spec, model=_rebuild_model(spec, import_timeout))


def _rebuild_model(spec: InputSpec, timeout: float | None) -> type[pydantic.BaseModel] | None:
    try:
        if spec.model_ref:
            return _rebuild_from_ref(spec.model_ref, spec, timeout)
        if spec.value_type_ref:
            found = loader.load_object(spec.value_type_ref, timeout=timeout)
            return _auto_model(_value_type(found))
        if spec.unwrap:
            return _literal_model(spec.schema)
    except (errors.FlowLoadError, TypeError, ValueError):
        return None
    return None


def _rebuild_from_ref(
    ref: str, spec: InputSpec, timeout: float | None
) -> type[pydantic.BaseModel] | None:
    base = loader.load_object(ref, timeout=timeout)
    if not (isinstance(base, type) and issubclass(base, pydantic.BaseModel)):
        return None
    if spec.initial or spec.description is not None:
        return derive(base, spec.description, spec.initial)
    return base


def _literal_model(schema: dict[str, Any]) -> type[pydantic.BaseModel] | None:
    value = schema.get("properties", {}).get("value", {})
    choices = value.get("enum", [value["const"]] if "const" in value else None)
    if not choices:
        return None
    return _auto_model(cast(Any, Literal)[tuple(choices)])


_spec_cache: dict[Any, InputSpec] = {}
_spec_cache_lock = threading.Lock()


def input_spec(wait_for_input: Any) -> InputSpec:
    """Describe what a wait expects (cached per type: a flow asks the same thing often).

    See `_input_spec` for the accepted types.

    Raises:
        TypeError: `wait_for_input` is not an accepted type.
    """
    try:
        with _spec_cache_lock:
            cached = _spec_cache.get(wait_for_input)
    except TypeError:  # an unhashable type form: describe it every time
        return _input_spec(wait_for_input)
    if cached is None:
        cached = _input_spec(wait_for_input)
        with _spec_cache_lock:
            _spec_cache[wait_for_input] = cached
    return cached


def _input_spec(wait_for_input: Any) -> InputSpec:
    """Describe what a wait expects.

    Args:
        wait_for_input: A `RunInput` subclass (including `with_initial_data`
            results), any pydantic model class, or a plain type: `str`, `int`,
            `float`, `bool`, an `Enum` class, `Literal[...]` or any other type
            pydantic validates (`list[int]`, `tuple[str, str]`, `int | None`). A
            plain type becomes an automatic input with one required field,
            `value`, which the flow gets unwrapped.

    Returns:
        The spec.

    Raises:
        TypeError: `wait_for_input` is none of these.
    """
    if isinstance(wait_for_input, type) and issubclass(wait_for_input, pydantic.BaseModel):
        return _model_spec(wait_for_input)
    value_type = _value_type(wait_for_input)
    model = _auto_model(value_type)
    return InputSpec(
        schema=model.model_json_schema(),
        description=None,
        initial={},
        unwrap=True,
        model_ref=None,
        model=model,
        value_type_ref=None if get_origin(value_type) is Literal else _importable_ref(value_type),
    )


def _model_spec(model: type[pydantic.BaseModel]) -> InputSpec:
    known = _derivation(model)
    return InputSpec(
        schema=model.model_json_schema(),
        description=known.description if known else None,
        initial=_json_initial(model, known.initial) if known else {},
        unwrap=False,
        model_ref=_importable_ref(known.base if known else model),
        model=model,
    )


def _json_initial(model: type[pydantic.BaseModel], initial: dict[str, Any]) -> dict[str, Any]:
    fields = model.model_fields
    return {
        fields[name].alias or name: pydantic_core.to_jsonable_python(value)
        for name, value in initial.items()
    }


def _value_type(candidate: Any) -> Any:
    if any(candidate is kind for kind in _PLAIN_TYPES) or get_origin(candidate) is Literal:
        return candidate
    if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
        return candidate
    # Any other type pydantic validates (`list[int]`, `tuple[str, str]`, a union), as
    # Prefect's automatic inputs take: it must describe itself as a JSON Schema.
    if candidate is None or isinstance(candidate, str):  # no input; a forward reference
        raise _not_an_input(candidate)
    try:
        pydantic.TypeAdapter(candidate).json_schema()
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError):
        pass
    else:
        return candidate
    raise _not_an_input(candidate)


def _not_an_input(candidate: Any) -> TypeError:
    return TypeError(
        "wait_for_input must be a RunInput or pydantic model class, or a type pydantic "
        "validates (str, int, float, bool, an Enum class, Literal[...], list[int], "
        f"tuple[str, str], a union, ...); got {candidate!r}"
    )


def _auto_model(value_type: Any) -> type[StrictInput]:
    try:
        return _cached_auto_model(value_type)
    except TypeError:  # an unhashable type form: build it every time
        return _build_auto_model(value_type)


@functools.cache
def _cached_auto_model(value_type: Any) -> type[StrictInput]:
    return _build_auto_model(value_type)


def _build_auto_model(value_type: Any) -> type[StrictInput]:
    # A float answer must be finite: JSON has no infinity or NaN.
    annotation = pydantic.FiniteFloat if value_type is float else value_type
    # Named as it always was: the name is the schema's title, which stored waits and forms show.
    return pydantic.create_model(
        "AutomaticRunInput", __base__=StrictInput, __module__="tarry.input", value=(annotation, ...)
    )


def _importable_ref(obj: Any) -> str | None:
    """`loader.object_ref(obj)` if another process can import `obj` by it, else None."""
    if not isinstance(obj, type):  # `list[int]`, `int | None`: checked by their schema there
        return None
    # Look the name up where `obj` was defined instead of importing: importing a
    # script run as __main__ would run it again.
    found: Any = sys.modules.get(obj.__module__)
    for part in obj.__qualname__.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        return None
    ref = loader.object_ref(obj)
    # A class of `python -c` or an interactive session has no file to import it from.
    if obj.__module__ == "__main__" and not ref.rpartition(":")[0].endswith(".py"):
        return None
    return ref


def validate(spec: InputSpec, data: Any) -> dict[str, Any]:
    """Check an answer before it is accepted.

    With `spec.model`, the answer is validated by pydantic: types, constraints,
    field validators (including v1-style `@pydantic.validator`) and model
    validators. Without it, the answer is checked against `spec.schema` (JSON
    Schema draft 2020-12), which cannot run Python validators.

    Args:
        spec: What the wait expects.
        data: The answer: a dict of fields (missing fields take `spec.initial`),
            the bare value for plain-type inputs (`"Jeff"` or `{"value": "Jeff"}`),
            or None to accept the initial data.

    Returns:
        The answer to store, as JSON-compatible data.

    Raises:
        errors.InputInvalid: The answer does not fit; one `FieldError` per problem,
            with `loc == ()` for rules about the whole input.
    """
    answer = _answer_object(spec, data)
    try:
        if spec.model is None:
            return _validate_with_schema(spec.schema, answer)
        return _validate_with_model(spec.model, answer)
    except errors.InputInvalid as exc:
        raise errors.InputInvalid([_for_people(spec.schema, e) for e in exc.field_errors]) from exc


def _for_people(schema: dict[str, Any], error: errors.FieldError) -> errors.FieldError:
    """A pattern mismatch said as the field says it (`patterns.pattern_message`), not as a regex."""
    if error.type not in patterns.PATTERN_ERROR_TYPES or len(error.loc) != 1:
        return error
    prop = (schema.get("properties") or {}).get(error.loc[0])
    if not isinstance(prop, dict):
        return error
    return dataclasses.replace(error, message=patterns.pattern_message(prop))


def _answer_object(spec: InputSpec, data: Any) -> dict[str, Any]:
    if data is None:
        data = {}
    elif spec.unwrap and (not isinstance(data, dict) or _bare_object(spec, data)):
        data = {"value": data}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise errors.InputInvalid(
            [errors.FieldError((), f"expected an object of fields, got {kind}", "model_type")]
        )
    return {**spec.initial, **data}


def _bare_object(spec: InputSpec, data: dict[str, Any]) -> bool:
    """Whether `data` is the bare value of an input whose value may be an object itself.

    `{"value": ...}` is taken as the input's one field, as for every plain type.
    """
    if set(data) == {"value"}:
        return False
    value = spec.schema.get("properties", {}).get("value", {})
    shapes = [value, *value.get("anyOf", ()), *value.get("oneOf", ())]
    return any(s.get("type") == "object" or "$ref" in s or not _SHAPE_KEYS & set(s) for s in shapes)


# The keys that limit what a JSON Schema takes; one with none of them takes anything.
_SHAPE_KEYS = frozenset({"type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const"})


def _validate_with_model(model: type[pydantic.BaseModel], answer: dict[str, Any]) -> dict[str, Any]:
    try:
        instance = model.model_validate(answer)
    except pydantic.ValidationError as exc:
        raise errors.InputInvalid([_pydantic_error(e) for e in exc.errors()]) from exc
    except Exception as exc:
        # A validator that fails by accident (e.g. `values["size"]` after `size`
        # was refused) refuses the answer instead of breaking the caller.
        message = f"{model.__name__} could not check this answer: {type(exc).__name__}: {exc}"
        raise errors.InputInvalid([errors.FieldError((), message, "validator_error")]) from exc
    return instance.model_dump(mode="json", by_alias=True)


def _pydantic_error(error: pydantic_core.ErrorDetails) -> errors.FieldError:
    message = error["msg"]
    for prefix in _PYDANTIC_PREFIXES:
        message = message.removeprefix(prefix)
    return errors.FieldError(tuple(error["loc"]), message, error["type"])


def _validate_with_schema(schema: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    import jsonschema  # type: ignore[import-untyped]  # noqa: PLC0415 - slow; rarely needed

    checker = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    found: dict[tuple[str | int, ...], errors.FieldError] = {}
    for error in checker.iter_errors(answer):
        for field_error in _schema_errors(jsonschema.exceptions.best_match([error])):
            found.setdefault(field_error.loc, field_error)
    if found:
        raise errors.InputInvalid(_in_field_order(schema, list(found.values())))
    return {**_schema_defaults(schema), **answer}


def _in_field_order(
    schema: dict[str, Any], found: list[errors.FieldError]
) -> list[errors.FieldError]:
    # As pydantic reports them: by field, unknown fields last.
    order = {name: index for index, name in enumerate(schema.get("properties", {}))}
    return sorted(found, key=lambda e: order.get(e.loc[0], len(order)) if e.loc else -1)


def _schema_errors(error: Any) -> list[errors.FieldError]:
    path: tuple[str | int, ...] = tuple(error.absolute_path)
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in instance]
        return [errors.FieldError((*path, name), "Field required", "missing") for name in missing]
    if error.validator == "additionalProperties":
        known = error.schema.get("properties", {})
        extra = [name for name in instance if name not in known]
        message = "Extra inputs are not permitted"
        return [errors.FieldError((*path, name), message, "extra_forbidden") for name in extra]
    return [errors.FieldError(path, error.message, str(error.validator))]


def _schema_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    return {
        name: copy.deepcopy(prop["default"])
        for name, prop in properties.items()
        if isinstance(prop, dict) and "default" in prop
    }


def to_value(spec: InputSpec, stored: dict[str, Any]) -> Any:
    """What the flow's wait returns for a stored answer.

    Args:
        spec: What the wait expects.
        stored: What `validate` returned.

    Returns:
        The model instance, or for plain-type inputs the bare value (such as the
        `str` or the `Enum` member). Without `spec.model`: a plain dict, or the
        raw value for plain-type inputs.

    Raises:
        pydantic.ValidationError: The answer no longer fits the model (it is
            validated again, as in Prefect, where the flow sees this error).
    """
    if spec.model is None:
        return stored["value"] if spec.unwrap else dict(stored)
    instance = spec.model.model_validate(stored)
    return cast(Any, instance).value if spec.unwrap else instance


_APPROVAL_SPEC = InputSpec(
    # Without the class's docstring: it is for programmers, not for the person who decides.
    schema={k: v for k, v in ApprovalAnswer.model_json_schema().items() if k != "description"},
    description=None,
    initial={},
    unwrap=True,
    model_ref="tarry.waits:ApprovalAnswer",
    model=ApprovalAnswer,
)


def initial_complete(spec: InputSpec) -> bool:
    """Whether every required field has initial data.

    Args:
        spec: What the wait expects.

    Returns:
        True if the wait can be answered with "accept the initial data"
        (`validate(spec, None)`, `resume_flow_run(run_id)` without input).
    """
    required: list[str] = spec.schema.get("required", [])
    return all(name in spec.initial for name in required)


# Stored values name their class by `module:qualname`: it keeps the public path it had
# before the engine package, so stores written before and after the move read alike.
InputSpec.__module__ = "tarry.input"
ApprovalAnswer.__module__ = "tarry.waits"
