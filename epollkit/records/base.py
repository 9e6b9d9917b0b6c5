"""The record base: frozen, JSON-ready result records shared by the lab (real kernel) and the sim (model).

Every record has ``experiment``, ``backend`` (``"real"`` or ``"sim"``), ``strategy`` and its parameters;
real runs add ``kernel`` (``platform.release()``) and ``duration_s``. ``to_dict()`` gives exactly the
JSON document of docs/architecture.md ("Result records", a contract); ``to_frame()`` a pandas table of
the per-worker rows (pandas is imported only then).

One registry: a record class that sets the class constant ``EXPERIMENT`` is registered when it is
defined, so :func:`from_dict` can rebuild it from JSON (a recorded result under data/). A record type
defined anywhere else registers the same way -- subclass :class:`Record` and set ``EXPERIMENT`` (and
``_rows_field`` / ``_row_cls`` when its rows are records too) -- or calls :func:`register_record`.

Records are built from raw observations by :mod:`epollkit.analysis.summarize` ("observe, then
interpret"): the lab and the model both record what each worker did, and the same pure function derives
the per-connection figures, shares and orderings from either.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar

# Keys that only some records carry: omitted from to_dict() when None.
_OPTIONAL = frozenset(
    {"kernel", "duration_s", "schedules", "states", "outcomes", "witnesses", "params", "notes"}
    | {"peak_rss_kib"}
)

# experiment name -> (record class, rows field, row class)
_RECORDS: dict[str, tuple] = {}


class Record:
    """Mixin: JSON-ready dict, JSON text and a pandas frame of the per-worker rows.

    Subclasses set ``EXPERIMENT`` (the JSON ``experiment`` value; registers the class) and, when they
    have rows, ``_rows_field`` (and ``_row_cls`` when the rows are records rebuilt by :func:`from_dict`)."""

    EXPERIMENT: ClassVar[str | None] = None
    _rows_field: ClassVar[str | None] = None
    _row_cls: ClassVar[type | None] = None

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.__dict__.get("EXPERIMENT"):
            register_record(cls.EXPERIMENT, cls, cls._rows_field, cls._row_cls)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.name in _OPTIONAL:
                continue
            out[f.name] = _plain(value)
        return out

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    def to_frame(self):
        """A pandas DataFrame of the per-worker (or per-point) rows; imports pandas lazily."""
        import pandas as pd

        if self._rows_field is None:
            return pd.DataFrame([self.to_dict()])
        rows = [_plain(r) for r in getattr(self, self._rows_field)]
        return pd.json_normalize(rows) if rows and any(isinstance(v, dict) for v in rows[0].values()) \
            else pd.DataFrame(rows)


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_dict() if isinstance(value, Record) else dataclasses.asdict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def register_record(experiment: str, cls, rows_field: str | None = None, row_cls=None) -> None:
    """Let :func:`from_dict` rebuild records of ``experiment`` (a class with ``EXPERIMENT`` set is
    registered on definition; this is for the rest)."""
    _RECORDS[experiment] = (cls, rows_field, row_cls)


def experiments() -> tuple[str, ...]:
    """Every registered experiment name."""
    return tuple(_RECORDS)


def from_dict(data: dict):
    """Rebuild a frozen record from its ``to_dict()`` form (e.g. a recorded result under data/)."""
    try:
        cls, rows_field, row_cls = _RECORDS[data["experiment"]]
    except KeyError:
        raise ValueError(f"unknown experiment {data.get('experiment')!r}; known: {', '.join(_RECORDS)}") \
            from None
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: v for k, v in data.items() if k in names}
    if rows_field and row_cls is not None:
        kwargs[rows_field] = [row_cls(**r) for r in data.get(rows_field, [])]
    return cls(**kwargs)

