"""A benchmarked configuration: model x backend x device x variant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True, order=True)
class Target:
    """One benchmarked configuration: model x backend x device x variant."""

    model: str
    backend: str
    device: str
    variant: str
    default_variant: bool = True

    @property
    def id(self) -> str:
        base = f"{self.model}-{self.backend}-{self.device}"
        return base if self.default_variant else f"{base}-{self.variant}"

    @property
    def pair(self) -> str:
        return f"{self.model}-{self.backend}"

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "model": self.model,
            "backend": self.backend,
            "device": self.device,
            "variant": self.variant,
            "default_variant": self.default_variant,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Target:
        """Read ``as_dict()`` output back (the ``id`` key is derived, so ignored)."""
        return cls(
            model=str(d["model"]),
            backend=str(d["backend"]),
            device=str(d["device"]),
            variant=str(d.get("variant") or "default"),
            default_variant=bool(d.get("default_variant", True)),
        )
