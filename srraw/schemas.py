"""The Arrow schemas of every manifest table: one place, one version per table.

Each column carries its unit and convention; `srraw manifest schema --write` turns this module
into manifests/*.schema.json and manifests/README.md, and a test keeps them equal.
"""

from __future__ import annotations

import dataclasses
import json

import pyarrow as pa

SCHEMA_KEY = b"srraw.schema"


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    doc: str
    unit: str = ""
    nullable: bool = True

    def field(self) -> pa.Field:
        meta = {b"doc": self.doc.encode(), b"unit": self.unit.encode()}
        return pa.field(self.name, self.type, nullable=self.nullable, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    major: int
    minor: int
    doc: str
    columns: tuple[Column, ...]

    @property
    def tag(self) -> str:
        """The value of `srraw.schema` in the Parquet metadata, e.g. 'frames/1.0'."""
        return f"{self.name}/{self.major}.{self.minor}"

    @property
    def schema(self) -> pa.Schema:
        return pa.schema(
            [c.field() for c in self.columns], metadata={SCHEMA_KEY: self.tag.encode()}
        )

    def to_json(self) -> str:
        """The checked-in schema file for this table."""
        doc = {
            "table": self.name,
            "version": f"{self.major}.{self.minor}",
            "doc": self.doc,
            "columns": [
                {
                    "name": c.name,
                    "type": str(c.type),
                    "nullable": c.nullable,
                    "unit": c.unit,
                    "doc": c.doc,
                }
                for c in self.columns
            ],
        }
        return json.dumps(doc, indent=2) + "\n"


STR = pa.string()
F64 = pa.float64()
I32 = pa.int32()
I64 = pa.int64()
TIME = pa.timestamp("us", tz="UTC")
F64_LIST = pa.list_(F64)
STR_LIST = pa.list_(STR)
I32_LIST = pa.list_(I32)


def _file_columns(prefix: str, what: str) -> tuple[Column, ...]:
    return (
        Column(f"{prefix}_path", STR, f"{what}, relative to the dataset root (POSIX separators)"),
        Column(f"{prefix}_sha256", STR, f"sha256 of {what}, lower-case hex"),
        Column(f"{prefix}_bytes", I64, f"size of {what}", "bytes"),
    )


_EXPOSURE = (
    Column("exposure_time_s", F64, "exposure time from EXIF", "s"),
    Column("f_number", F64, "aperture from EXIF", "f-number"),
    Column("iso", I32, "ISO from EXIF", "ISO"),
)
_STATUS_DOC = "'ok', 'flagged' (usable, see qa_flags) or 'failed' (see error)"
_PAIR_STATUS_DOC = (
    "'ok', 'flagged' (usable, see qa_flags), 'failed' (see error) or 'absent' (the "
    "sequence's focal lengths make no pair for this zoom, e.g. a lens spanning less than 8X; "
    "not a failure, see error)"
)
_IDENT = (
    Column("sequence", STR, "sequence id: the sequence folder name (SR-RAW: '00017')", "", False),
)
_PREP_IDENT = (
    Column(
        "sequence",
        STR,
        "sequence id: the sequence folder's name (SR-RAW: '00017'; the dataset folder's own "
        "name when it is one sequence); where two folders share a name, their path from the "
        "dataset root ('day2/00017')",
        "",
        False,
    ),
)

CAPTURES = Table(
    name="captures",
    major=1,
    minor=1,
    doc="One row per frame of a capture session, rebuilt from the session journals.",
    columns=(
        *_IDENT,
        Column("frame", I32, "frame index in capture order, 1-based (file stem 00001)", "", False),
        Column(
            "status",
            STR,
            "'ok' (on disk, verified), 'pending' (not yet safe) or 'failed'",
            "",
            False,
        ),
        Column("error", STR, "why the frame failed; null when ok"),
        Column("rig", STR, "rig profile name"),
        Column("camera_model", STR, "camera model as libgphoto2 reports it"),
        Column("camera_serial", STR, "camera serial number"),
        Column("port", STR, "libgphoto2 port, e.g. 'ptpip:127.0.0.1' or 'usb:001,004'"),
        Column("focal_asked_mm", F64, "focal length the rig asked for", "mm"),
        Column("focal_camera_mm", F64, "focal length the camera property read at capture", "mm"),
        Column("focal_exif_mm", F64, "focal length in the downloaded file's EXIF", "mm"),
        *_EXPOSURE,
        *_file_columns("raw", "the RAW file"),
        *_file_columns("jpeg", "the camera JPEG"),
        Column("captured_at", TIME, "when the frame was safely on disk", "UTC"),
        Column("attempts", I32, "captures taken for this frame, retakes included", "count"),
        Column(
            "qa_verdict",
            STR,
            "the sequence's field check: 'usable', 'usable with doubts', 'not usable' or "
            "'field check failed'; null: not checked (--no-qa, or not yet)",
        ),
        Column("qa_problems", STR_LIST, "the field check's reasons, in words; null: not checked"),
    ),
)

FRAMES = Table(
    name="frames",
    major=1,
    minor=2,  # 1.2: status 'absent' (pairs), duplicate_file, folder-name ids
    doc="One row per frame (RAW + JPEG) of a dataset, as read by `srraw prep`.",
    columns=(
        *_PREP_IDENT,
        Column("frame", I32, "frame index from the file stem (00001 -> 1)", "", False),
        Column("status", STR, _STATUS_DOC, "", False),
        Column(
            "error",
            STR,
            "why the frame failed, or what its flags found (e.g. which file it duplicates); "
            "null when ok",
        ),
        Column(
            "qa_flags",
            STR_LIST,
            "reasons a frame or its sequence is flagged: 'exposure_mismatch', 'iso_mismatch', "
            "'aperture_mismatch', 'mixed_body', 'mixed_lens', 'duplicate_file' (same sha256 "
            "as another file of the dataset)",
        ),
        *_file_columns("raw", "the RAW file"),
        *_file_columns("jpeg", "the camera JPEG"),
        Column("width", I32, "visible mosaic width", "px"),
        Column("height", I32, "visible mosaic height", "px"),
        Column("jpeg_width", I32, "JPEG width", "px"),
        Column("jpeg_height", I32, "JPEG height", "px"),
        Column("cfa", STR, "2x2 CFA layout in reading order: RGGB, BGGR, GRBG or GBRG"),
        Column(
            "black_levels",
            F64_LIST,
            "black level per channel, 4 values in canonical order R, G1, B, G2 "
            "(G1: green on the red row)",
            "DN",
        ),
        Column("white_level", I32, "saturation level", "DN"),
        Column("wb", F64_LIST, "as-shot white-balance multipliers R, G, B, normalised to G = 1"),
        Column(
            "color_matrix",
            F64_LIST,
            "white-balanced camera RGB -> linear sRGB, 9 values row-major; null if unknown",
        ),
        Column("focal_length_mm", F64, "focal length from EXIF, not rounded", "mm"),
        *_EXPOSURE,
        Column("make", STR, "camera make from EXIF"),
        Column("model", STR, "camera model from EXIF"),
        Column("serial", STR, "body serial number from EXIF"),
        Column("lens_model", STR, "lens model from EXIF"),
        Column("orientation", I32, "EXIF orientation (1 = normal)"),
        Column("capture_time", TIME, "EXIF DateTimeOriginal, camera clock taken as UTC", "UTC"),
        # Lens geometry (minor 1). Conventions: srraw/lens.py; a point's ideal (pinhole)
        # position u and its real position p on the RAW mosaic share the frame centre
        # c = ((width - 1) / 2, (height - 1) / 2); r is |p - c| * distortion_norm_scale.
        Column(
            "lens_lensfun",
            STR,
            "the lensfun lens the prior came from ('Maker Model'); null when lensfun does not "
            "know the lens",
        ),
        Column(
            "distortion_model",
            STR,
            "lensfun model of the RAW's distortion: 'ptlens' (r_d = r_u (a r_u^3 + b r_u^2 + "
            "c r_u + 1 - a - b - c)), 'poly3', 'poly5' or 'none'",
        ),
        Column(
            "distortion_terms",
            F64_LIST,
            "the model's terms: a, b, c (ptlens), k1 (poly3), k1, k2 (poly5); ideal -> real",
        ),
        Column(
            "distortion_norm_scale",
            F64,
            "normalised radius units per RAW mosaic pixel (lensfun's: 1 = half the shorter "
            "side for a full-frame calibration)",
            "1/px",
        ),
        Column(
            "distortion_source",
            STR,
            "where the terms come from: 'lensfun' (database prior only), 'measured' (from the "
            "images, no prior), 'lensfun+measured' (prior refined from the images) or 'none'",
        ),
        Column(
            "distortion_max_px",
            F64,
            "largest |real - ideal| displacement over the frame (at its corners)",
            "RAW px",
        ),
        Column(
            "jpeg_geometry",
            STR,
            "the JPEG's grid, measured against its own RAW: 'raw' (the RAW's distorted grid) "
            "or 'corrected' (the body undistorted it)",
        ),
        Column(
            "jpeg_scale",
            F64,
            "JPEG px per RAW px about the centres: q = c_jpeg + jpeg_scale (x - c) + offset, "
            "x = the RAW pixel ('raw') or its ideal position ('corrected'); > 1 is a crop",
            "x",
        ),
        Column("jpeg_offset_x", F64, "offset of that map, x", "JPEG px"),
        Column("jpeg_offset_y", F64, "offset of that map, y", "JPEG px"),
        Column(
            "jpeg_geometry_residual_px",
            F64,
            "median residual of the JPEG-vs-RAW fit; null when it could not be measured",
            "JPEG px",
        ),
        Column(
            "makernote_distortion_correction",
            STR,
            "the body's distortion-correction setting as its maker note states it ('on' or "
            "'off'); null when the maker note does not say",
        ),
    ),
)

PAIRS = Table(
    name="pairs",
    major=1,
    # 1.5: error_model_px; 1.4: error_local_px is what neighbouring cells agree on;
    # 1.3: error_estimate_px and its evidence; 1.2: status 'absent', duplicate_file
    minor=5,
    doc=(
        "One row per training pair: RAW of the short-focal frame L (input) and JPEG of the "
        "long-focal frame H (target), for zoom factor `zoom`."
    ),
    columns=(
        *_PREP_IDENT,
        Column("zoom", I32, "target zoom factor Z", "x", False),
        Column(
            "frame_l",
            I32,
            "frame index of the short-focal frame L (input); null on a row that says why a "
            "sequence has no pair for this zoom",
        ),
        Column("frame_h", I32, "frame index of the long-focal frame H (target); null likewise"),
        Column("status", STR, _PAIR_STATUS_DOC, "", False),
        Column("error", STR, "why the pair failed or is absent; null otherwise"),
        Column(
            "qa_flags",
            STR_LIST,
            "reasons the pair is flagged: 'low_rho', 'large_residual', 'no_texture', "
            "'scale_far_from_nominal', 'duplicate_file', or its frames' flags",
        ),
        Column(
            "split",
            STR,
            "'train', 'val' or 'test', per sequence: --split-file, else a train/, val/ or "
            "test/ folder above the sequence, else 80:10:10 by a seeded hash of its id",
        ),
        Column("raw_l_path", STR, "RAW of L, relative to the dataset root"),
        Column("raw_l_sha256", STR, "sha256 of the RAW of L"),
        Column("jpeg_l_path", STR, "JPEG of L, relative to the dataset root"),
        Column("jpeg_l_sha256", STR, "sha256 of the JPEG of L"),
        Column("jpeg_h_path", STR, "JPEG of H (the target), relative to the dataset root"),
        Column("jpeg_h_sha256", STR, "sha256 of the JPEG of H"),
        Column("focal_l_mm", F64, "EXIF focal length of L", "mm"),
        Column("focal_h_mm", F64, "EXIF focal length of H", "mm"),
        Column("nominal_ratio", F64, "focal_h_mm / focal_l_mm from EXIF", "x"),
        Column(
            "measured_scale", F64, "magnification of H relative to L measured from the images", "x"
        ),
        Column("scale_offset", F64, "measured_scale / zoom, applied to the target", "x"),
        Column(
            "h_to_l",
            F64_LIST,
            "3x3 matrix, 9 values row-major: pixel coordinates of the JPEG of H -> pixel "
            "coordinates of the RAW mosaic of L; origin at the centre of the top-left pixel, "
            "x right, y down. With a grid: the least-squares similarity to its nodes",
        ),
        Column(
            "h_to_l_grid",
            F64_LIST,
            "the full, non-rigid map (lens distortion of both frames, JPEG geometry): the "
            "row-major flattening of a (ny, nx, 2) array; node (i, j) sits at JPEG-H pixel "
            "(x = j (W_H - 1) / (nx - 1), y = i (H_H - 1) / (ny - 1)) and holds the RAW-L mosaic "
            "pixel (x, y) that this target pixel images; read bilinearly between nodes (within "
            "0.02 H px of the full model). Null: use h_to_l. Reader: srraw.pairmap.PairMap",
            "L mosaic px",
        ),
        Column("h_to_l_grid_shape", I32_LIST, "[ny, nx] of h_to_l_grid", "nodes"),
        Column(
            "map_model",
            STR,
            "how the pair's map was built: 'lens' (per-frame distortion + similarity, fitted "
            "over the sequence) or 'similarity' (h_to_l alone)",
        ),
        Column("scale", F64, "scale of h_to_l: sqrt(|det| of its 2x2 part), L px per H px", "x"),
        Column(
            "rotation_deg",
            F64,
            "rotation of h_to_l: atan2(h_to_l[3], h_to_l[0]); y points down, so positive "
            "turns clockwise on screen",
            "deg",
        ),
        Column("tx", F64, "translation of h_to_l: h_to_l[2]", "L mosaic px"),
        Column("ty", F64, "translation of h_to_l: h_to_l[5]", "L mosaic px"),
        Column("box_x0", I32, "mosaic box covered by the target: left (even)", "L mosaic px"),
        Column("box_y0", I32, "mosaic box covered by the target: top (even)", "L mosaic px"),
        Column(
            "box_x1",
            I32,
            "mosaic box covered by the target: right, exclusive (even)",
            "L mosaic px",
        ),
        Column(
            "box_y1",
            I32,
            "mosaic box covered by the target: bottom, exclusive (even)",
            "L mosaic px",
        ),
        Column(
            "ecc_rho",
            F64,
            "enhanced correlation coefficient (zero-mean normalised correlation) of H and L "
            "aligned through the full map, green, linear light",
            "0..1",
        ),
        Column("residual_median_px", F64, "median residual misalignment after alignment", "H px"),
        Column("residual_p95_px", F64, "95th percentile residual misalignment", "H px"),
        Column(
            "residual_valid_fraction",
            F64,
            "fraction of pixels the residual was measured on",
            "0..1",
        ),
        Column(
            "color_gain", F64_LIST, "per-channel gain R, G, B taking aligned L to H, linear light"
        ),
        Column("color_fit_rmse", F64, "RMSE of that gain fit on 8-bit sRGB values", "DN"),
        # Error estimate (minor 3): how wrong the map may be, from evidence, not truth.
        Column(
            "error_estimate_px",
            F64,
            "estimated largest error of the map over the target: max(error_local_px, 3 x "
            "error_lever_px, error_cycle_px, 3 x error_model_px); above prep's "
            "--max-error-estimate the pair is flagged 'large_error_estimate' (calibrated on "
            "synthetic truth)",
            "H px",
        ),
        Column(
            "error_local_px",
            F64,
            "largest residual displacement that two neighbouring cells of the target's 16 x 12 "
            "cells agree on (median residual vector of the flow matches per cell under the "
            "final map; per pair of neighbours the smaller magnitude times the cosine between "
            "them; a cell counts only where L shifted by its residual correlates with H at "
            "least as well as unshifted): a moved region spans cells, bad flow stays in one",
            "H px",
        ),
        Column(
            "error_lever_px",
            F64,
            "1-sigma error at the worst corner of the target of a similarity fitted to the "
            "pair's own matches (texture in one region pins the far side poorly)",
            "H px",
        ),
        Column(
            "error_cycle_px",
            F64,
            "largest corner distance between the sequence's joint map and the pair fitted on "
            "its own matches (consistency of the sequence's maps)",
            "H px",
        ),
        Column(
            "error_model_px",
            F64,
            "1-sigma error of the map at the worst point of the target, carried from the "
            "covariance of the sequence's joint fit (poses and lens terms of both frames)",
            "H px",
        ),
        Column(
            "texture_coverage",
            F64,
            "share of the target's 8 x 6 cells holding at least 3 flow matches",
            "0..1",
        ),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (CAPTURES, FRAMES, PAIRS)}


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(f"unknown manifest table {name!r}; known: {', '.join(TABLES)}") from None
