"""The engine registry: built-in pairs, entry points, and the registration hook."""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import BACKENDS, DEVICES, EngineSpec
from pytest_ttsbench.engines.catalog import BUILTIN_SPECS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

ENTRY_POINT_GROUP = "pytest_ttsbench.engines"


class RegistryError(ValueError):
    """A user engine that cannot join the matrix; the message says which and why."""


class EngineRegistry:
    """All known (model, backend) pairs. Users add theirs; a user pair replaces a built-in."""

    def __init__(self, specs: Iterable[EngineSpec] = ()) -> None:
        self._specs: dict[tuple[str, str], EngineSpec] = {}
        # where engines came from, for "unknown model" errors: a name registered nowhere
        # is usually a hook in a conftest that the run never loaded
        self.sources: list[str] = []
        for spec in specs:
            self.register(spec)

    @classmethod
    def with_builtins(cls) -> EngineRegistry:
        registry = cls(BUILTIN_SPECS)
        registry.sources.append(f"{len(BUILTIN_SPECS)} built-in pairs")
        return registry

    def register(self, spec: EngineSpec) -> None:
        if not isinstance(spec, EngineSpec):
            raise RegistryError(f"expected an EngineSpec, got {type(spec).__name__}: {spec!r}")
        for name, value in (("model", spec.model), ("backend", spec.backend)):
            if not value or not all(c.isalnum() or c in "-_." for c in value):
                raise RegistryError(f"engine {name} {value!r}: use letters, digits, - _ .")
            if value != value.lower():
                raise RegistryError(f"engine {name} {value!r}: use lower case")
        if not spec.devices:
            raise RegistryError(f"{spec.pair}: no devices")
        if spec.default_variant not in spec.variants:
            raise RegistryError(
                f"{spec.pair}: default variant {spec.default_variant!r} not in {spec.variants}"
            )
        self._specs[(spec.model, spec.backend)] = spec

    def get(self, model: str, backend: str) -> EngineSpec | None:
        return self._specs.get((model, backend))

    def specs(self) -> list[EngineSpec]:
        return [self._specs[key] for key in sorted(self._specs)]

    def models(self) -> list[str]:
        return sorted({m for m, _ in self._specs})

    def backends(self) -> list[str]:
        extra = sorted({b for _, b in self._specs} - set(BACKENDS))
        return [*BACKENDS, *extra]

    def devices(self) -> list[str]:
        extra = sorted({d for s in self._specs.values() for d in s.devices} - set(DEVICES))
        return [*DEVICES, *extra]

    def variants(self) -> list[str]:
        return sorted({v for s in self._specs.values() for v in s.variants})

    def load_entry_points(self) -> None:
        """Each entry point names an EngineSpec, a list of them, or a callable(registry)."""
        points = sorted(
            importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name
        )
        if not points:
            self.sources.append(f"entry points ({ENTRY_POINT_GROUP}): none installed")
        for ep in points:
            try:
                obj = ep.load()
            except Exception as exc:
                raise RegistryError(
                    f"entry point {ep.name} = {ep.value} ({ENTRY_POINT_GROUP}) failed to load: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self.add(obj, f"entry point {ep.name} = {ep.value}")
            self.sources.append(f"entry point {ep.name} = {ep.value}")

    def add(self, obj: Any, where: str) -> None:
        if isinstance(obj, EngineSpec):
            self.register(obj)
        elif isinstance(obj, list | tuple):
            for item in obj:
                self.add(item, where)
        elif callable(obj):
            register: Callable[[EngineRegistry], object] = obj
            register(self)
        else:
            raise RegistryError(
                f"{where}: expected an EngineSpec, a list of them or a "
                f"callable taking the registry, got {type(obj).__name__}"
            )
