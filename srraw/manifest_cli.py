"""`srraw manifest`: the manifest contract, generated from srraw.schemas."""

from __future__ import annotations

from pathlib import Path

import click

from srraw.errors import SrrawError
from srraw.files import atomic_write_bytes
from srraw.schemas import TABLES, Table

MANIFESTS_DIR = Path(__file__).resolve().parents[1] / "manifests"

README_HEAD = """\
# Manifests

srraw's stages talk through Parquet files with an explicit Arrow schema. This folder is the
contract: one `<table>.schema.json` per table and this README, all generated from
`srraw/schemas.py` by `srraw manifest schema --write` (a test fails when they drift).

Conventions, for every table:
- Each file carries `srraw.schema = <table>/<major>.<minor>` in its Parquet key-value metadata
  (and `srraw.version`). Readers refuse an unknown major version; a minor version only adds
  columns or documented values (pairs 1.2: status 'absent'). Readers keep the statuses they
  use ('ok', 'flagged') and pass over the others.
- Files are written atomically (temporary file in the same folder, fsync, rename).
- Paths are relative to the dataset root, with `/` separators; every referenced file has its
  sha256 beside it.
- A failed item is a row with `status = 'failed'` and an `error`, never a missing row; a pair
  that a sequence's focal lengths cannot make (a zoom its lens does not span) is a row with
  `status = 'absent'`, which is not a failure.
- Lists (`black_levels`, `wb`, `h_to_l`, ...) are plain Arrow lists of float64; timestamps are
  UTC microseconds. Everything reads as-is in pandas, pyarrow and DuckDB.
- Pixel coordinates: origin at the centre of the top-left pixel, x right, y down.
- Channel order of packed mosaics and per-channel levels: R, G1, B, G2, where G1 is the green
  on the red pixel's row (LibRaw's channel order).

## A pair's map (pairs 1.1 and later)

`h_to_l_grid` is the full map from target pixels (the JPEG of H) to input pixels (the RAW
mosaic of L): lens distortion of both frames, the JPEG geometry of H (raw or in-camera
corrected) and the pose between the shots. Node (i, j) of the (ny, nx) grid sits at JPEG-H
pixel (x = j (W_H - 1) / (nx - 1), y = i (H_H - 1) / (ny - 1)) and holds the RAW-L mosaic pixel
that this target pixel images; read it bilinearly (within 0.02 H px of prep's full model).
`h_to_l` is the best similarity to it; manifests before pairs 1.1 have only `h_to_l`.
`srraw.pairmap.PairMap` is the reader the trainer uses; by hand, with pandas and numpy (the
example is in python code, tested in tests/test_lens.py):

```python
import numpy as np
import pandas as pd

row = pd.read_parquet("manifests/pairs.parquet").query("status == 'ok'").iloc[0]
ny, nx = row.h_to_l_grid_shape
grid = np.asarray(row.h_to_l_grid).reshape(ny, nx, 2)
W_H, H_H = 4240, 2832  # frames.parquet: jpeg_width, jpeg_height of frame_h
u, v = 1000.0 * (nx - 1) / (W_H - 1), 700.0 * (ny - 1) / (H_H - 1)  # target pixel (1000, 700)
j, i = min(int(u), nx - 2), min(int(v), ny - 2)
fu, fv = u - j, v - i
top = grid[i, j] * (1 - fu) + grid[i, j + 1] * fu
bottom = grid[i + 1, j] * (1 - fu) + grid[i + 1, j + 1] * fu
x_l, y_l = top * (1 - fv) + bottom * fv  # the RAW-L mosaic pixel
```

frames.parquet (1.1 and later) holds each frame's lens terms in lensfun's conventions
(srraw/lens.py): `distortion_model`, `distortion_terms` (ideal -> real radius),
`distortion_norm_scale`, where they come from (`distortion_source`), and the JPEG's geometry
measured against the frame's own RAW (`jpeg_geometry`, `jpeg_scale`, `jpeg_offset_x/y`).
"""


def readme() -> str:
    parts = [README_HEAD]
    for tbl in TABLES.values():
        parts.append(f"\n## `{tbl.name}` (schema {tbl.major}.{tbl.minor})\n\n{tbl.doc}\n\n")
        parts.append("| column | type | unit | description |\n|---|---|---|---|\n")
        for c in tbl.columns:
            null = "" if c.nullable else ", required"
            parts.append(f"| `{c.name}` | {c.type}{null} | {c.unit} | {c.doc} |\n")
    return "".join(parts)


def generated_files() -> dict[str, str]:
    """File name -> content of everything `srraw manifest schema --write` writes."""
    files = {f"{t.name}.schema.json": t.to_json() for t in TABLES.values()}
    files["README.md"] = readme()
    return files


def drift(folder: Path) -> list[str]:
    """Names of generated files that are missing or differ in `folder`."""
    stale = []
    for name, content in generated_files().items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            stale.append(name)
    return stale


@click.group()
def manifest() -> None:
    """Inspect manifests and their schemas."""


@manifest.command()
@click.option("--write", is_flag=True, help="Write the schema files and README into --dir.")
@click.option("--check", is_flag=True, help="Exit non-zero when --dir differs from the code.")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=MANIFESTS_DIR,
    show_default=True,
)
def schema(write: bool, check: bool, folder: Path) -> None:
    """Print the manifest schemas, or write/check manifests/ against the code."""
    if write:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in generated_files().items():
            atomic_write_bytes(folder / name, content.encode("utf-8"))
        click.echo(f"wrote {len(generated_files())} files to {folder}")
    elif check:
        if stale := drift(folder):
            raise SrrawError(
                f"out of date: {', '.join(stale)}; run `srraw manifest schema --write`", folder
            )
        click.echo(f"{folder}: up to date")
    else:
        for tbl in TABLES.values():
            _print_table(tbl)


def _print_table(tbl: Table) -> None:
    click.echo(f"{tbl.tag}: {tbl.doc}")
    for c in tbl.columns:
        unit = f" [{c.unit}]" if c.unit else ""
        click.echo(f"  {c.name:<24} {c.type!s:<26}{unit} {c.doc}")


@manifest.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rows", type=click.IntRange(0), default=10, show_default=True)
def show(path: Path, rows: int) -> None:
    """Print a manifest's schema tag, row count and first rows."""
    import pandas as pd

    from srraw.manifest import read_manifest, schema_tag

    data = read_manifest(path)
    name, major, minor = schema_tag(path)
    click.echo(f"{path}: {name}/{major}.{minor}, {data.num_rows} rows")
    if rows:
        with pd.option_context("display.width", 200, "display.max_columns", 12):
            click.echo(data.slice(0, rows).to_pandas().to_string())
