"""Py4J name look-ups remembered: each Java class or static method a name stands for is asked of
the driver JVM once per process, not on every use.

PySpark reaches the JVM by name: every ``pyspark.sql.functions`` call (``F.col``, ``F.lit``,
``F.when`` ...) looks up ``sc._jvm.functions`` and then the function in it, and helpers look up
``sc._jvm.PythonUtils`` and others the same way. Py4J answers each look-up anew, and the JVM
finds a simple name by trying it as a class in the unnamed package, then in each of PySpark's
imported packages in turn (``org.apache.spark.api.java.functions``, ...,
``org.apache.spark.sql.functions``): each miss searches every jar on the class path and builds
an exception. A job that builds its expressions column by column makes thousands of such calls:
in a warm incremental pipeline run these misses were 14% of the driver JVM's CPU samples (Java
Flight Recorder), and 12,000 ``F`` calls took 6-9 CPU seconds instead of 1-2 with the names
remembered.

What a name resolves to cannot change while the JVM lives (its classes and PySpark's imports
are fixed once the session is up), so the first answer is kept: a class or package on the view,
a static method on its class. Static fields are values and are always asked again, as are names
that do not resolve.
"""

from __future__ import annotations

from typing import Any

from py4j.java_gateway import JavaClass, JavaMember, JavaPackage, JVMView


class _RememberingClass(JavaClass):  # type: ignore[misc]  # Py4J has no type hints
    """A Java class that keeps its static methods and nested classes once looked up."""

    def __getattr__(self, name: str) -> Any:
        value = JavaClass.__getattr__(self, name)
        if isinstance(value, JavaMember | JavaClass):
            value = _remembering(value)
            # An instance attribute: the next look-up finds it without __getattr__.
            self.__dict__[name] = value
        return value


class _KeepsClassesAndPackages:
    """``__getattr__`` for a package or view: the classes and packages found are kept."""

    def __getattr__(self, name: str) -> Any:
        value = _remembering(super().__getattr__(name))  # type: ignore[misc]  # Py4J's own
        if isinstance(value, JavaClass | JavaPackage):
            self.__dict__[name] = value
        return value


class _RememberingPackage(_KeepsClassesAndPackages, JavaPackage):  # type: ignore[misc]
    """A Java package that keeps the classes and packages found in it."""


class _RememberingView(_KeepsClassesAndPackages, JVMView):  # type: ignore[misc]
    """The gateway's JVM view, keeping the classes and packages its names resolve to."""


def _remembering(value: Any) -> Any:
    """``value`` as its remembering kind when it is a plain Py4J class or package."""
    if type(value) is JavaClass:
        return _RememberingClass(value._fqn, value._gateway_client)
    if type(value) is JavaPackage:
        return _RememberingPackage(value._fqn, value._gateway_client, value._jvm_id)
    return value


def remember_names(view: Any) -> None:
    """Make the JVM view ``view`` (``SparkContext._jvm``) remember what its names resolve to.

    Idempotent; a view of another kind (not Py4J's own) is left as it is.
    """
    if type(view) is JVMView:
        view.__class__ = _RememberingView
