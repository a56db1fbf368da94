"""The one bounded LRU of what is derived from a store's data: tables (signals, firings, scored tables,
pattern indexes, the app's segment and alert tables) and values (backtests, date ranges, leak checks).

One per store (`derived_of`), kept here rather than on the Store: the engine and the few core functions
that cache (signals_table, active_dates, outcome_leaks) share it. Dropping an entry drops its tables;
a reload (a new store generation) drops every entry. One eviction loop, in `Derived._evict`.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable

from .db import Store, quote_ident, safe_table_name

MAX_TABLES = 64   # derived tables kept per store (signals, firings, scored, indexes, ...)
MAX_VALUES = 256  # small values kept per store (backtest results, accuracies, date ranges, ...)


@dataclass(frozen=True)
class Entry:
    value: Any
    tables: tuple[str, ...]  # dropped with the entry


class Derived:
    """Entries by key, least recently used first; every key is prefixed with the store generation.

    Bounded twice in one loop: entries with tables beyond `max_tables`, entries without beyond
    `max_values` (a slider session makes many small values; they must not push the tables out)."""

    def __init__(self, store: Store, max_tables: int = MAX_TABLES, max_values: int = MAX_VALUES):
        if max_tables < 1 or max_values < 1:
            raise ValueError("max_tables and max_values: expected at least 1")
        self._store = weakref.ref(store)  # the registry is keyed weakly on the store: no cycle back
        self.max_tables, self.max_values = max_tables, max_values
        self._items: OrderedDict[tuple, Entry] = OrderedDict()
        self._generation = store.generation
        self.builds = 0  # entries built (a test or a status line reads it)

    @property
    def store(self) -> Store:
        store = self._store()
        if store is None:
            raise RuntimeError("the store of this cache is gone")
        return store

    def get(self, key: Hashable, build: Callable[[], Any],
            tables: Callable[[Any], Iterable[str]] | None = None) -> Any:
        """The value of `key`, built by `build()` when missing (or when one of its tables was dropped
        meanwhile); `tables(value)` names the tables it owns. Holds the store's lock throughout, so two
        sessions never build the same entry twice."""
        store = self.store
        with store.lock:
            self._check_generation(store)
            full = (store.generation, key)
            found = self._items.pop(full, None)
            if found is not None:
                if not found.tables or set(found.tables) <= set(store.tables()):
                    self._items[full] = found  # most recently used last
                    return found.value
                self._drop_tables(store, found.tables)
            value = build()
            self.builds += 1
            self._items[full] = Entry(value, tuple(safe_table_name(t) for t in (tables(value) if tables else ())))
            self._evict(store)
            return value

    def table(self, key: Hashable, name: str, build: Callable[[str], Any], extra: Iterable[str] = ()) -> str:
        """The derived table `name` of `key`, created by `build(name)` when missing; `extra` names
        tables the build also leaves behind (dropped with it)."""
        safe_table_name(name)

        def make() -> str:
            build(name)
            return name
        return self.get(key, make, tables=lambda n: (n, *extra))

    def has(self, key: Hashable) -> bool:
        """Is `key` cached for the current data (without touching its recency)?"""
        store = self.store
        with store.lock:
            return (store.generation, key) in self._items

    def entries(self) -> list[tuple[Hashable, tuple[str, ...]]]:
        """(key, tables) of every entry, least recently used first."""
        with self.store.lock:
            return [(k[1], e.tables) for k, e in self._items.items()]

    def clear(self) -> None:
        store = self.store
        with store.lock:
            while self._items:
                self._drop(store, next(iter(self._items)))

    # -- inside the lock -------------------------------------------------------------------
    def _check_generation(self, store: Store) -> None:
        if store.generation != self._generation:  # data reloaded: nothing derived from the old data stays
            for key in [k for k in self._items if k[0] != store.generation]:
                self._drop(store, key)
            self._generation = store.generation

    def _evict(self, store: Store) -> None:
        """The one eviction loop: drop the least recently used entry of the kind that is over its bound."""
        while True:
            n_tables = sum(1 for e in self._items.values() if e.tables)
            if n_tables > self.max_tables:
                with_tables = True
            elif len(self._items) - n_tables > self.max_values:
                with_tables = False
            else:
                return
            self._drop(store, next(k for k, e in self._items.items() if bool(e.tables) == with_tables))

    def _drop(self, store: Store, key: tuple) -> None:
        self._drop_tables(store, self._items.pop(key).tables)

    @staticmethod
    def _drop_tables(store: Store, tables: Iterable[str]) -> None:
        for t in tables:
            store.execute(f"DROP TABLE IF EXISTS {quote_ident(t)}")


_REGISTRY: "weakref.WeakKeyDictionary[Store, Derived]" = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def derived_of(store: Store) -> Derived:
    """The store's one cache of derived tables and values (created on first use, gone with the store)."""
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(store)
        if found is None:
            found = _REGISTRY[store] = Derived(store)
        return found
