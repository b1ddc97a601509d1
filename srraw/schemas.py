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
_IDENT = (
    Column("sequence", STR, "sequence id: the sequence folder name (SR-RAW: '00017')", "", False),
)

CAPTURES = Table(
    name="captures",
    major=1,
    minor=0,
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
    ),
)

FRAMES = Table(
    name="frames",
    major=1,
    minor=0,
    doc="One row per frame (RAW + JPEG) of a dataset, as read by `srraw prep`.",
    columns=(
        *_IDENT,
        Column("frame", I32, "frame index from the file stem (00001 -> 1)", "", False),
        Column("status", STR, _STATUS_DOC, "", False),
        Column("error", STR, "why the frame failed; null otherwise"),
        Column(
            "qa_flags",
            STR_LIST,
            "reasons a frame or its sequence is flagged, e.g. 'exposure_mismatch'",
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
    ),
)

PAIRS = Table(
    name="pairs",
    major=1,
    minor=0,
    doc=(
        "One row per training pair: RAW of the short-focal frame L (input) and JPEG of the "
        "long-focal frame H (target), for zoom factor `zoom`."
    ),
    columns=(
        *_IDENT,
        Column("zoom", I32, "target zoom factor Z", "x", False),
        Column(
            "frame_l",
            I32,
            "frame index of the short-focal frame L (input); null on a row that says why a "
            "sequence has no pair for this zoom",
        ),
        Column("frame_h", I32, "frame index of the long-focal frame H (target); null likewise"),
        Column("status", STR, _STATUS_DOC, "", False),
        Column("error", STR, "why the pair failed; null otherwise"),
        Column(
            "qa_flags", STR_LIST, "reasons the pair is flagged: 'low_rho', 'large_residual', ..."
        ),
        Column("split", STR, "'train', 'val' or 'test', assigned per sequence"),
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
            "x right, y down",
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
        Column("ecc_rho", F64, "enhanced correlation coefficient after refinement", "0..1"),
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
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (CAPTURES, FRAMES, PAIRS)}


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(f"unknown manifest table {name!r}; known: {', '.join(TABLES)}") from None
