"""The curated public surfaces: sorted ``__all__``, every name importable, nothing public left out."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import medai_core

CORE_MODULES = [
    "medai_core",
    "medai_core.errors",
    "medai_core.config",
    "medai_core.models",
    "medai_core.explain",
    "medai_core.plots",
    "medai_core.reports",
    "medai_core.audit",
    "medai_core.benchmarking",
    "medai_core.serialization",
    "medai_core.files",
]


def _packages() -> list[str]:
    names = list(CORE_MODULES)
    for info in pkgutil.iter_modules(medai_core.__path__, "medai_core."):
        if info.ispkg and info.name not in names and info.name != "medai_core.ui":
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _packages())
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert list(exported) == sorted(exported), f"{name}.__all__ is not sorted"
    assert len(set(exported)) == len(exported)
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names {item!r}, which it does not define"


@pytest.mark.parametrize("name", [n for n in CORE_MODULES if n.count(".") == 1 and n != "medai_core.models"])
def test_public_definitions_are_exported(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    }
    missing = public - set(module.__all__)
    assert not missing, f"{name} defines public {sorted(missing)} but does not list them in __all__"


def test_error_tree() -> None:
    from medai_core import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.MedaiError)
        assert name in (errors.__doc__ or ""), f"{name} is missing from the tree drawn in errors.py"
    assert issubclass(errors.InputError, ValueError)
    assert issubclass(errors.ImageInputError, errors.InputError)
    assert issubclass(errors.ModelIntegrityError, errors.ModelError)
