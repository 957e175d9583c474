"""A module imported when first used rather than when its importer is: pandas and pandera take
1.5 s to import, and the SQL engines (`validate --engine duckdb`) import the pandas validator's
modules for their words and rules only, never for a frame.

    if TYPE_CHECKING:
        import pandas as pd
    else:
        pd = lazy("pandas")
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


class _Lazy(ModuleType):
    def __getattr__(self, attr: str):
        """Called for a name not found yet: import the module now and take all its names (the
        later lookups are plain attribute reads)."""
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)


def lazy(name: str) -> ModuleType:
    return _Lazy(name)


def imported(name: str) -> bool:
    """Whether the module was imported (by anyone): no pandas Series can exist before pandas is."""
    return sys.modules.get(name) is not None
