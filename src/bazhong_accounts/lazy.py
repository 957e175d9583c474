"""A module imported when first used rather than when its importer is: pandas and pandera take
1.5 s to import, and the SQL engines (`validate --engine duckdb`) import the pandas validator's
modules for their words and rules only, never for a frame.

    if TYPE_CHECKING:
        import pandas as pd
    else:
        pd = lazy("pandas")
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from types import ModuleType


class _Lazy(ModuleType):
    _hidden: tuple[str, ...] = ()

    def __getattr__(self, attr: str):
        """Called for a name not found yet: import the module now and take all its names (the
        later lookups are plain attribute reads)."""
        with hidden(*self._hidden):
            module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)


def lazy(name: str, hide: tuple[str, ...] = ()) -> ModuleType:
    """name, imported when first used; with hide, as if those packages were not installed (see hidden)."""
    module = _Lazy(name)
    module._hidden = hide
    return module


@contextlib.contextmanager
def hidden(*names: str):
    """Meanwhile, importing one of names (packages not imported yet) raises ImportError, as if it
    were not installed; afterwards it imports as usual. For libraries that import optional
    integrations they find installed, at a cost to every process that never uses them."""
    names = tuple(n for n in names if n not in sys.modules)
    for name in names:
        sys.modules[name] = None  # type: ignore[assignment,unused-ignore]  # the import system's "not found" marker
    try:
        yield
    finally:
        for name in names:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


def imported(name: str) -> bool:
    """Whether the module was imported (by anyone): no pandas Series can exist before pandas is."""
    return sys.modules.get(name) is not None
