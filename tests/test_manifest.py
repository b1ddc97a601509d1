"""Manifest contract: schema tags, version refusal, atomic writes, readers, checked-in files."""

import datetime as dt
import os

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from srraw.errors import SrrawError
from srraw.files import relative_to_root, sha256_file
from srraw.manifest import read_manifest, read_manifest_df, schema_tag, write_manifest
from srraw.manifest_cli import MANIFESTS_DIR, drift, generated_files
from srraw.schemas import FRAMES, TABLES
from tests.conftest import run_srraw

UTC = dt.UTC


def frame_rows(n: int = 3) -> list[dict]:
    return [
        {
            "sequence": "00017",
            "frame": i,
            "status": "ok" if i != 2 else "failed",
            "error": None if i != 2 else "00017/00002.ARW: truncated RAW",
            "qa_flags": [] if i != 3 else ["exposure_mismatch"],
            "raw_path": f"00017/{i:05d}.ARW",
            "raw_sha256": "ab" * 32,
            "raw_bytes": 24_000_000 + i,
            "cfa": "RGGB",
            "black_levels": [512.0, 512.0, 512.0, 512.0],
            "white_level": 16383,
            "wb": [2.1, 1.0, 1.6],
            "color_matrix": [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0],
            "focal_length_mm": 70.4,
            "iso": 100,
            "capture_time": dt.datetime(2026, 1, 1, 12, 0, i, tzinfo=UTC),
        }
        for i in range(1, n + 1)
    ]


def test_round_trip_keeps_values_and_tags_the_schema(tmp_path):
    path = write_manifest("frames", frame_rows(), tmp_path / "frames.parquet")
    assert schema_tag(path) == ("frames", FRAMES.major, FRAMES.minor)
    meta = pq.read_schema(path).metadata
    assert meta[b"srraw.schema"] == FRAMES.tag.encode()
    table = read_manifest(path, "frames")
    assert table.schema.remove_metadata().equals(FRAMES.schema.remove_metadata())
    df = table.to_pandas()
    assert list(df["frame"]) == [1, 2, 3]
    assert df.loc[1, "status"] == "failed" and "truncated" in df.loc[1, "error"]
    assert list(df.loc[2, "qa_flags"]) == ["exposure_mismatch"]
    assert list(df.loc[0, "wb"]) == [2.1, 1.0, 1.6]
    assert df.loc[0, "focal_length_mm"] == 70.4
    assert df["jpeg_path"].isna().all()  # absent nullable columns become nulls


def test_plain_readers_read_it_as_is(tmp_path):
    path = write_manifest("frames", frame_rows(), tmp_path / "frames.parquet")
    df = pd.read_parquet(path)
    assert df["sequence"].tolist() == ["00017"] * 3
    assert pq.read_table(path).column("black_levels")[0].as_py() == [512.0] * 4
    rows = duckdb.sql(
        f"select frame, black_levels[1], wb[3], len(qa_flags), capture_time::varchar "
        f"from '{path}' order by frame"
    ).fetchall()
    assert rows[2] == (3, 512.0, 1.6, 1, "2026-01-01 12:00:03+00")


def test_unknown_major_version_is_refused_in_one_line(tmp_path):
    path = tmp_path / "frames.parquet"
    table = pa.table({"sequence": ["00001"]}).replace_schema_metadata(
        {b"srraw.schema": b"frames/2.0"}
    )
    pq.write_table(table, path)
    with pytest.raises(SrrawError) as info:
        read_manifest(path)
    assert info.value.message == (
        f"{path}: schema frames/2.0 is not readable by this srraw (reads frames/1.x); "
        "use a matching srraw version"
    )
    result = run_srraw("manifest", "show", str(path))
    assert result.returncode == 2 and result.stderr.count("\n") == 1


def test_newer_minor_version_still_reads(tmp_path):
    path = write_manifest("frames", frame_rows(1), tmp_path / "frames.parquet")
    table = pq.read_table(path)
    bumped = table.replace_schema_metadata({b"srraw.schema": b"frames/1.7"})
    pq.write_table(bumped, path)
    assert read_manifest_df(path, "frames")["frame"].tolist() == [1]


