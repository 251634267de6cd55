"""Package namespaces that import a module only when one of its names is first used.

A certify run starts one `dids check` per case, so start-up counts: with eager package `__init__`s a CSV check
would import the spec diff, the XML reader and lxml, inspect, and reference importing, none of which it uses. A
package lists its public names by module (`lazy_exports`); type checkers read the same names from an
`if TYPE_CHECKING:` import block beside the table, and tests/test_startup.py holds the two to agree.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, modules: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module `__getattr__` and `__dir__` of `package`, whose public names are `modules` (submodule -> the
    names it defines). A name is imported on first use and kept in the package's namespace."""
    where = {name: module for module, names in modules.items() for name in names}
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # __import__ rather than importlib.import_module: `python -X importtime` sees (and times) the first.
        __import__(f"{package}.{module}")
        value = getattr(sys.modules[f"{package}.{module}"], name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
