"""The registry: one call makes a component known by name and to gin; docstrings name real gin names."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import gin
import pytest

from lggseg import config
from lggseg.registry import Registry, register

LGGSEG = Path(__file__).resolve().parents[1] / "lggseg"
_modules = itertools.count()


def _module() -> str:
    # gin registrations are process-wide and permanent: a fresh module per test keeps them apart.
    return f"lggseg_registry_test{next(_modules)}"


def _scale(*, factor: float = 2.0, offset: float = 0.0) -> float:
    return factor + offset


def _shift(*, by: int = 1) -> int:
    return by


def test_register_makes_the_component_a_gin_configurable_and_leaves_it_plain():
    module = _module()
    assert register("scale", _scale, module=module) is _scale
    gin.clear_config()
    try:
        gin.parse_config([f"{module}.scale.factor = 5.0"])
        assert gin.get_configurable(f"{module}.scale")() == 5.0
        assert _scale() == 2.0  # a plain call keeps the Python defaults
    finally:
        gin.clear_config()


def test_registry_records_the_name_and_registers_it_with_gin():
    module = _module()
    ops = Registry(kind="op", plural="ops", module=module)
    ops.register("scale", _scale)
    ops.register("shift-by", _shift, gin_name="shift_by")
    assert list(ops) == ["scale", "shift-by"] and ops["scale"] is _scale and len(ops) == 2
    assert ops.build("scale", options={"offset": 1.0}) == 3.0
    gin.clear_config()
    try:
        gin.parse_config([f"{module}.scale.factor = 5.0", f"{module}.shift_by.by = 3"])
        assert gin.get_configurable(f"{module}.scale")() == 5.0
        assert gin.get_configurable(f"{module}.shift_by")() == 3
    finally:
        gin.clear_config()


def test_unknown_names_and_options_list_the_valid_ones():
    ops = Registry(kind="op", plural="ops", module=_module())
    ops.register("scale", _scale)
    ops.register("shift", _shift)
    with pytest.raises(ValueError, match=r"unknown op 'scael'; valid ops: scale, shift\.$"):
        ops.lookup("scael")
    with pytest.raises(ValueError, match=r"^x\.json: unknown op 'scael'"):
        ops.lookup("scael", where="x.json: ")
    message = r"op 'scale' takes no option\(s\) \['factr'\]; valid options: factor, offset\."
    with pytest.raises(ValueError, match=message):
        ops.build("scale", options={"factr": 1.0})
    with pytest.raises(ValueError, match="'scale' is already registered"):
        ops.register("scale", _shift)
    with pytest.raises(TypeError):
        ops["other"] = _shift  # read-only: only register() adds


def test_package_registries_are_the_gin_names():
    from lggseg.losses import LOSSES
    from lggseg.models import MODEL_BUILDERS
    from lggseg.stain import NORMALIZERS

    config.register_all()
    for registry in (MODEL_BUILDERS, LOSSES, NORMALIZERS):
        for name, component in registry.items():
            gin.get_configurable(component)  # raises for a component gin does not know
            if registry is not NORMALIZERS:  # whose names are not identifiers ('staintools-macenko')
                gin.get_configurable(f"{registry.module}.{name}")
    assert gin.get_configurable("lggseg.stain.staintools_macenko") is not None
    with pytest.raises(ValueError, match="valid losses: focal_loss, cross_entropy, dice_loss, focal_dice"):
        LOSSES.lookup("focal")


def _docstring_gin_names() -> list[tuple[str, str]]:
    """(file, gin name) for every gin name lggseg's sources show a reader.

    Two forms: ``gin names (module ``M``): ``a``, ``b``.`` lists, and ``@name`` /
    ``@scope/name`` references in gin examples (decorator lines and ``a @ b`` excluded).
    """
    found = []
    for path in sorted(LGGSEG.rglob("*.py")):
        text = path.read_text()
        where = str(path.relative_to(LGGSEG.parent))
        for module, listing in re.findall(r"gin names \(module ``([\w.]+)``\)[^:]*:(.*?)\.(?:\s|$)", text, re.S):
            found += [(where, f"{module}.{name}") for name in re.findall(r"``(\w+)``", listing)]
        for line in text.splitlines():
            if line.strip().startswith("@"):
                continue
            found += [(where, name) for name in re.findall(r"(?<=[\s`\[(=])@(?:\w+/)*([A-Za-z_][\w.]*)", line)]
    return found


def test_docstrings_show_real_gin_names():
    config.register_all()
    names = _docstring_gin_names()
    assert ("lggseg/stain/__init__.py", "lggseg.stain.macenko") in names  # the scan finds the lists
    unknown = []
    for where, name in names:
        try:
            gin.get_configurable(name)
        except ValueError:
            unknown.append(f"{where}: {name}")
    assert not unknown, unknown
