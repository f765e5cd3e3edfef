"""A module that is imported on first attribute access.

Collection imports every adapter module (to look for weights), so adapters must not
import numpy at module level: pytest runs of projects that never benchmark would pay
for it. Adapters write::

    if TYPE_CHECKING:
        import numpy as np
    else:
        np = lazy_module("numpy")

so type checkers see numpy and the import happens when a benchmark first uses it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module(self.__name__)
        return getattr(module, name)


def lazy_module(name: str) -> ModuleType:
    return _LazyModule(name)
