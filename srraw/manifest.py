"""Atomic, versioned Parquet I/O for the manifest tables in srraw.schemas."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import srraw
from srraw.errors import SrrawError
from srraw.files import atomic_path
from srraw.schemas import SCHEMA_KEY, Table, table

VERSION_KEY = b"srraw.version"


def to_arrow(tbl: Table, rows: pd.DataFrame | Iterable[Mapping[str, Any]] | pa.Table) -> pa.Table:
    """Rows (a DataFrame, an Arrow table or dicts) as an Arrow table of exactly tbl's schema.

    Nullable columns that are absent become nulls; unknown columns are an error.
    """
    schema = tbl.schema
    if isinstance(rows, pa.Table):
        data = rows
    elif isinstance(rows, pd.DataFrame):
        data = pa.Table.from_pandas(rows, preserve_index=False)
    else:
        rows = list(rows)
        if not rows:
            return schema.empty_table()
        keys = set().union(*(row.keys() for row in rows))
        if unknown := sorted(keys - set(schema.names)):
            raise ValueError(f"{tbl.name}: unknown columns {unknown}")
        # With the schema given, a key missing from some rows is null there (Arrow would
        # otherwise infer the columns from the first row alone).
        data = pa.Table.from_pylist(rows, schema=schema.remove_metadata())
        data = data.select([name for name in schema.names if name in keys])
    names = set(data.column_names)
    if unknown := sorted(names - set(schema.names)):
        raise ValueError(f"{tbl.name}: unknown columns {unknown}")
    length = data.num_rows
    arrays = []
    for field in schema:
        if field.name in names:
            column = data.column(field.name)
            if not field.nullable and column.null_count:
                raise ValueError(f"{tbl.name}: required column {field.name!r} has nulls")
            arrays.append(column.cast(field.type) if column.type != field.type else column)
        elif field.nullable:
            arrays.append(pa.nulls(length, field.type))
        else:
            raise ValueError(f"{tbl.name}: required column {field.name!r} is missing")
    out = pa.Table.from_arrays(arrays, schema=schema)
    out.validate(full=True)
    return out


def write_manifest(
    name: str,
    rows: pd.DataFrame | Iterable[Mapping[str, Any]] | pa.Table,
    path: str | os.PathLike[str],
) -> Path:
    """Write one manifest table atomically: temporary file beside it, fsync, rename."""
    tbl = table(name)
    data = to_arrow(tbl, rows)
    meta = dict(data.schema.metadata or {})
    meta[VERSION_KEY] = srraw.__version__.encode()
    data = data.replace_schema_metadata(meta)
    path = Path(path)
    # Lists of doubles (pair-map grids above all: thousands of smooth values per row) compress
    # a third smaller split by byte; everything else keeps dictionary encoding.
    split = [f.name for f in data.schema if f.type == pa.list_(pa.float64())]
    with atomic_path(path) as tmp:
        pq.write_table(
            data,
            tmp,
            compression="zstd",
            use_dictionary=[f.name for f in data.schema if f.name not in split],
            column_encoding={f"{name}.list.element": "BYTE_STREAM_SPLIT" for name in split},
        )
    return path


def schema_tag(path: str | os.PathLike[str]) -> tuple[str, int, int]:
    """(table, major, minor) from a manifest's `srraw.schema` metadata."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except FileNotFoundError as exc:
        raise SrrawError("no such manifest", path) from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise SrrawError(f"not a readable Parquet file ({exc})", path) from exc
    tag = meta.get(SCHEMA_KEY)
    if tag is None:
        raise SrrawError("not an srraw manifest (no srraw.schema in its Parquet metadata)", path)
    try:
        name, version = tag.decode().split("/")
        major, minor = (int(v) for v in version.split("."))
    except ValueError as exc:
        raise SrrawError(f"malformed srraw.schema {tag!r}", path) from exc
    return name, major, minor


def read_manifest(path: str | os.PathLike[str], name: str | None = None) -> pa.Table:
    """Read a manifest, refusing another table or an unknown major version in one line."""
    found, major, minor = schema_tag(path)
    if name is not None and found != name:
        raise SrrawError(f"is a {found} manifest, expected {name}", path)
    try:
        tbl = table(found)
    except ValueError as exc:
        raise SrrawError(str(exc), path) from exc
    if major != tbl.major:
        raise SrrawError(
            f"schema {found}/{major}.{minor} is not readable by this srraw "
            f"(reads {found}/{tbl.major}.x); use a matching srraw version",
            path,
        )
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SrrawError(f"damaged manifest ({exc})", path) from exc


def read_manifest_df(path: str | os.PathLike[str], name: str | None = None) -> pd.DataFrame:
    return read_manifest(path, name).to_pandas()