def test_other_tables_and_foreign_files_are_refused(tmp_path):
    path = write_manifest("frames", frame_rows(1), tmp_path / "frames.parquet")
    with pytest.raises(SrrawError, match="is a frames manifest, expected pairs"):
        read_manifest(path, "pairs")
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"a": [1]}), plain)
    with pytest.raises(SrrawError, match="not an srraw manifest"):
        read_manifest(plain)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(SrrawError, match="not a readable Parquet file"):
        read_manifest(junk)


def test_bad_rows_never_reach_disk(tmp_path):
    path = tmp_path / "frames.parquet"
    with pytest.raises(ValueError, match="unknown columns"):
        write_manifest("frames", [{"sequence": "1", "frame": 1, "status": "ok", "fram": 2}], path)
    with pytest.raises(ValueError, match="required column 'status'"):
        write_manifest("frames", [{"sequence": "1", "frame": 1}], path)
    assert not path.exists()
    assert os.listdir(tmp_path) == []


def test_crash_mid_write_leaves_the_old_manifest_intact(tmp_path, monkeypatch):
    path = write_manifest("frames", frame_rows(3), tmp_path / "frames.parquet")
    before = sha256_file(path)

    def crash(table, where, **kwargs):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(KeyboardInterrupt):
        write_manifest("frames", frame_rows(1), path)
    assert sha256_file(path) == before
    assert sorted(os.listdir(tmp_path)) == ["frames.parquet"]  # no temporary left behind
    assert len(read_manifest_df(path)) == 3


def test_full_disk_is_one_clear_error(tmp_path, monkeypatch):
    def no_space(table, where, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", no_space)
    path = tmp_path / "pairs.parquet"
    with pytest.raises(SrrawError, match="cannot write: No space left on device"):
        write_manifest("pairs", [], path)
    assert os.listdir(tmp_path) == []


def test_empty_table_is_valid(tmp_path):
    path = write_manifest("pairs", [], tmp_path / "pairs.parquet")
    assert read_manifest(path, "pairs").num_rows == 0


def test_paths_are_relative_to_the_dataset_root(tmp_path):
    assert relative_to_root(tmp_path / "a" / "00001.ARW", tmp_path) == "a/00001.ARW"
    with pytest.raises(SrrawError, match="outside the dataset root"):
        relative_to_root(tmp_path.parent / "x.ARW", tmp_path)


def test_every_referenced_file_has_its_checksum_column():
    for table in TABLES.values():
        names = table.schema.names
        for name in names:
            if name.endswith("_path"):
                assert name.removesuffix("_path") + "_sha256" in names, (table.name, name)


def test_checked_in_schema_files_match_the_code():
    assert drift(MANIFESTS_DIR) == [], "run `srraw manifest schema --write`"
    assert set(generated_files()) == {f"{t}.schema.json" for t in TABLES} | {"README.md"}


def test_drift_is_detected(tmp_path):
    result = run_srraw("manifest", "schema", "--write", "--dir", str(tmp_path))
    assert result.returncode == 0
    assert drift(tmp_path) == []
    (tmp_path / "pairs.schema.json").write_text("{}")
    result = run_srraw("manifest", "schema", "--check", "--dir", str(tmp_path))
    assert result.returncode == 2 and "pairs.schema.json" in result.stderr


def test_every_column_is_documented():
    for table in TABLES.values():
        for column in table.columns:
            assert column.doc, (table.name, column.name)
        readme = generated_files()["README.md"]
        assert all(f"`{c.name}`" in readme for c in table.columns)


def test_a_column_missing_from_the_first_row_is_kept(tmp_path):
    rows = [
        {"sequence": "a", "frame": 1, "status": "ok"},
        {"sequence": "a", "frame": 2, "status": "failed", "error": "a/00002.ARW: truncated"},
    ]
    path = write_manifest("frames", rows, tmp_path / "frames.parquet")
    assert read_manifest_df(path)["error"].tolist()[1] == "a/00002.ARW: truncated"
