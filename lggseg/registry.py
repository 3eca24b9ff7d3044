"""Components by name: one call records a component and registers it with gin.

Each package registers its components in one place, its ``__init__.py``::

    from lggseg.registry import Registry, register

    register("freeze_all_but_last", freeze_all_but_last, module="lggseg.models")  # gin only

    MODEL_BUILDERS = Registry(kind="model", plural="models", module="lggseg.models")
    MODEL_BUILDERS.register("fc_densenet", fc_densenet)  # gin + build_model("fc_densenet")
    MODEL_BUILDERS.build("fc_densenet", options={"num_classes": 4})

:func:`register` is for what gin files name (``@freeze_all_but_last``); a
:class:`Registry` is for a kind that is also chosen by a string outside gin (a command-line
option, a saved ``normalizer.json``), so the names gin knows and the names a lookup accepts
cannot drift apart. Registration leaves the component untouched (``gin.register``): plain
Python calls use its defaults, calls through gin get the bindings. The gin name is
``module.name``, so gin files may write ``@fc_densenet`` or ``@lggseg.models.fc_densenet``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import gin

T = TypeVar("T")


def register(name: str, component: T, *, module: str) -> T:
    """Register ``component`` (a function or class) with gin as ``module.name``; returns it unchanged."""
    gin.register(name, module=module)(component)
    return component


class Registry(Mapping[str, Any]):
    """The components of one kind by name, each registered with gin as it is recorded.

    A read-only mapping ``name -> component`` in registration order (the order the errors
    list the valid names in); only :meth:`register` adds to it.

    Args:
      kind: what a component is, for errors ("unknown {kind} 'x'").
      plural: the plural for errors ("valid {plural}: a, b").
      module: the gin module every component is registered under.
    """

    def __init__(self, *, kind: str, plural: str, module: str) -> None:
        self.kind = kind
        self.plural = plural
        self.module = module
        self._components: dict[str, Any] = {}

    def register(self, name: str, component: T, *, gin_name: str | None = None) -> T:
        """Record ``component`` as ``name`` and register it with gin as ``module.gin_name``.

        Args:
          name: the lookup name.
          component: a function or class.
          gin_name: the gin name when ``name`` is not a Python identifier (gin's rule),
            e.g. ``staintools-macenko`` -> ``staintools_macenko``; default ``name``.

        Raises:
          ValueError: when ``name`` is already taken (a second registration would silently
            replace the first).
        """
        if name in self._components:
            raise ValueError(f"{self.kind} {name!r} is already registered (as {self._components[name]!r}).")
        register(gin_name or name, component, module=self.module)
        self._components[name] = component
        return component

    def lookup(self, name: str, *, where: str = "") -> Any:
        """The component registered as ``name``.

        Args:
          name: a registered name.
          where: a prefix for the error, e.g. the file the name was read from (``"x.json: "``).

        Raises:
          ValueError: for an unknown name, listing the valid names.
        """
        if name not in self._components:
            raise ValueError(f"{where}unknown {self.kind} {name!r}; valid {self.plural}: {', '.join(self)}.")
        return self._components[name]

    def build(self, name: str, *, options: Mapping[str, Any] | None = None) -> Any:
        """Call the component registered as ``name`` with keyword ``options``.

        Raises:
          ValueError: for an unknown name (listing the valid names) or an option the
            component does not take (listing those it takes), before anything is built.
        """
        component = self.lookup(name)
        options = dict(options or {})
        valid = list(inspect.signature(component).parameters)
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise ValueError(
                f"{self.kind} {name!r} takes no option(s) {unknown}; valid options: {', '.join(valid)}."
            )
        return component(**options)

    def __getitem__(self, name: str) -> Any:
        return self._components[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._components)

    def __len__(self) -> int:
        return len(self._components)

    def __repr__(self) -> str:
        return f"Registry(kind={self.kind!r}, module={self.module!r}, names={list(self)})"
