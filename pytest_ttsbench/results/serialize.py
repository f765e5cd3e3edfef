"""One JSON serializer for the result model, derived from the dataclass fields: what a
field holds is its type annotation, so no type writes or reads its own dict by hand.

A field's ``metadata`` (see :func:`json_field`) may say:

- ``key``: its JSON name when that differs from the attribute's;
- ``place``: the key of a sub-object it lives in (``"details"``: schema 1 keeps the
  typed details of a result beside the engine's free-form ones);
- ``inline``: a dataclass value whose fields are written into the parent object;
- ``omit``: ``"none"`` leaves the key out when the value is None, ``"empty"`` when it
  is None or empty (files written before the field existed read back the same).

A class may name computed properties to write first in ``__json_computed__`` (they are
ignored when read). Pure: no pytest.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")
Omit = Literal["", "none", "empty"]


def json_field(
    *,
    default: Any = dataclasses.MISSING,
    default_factory: Any = dataclasses.MISSING,
    key: str = "",
    place: str = "",
    inline: bool = False,
    omit: Omit = "",
) -> Any:
    """A dataclass field with where and how it is written in JSON."""
    meta = {"key": key, "place": place, "inline": inline, "omit": omit}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _omitted(value: Any, omit: str) -> bool:
    if omit == "none":
        return value is None
    if omit == "empty":
        return value is None or value == [] or value == {}
    return False


def to_json(value: Any) -> Any:
    """A dataclass (or a list, dict or plain value of them) as plain JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for name in getattr(value, "__json_computed__", ()):
            out[name] = to_json(getattr(value, name))
        for f in dataclasses.fields(value):
            meta = f.metadata
            item = getattr(value, f.name)
            if _omitted(item, meta.get("omit", "")):
                continue
            into = out.setdefault(meta["place"], {}) if meta.get("place") else out
            if meta.get("inline"):
                if item is not None:
                    into.update(to_json(item))
                continue
            into[meta.get("key") or f.name] = to_json(item)
        return out
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def from_json(cls: type[T], data: typing.Mapping[str, Any]) -> T:
    """Read :func:`to_json` output back into ``cls``; keys it does not know are left
    alone, missing ones take the field's default."""
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        meta = f.metadata
        source = data.get(meta["place"], {}) if meta.get("place") else data
        if meta.get("inline"):
            kind = _optional_of(hints[f.name])
            names = _json_names(kind)
            if any(n in source for n in names):
                kwargs[f.name] = from_json(kind, source)
            continue
        key = meta.get("key") or f.name
        if key in source:
            kwargs[f.name] = _convert(hints[f.name], source[key])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KeyError(key)  # readers name the missing field
    return cls(**kwargs)


def json_keys(cls: type, place: str) -> set[str]:
    """The JSON keys ``cls`` writes into the sub-object ``place`` (inline ones too)."""
    hints = get_type_hints(cls)
    found: set[str] = set()
    for f in dataclasses.fields(cls):
        if f.metadata.get("place") != place:
            continue
        if f.metadata.get("inline"):
            found |= _json_names(_optional_of(hints[f.name]))
        else:
            found.add(f.metadata.get("key") or f.name)
    return found


def _json_names(cls: type) -> set[str]:
    return {f.metadata.get("key") or f.name for f in dataclasses.fields(cls)}


def _optional_of(hint: Any) -> Any:
    args = [a for a in get_args(hint) if a is not type(None)]
    return args[0] if _is_union(hint) and len(args) == 1 else hint


def _is_union(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType)


def _convert(hint: Any, raw: Any) -> Any:
    """``raw`` JSON data as the annotated type (ints for int, floats for float, ...)."""
    if hint is Any or raw is None:
        return raw
    if _is_union(hint):
        args = [a for a in get_args(hint) if a is not type(None)]
        return _convert(args[0], raw) if len(args) == 1 else raw
    origin = get_origin(hint)
    if origin in (list, tuple):
        (inner, *_) = get_args(hint) or (Any,)
        converted: Any = [_convert(inner, v) for v in raw]
        return tuple(converted) if origin is tuple else converted
    if origin is dict:
        pair = get_args(hint)
        inner = pair[1] if len(pair) == 2 else Any
        return {k: _convert(inner, v) for k, v in raw.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_json(hint, raw)
    if hint in (int, float, str, bool):
        return hint(raw)
    return raw


def jsonable(value: Any) -> Any:
    """``value`` as something json.dumps takes: what it cannot take becomes its repr
    (a user's extra_info may hold anything)."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        if isinstance(value, dict):
            return {str(k): jsonable(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [jsonable(v) for v in value]
        return repr(value)
    return value
