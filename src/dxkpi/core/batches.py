"""Consecutive batches of work items bounded by their sizes (small cities run together), and
the order to start them in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["consecutive_batches", "largest_first"]

_T = TypeVar("_T")


def consecutive_batches(
    items: Sequence[_T], size_of: Callable[[_T], int], limit: int, most: int
) -> list[list[_T]]:
    """``items`` in consecutive batches (in their order) whose sizes add up to at most
    ``limit``, at most ``most`` items a batch; an item larger than ``limit`` alone, and every
    item alone when ``limit`` is 0 (``size_of`` is then not called).

    >>> consecutive_batches("abcde", {"a": 1, "b": 1, "c": 5, "d": 1, "e": 1}.get, 3, 10)
    [['a', 'b'], ['c'], ['d', 'e']]
    >>> consecutive_batches("abc", {"a": 1, "b": 1, "c": 1}.get, 3, 2)
    [['a', 'b'], ['c']]
    >>> consecutive_batches("ab", len, 0, 10)
    [['a'], ['b']]
    """
    batches: list[list[_T]] = []
    size = 0
    for item in items:
        own = size_of(item) if limit else limit + 1
        if batches and size + own <= limit and len(batches[-1]) < most:
            batches[-1].append(item)
            size += own
        else:
            batches.append([item])
            size = own
    return batches


def largest_first(batches: Sequence[Sequence[_T]], size_of: Callable[[_T], int]) -> list[int]:
    """The positions of ``batches``, the largest total size first (ties in their order): the
    order to hand them to workers that take tasks as given, so that no worker is left with a
    large one at the end while the others have nothing to do.

    >>> largest_first([["a"], ["b", "c"], ["d"]], {"a": 1, "b": 2, "c": 2, "d": 5}.get)
    [2, 1, 0]
    """
    return sorted(
        range(len(batches)), key=lambda i: sum(size_of(x) for x in batches[i]), reverse=True
    )
