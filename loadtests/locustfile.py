"""Load the User classes of a locustfile, as Locust does (imports locust: Locust processes only).

    classes = load_user_classes(Path("locustfile.py"))   # LocustfileError: one line, why not
    python -m loadtests.locustfile locustfile.py         # the check the runner makes first

A User class is any class in the file's namespace that subclasses `locust.User` and is not
abstract (HttpUser, FastHttpUser and their subclasses), sorted by name; a LoadTestShape
subclass (at most one) is the file's own load shape. The file's folder is
put first on sys.path while it is imported, so it may import its neighbours. The check prints
the class names (and the shape's) as JSON and exits 0, or prints one line to stderr and exits 2.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["LocustfileError", "check_locustfile", "load_locustfile", "load_user_classes", "main"]

EXIT_BAD_LOCUSTFILE = 2
CHECK_TIMEOUT_S = 60.0


class LocustfileError(ValueError):
    """The locustfile is missing, does not import, or defines no User class."""


def load_user_classes(path: Path) -> list[type[Any]]:
    """The non-abstract User classes `path` defines or imports; LocustfileError if none."""
    return load_locustfile(path)[0]


def load_locustfile(path: Path) -> tuple[list[type[Any]], type[Any] | None]:
    """(User classes, its LoadTestShape subclass or None) of `path`, found as Locust finds
    them; LocustfileError if it has no User class or more than one shape."""
    from locust import LoadTestShape, User

    if not path.is_file():
        raise LocustfileError(f"{path}: no such file")
    module_name = f"loadwatch_locustfile_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LocustfileError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # a locustfile may raise anything, SystemExit included
        sys.modules.pop(module_name, None)
        first = (str(exc).strip().splitlines() or [""])[0]
        detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        raise LocustfileError(f"{path}: does not import: {detail}") from None
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    classes = sorted(
        (
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, User)
            and not getattr(value, "abstract", False)
        ),
        key=lambda cls: cls.__name__,
    )
    if not classes:
        raise LocustfileError(
            f"{path}: defines no User class (expected a subclass of HttpUser or FastHttpUser)"
        )
    shapes = sorted(
        (
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, LoadTestShape)
            and not getattr(value, "abstract", True)
        ),
        key=lambda cls: cls.__name__,
    )
    if len(shapes) > 1:
        names = ", ".join(cls.__name__ for cls in shapes)
        raise LocustfileError(
            f"{path}: defines {len(shapes)} LoadTestShape classes ({names}); expected at most one"
        )
    return classes, shapes[0] if shapes else None


def check_locustfile(path: Path, timeout_s: float = CHECK_TIMEOUT_S) -> str | None:
    """None when `path` loads and defines a User class, else the one-line reason. Loads it in
    a child process (`python -m loadtests.locustfile`), so this process never imports locust;
    takes about a second (importing locust), at most `timeout_s`."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (root, env.get("PYTHONPATH"))))
    try:
        result = subprocess.run(
            [sys.executable, "-m", "loadtests.locustfile", str(path)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"{path}: does not import within {timeout_s:g} s"
    if result.returncode == 0:
        return None
    lines = result.stderr.strip().splitlines()
    return lines[-1] if lines else f"{path}: the check exited with code {result.returncode}"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m loadtests.locustfile PATH`: the class names as JSON, or one line and 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m loadtests.locustfile PATH", file=sys.stderr)
        return EXIT_BAD_LOCUSTFILE
    try:
        classes, shape = load_locustfile(Path(args[0]))
    except LocustfileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_LOCUSTFILE
    names = [cls.__name__ for cls in classes]
    print(json.dumps({"classes": names, "shape": shape.__name__ if shape else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
