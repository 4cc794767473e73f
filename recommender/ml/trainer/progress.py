"""The callback through which fitting, evaluating and embedding report how far they are."""

from collections.abc import Callable

Progress = Callable[[float, str], None]


def quiet(fraction: float, message: str) -> None:
    return None
