"""`srraw prep` end to end: discover, process sequences (resumably), merge, report."""

from __future__ import annotations

import tempfile
import traceback
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from srraw.errors import SrrawError
from srraw.manifest import to_arrow, write_manifest
from srraw.memory import reuse_freed_pages
from srraw.parallel import threads_per_job
from srraw.schemas import FRAMES, PAIRS
from srraw_prep import state
from srraw_prep.config import PrepConfig
from srraw_prep.discover import SequenceInput, discover
from srraw_prep.duplicates import flag_duplicates
from srraw_prep.executor import run_tasks
from srraw_prep.report import write_report
from srraw_prep.sequence import SequenceResult, process_sequence
from srraw_prep.split import assign, unmatched
from srraw_prep.summary import Summary, item_lines


def _internal_error(seq: SequenceInput, cfg: PrepConfig, exc: BaseException) -> SequenceResult:
    """A bug must not stop the run: the sequence's frames become failed rows (retried next run)."""
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    error = f"{seq.sequence}: internal error ({last}); please report it with `srraw doctor`"
    frames = [
        {
            "sequence": seq.sequence,
            "frame": f.index,
            "status": "failed",
            "error": error,
            "qa_flags": [],
        }
        for f in seq.frames
    ]
    pairs = [
        {"sequence": seq.sequence, "zoom": z, "status": "failed", "error": error, "qa_flags": []}
        for z in cfg.zooms
    ]
    return SequenceResult(seq.sequence, frames, pairs, {}, {"error": 1.0})


def prep_one(
    seq: SequenceInput, cfg: PrepConfig, out: Path, threads: int = 1
) -> tuple[str, dict[str, float]]:
    """Process one sequence and save its state; runs in a worker process."""
    reuse_freed_pages()
    try:
        # prep's matrix products are small (thousands of rows by ~30): BLAS's own threads only
        # spin beside prep's, 1.5 s of CPU a 12 MP sequence. Threads are prep's to spread.
        with threadpool_limits(limits=1, user_api="blas"):
            result = process_sequence(seq, cfg, threads)
    except Exception as exc:
        result = _internal_error(seq, cfg, exc)
    state.save(out, seq, cfg, result)
    return seq.sequence, result.timings


def _status_counts(table: pa.Table) -> dict[str, int]:
    counts = pc.value_counts(table.column("status")).to_pylist() if table.num_rows else []
    return {c["values"]: c["counts"] for c in counts}


def merge(
    out: Path, sequences: list[SequenceInput], splits: dict[str, str]
) -> tuple[pa.Table, pa.Table]:
    """Concatenate the per-sequence results into the two manifest tables, sorted."""
    frames, pairs = [], []
    for seq in sequences:
        f, p = state.load(out, seq.sequence)
        frames.append(f)
        pairs.append(p)
    frames_t = pa.concat_tables(frames) if frames else FRAMES.schema.empty_table()
    pairs_t = pa.concat_tables(pairs) if pairs else PAIRS.schema.empty_table()
    frames_t = frames_t.sort_by([("sequence", "ascending"), ("frame", "ascending")])
    pairs_t = pairs_t.sort_by(
        [
            ("sequence", "ascending"),
            ("zoom", "ascending"),
            ("frame_l", "ascending"),
            ("frame_h", "ascending"),
        ]
    )
    split = pa.array([splits[s] for s in pairs_t.column("sequence").to_pylist()], pa.string())
    pairs_t = pairs_t.set_column(pairs_t.schema.get_field_index("split"), "split", split)
    frame_rows, pair_rows = flag_duplicates(frames_t.to_pylist(), pairs_t.to_pylist())
    return to_arrow(FRAMES, frame_rows), to_arrow(PAIRS, pair_rows)


def check_writable(out: Path, defaulted: bool) -> None:
    """Refuse up front, before any work, a manifest folder that cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        hint = "; pass --out FOLDER to write the manifests elsewhere" if defaulted else ""
        raise SrrawError(
            f"cannot write the manifests here ({exc.strerror or exc}){hint}", out
        ) from None


def prep(
    dataset: Path,
    out: Path | None,
    cfg: PrepConfig,
    *,
    jobs: int = 1,
    force: bool = False,
    split_seed: int = 0,
    split_overrides: dict[str, str] | None = None,
    progress: bool = True,
    executor: str = "local",
    scheduler: str | None = None,
) -> Summary:
    root, sequences = discover(dataset)
    check_writable(out or root / "manifests", defaulted=out is None)
    out = out or root / "manifests"
    if split_overrides and (extra := unmatched(split_overrides, [s.sequence for s in sequences])):
        click.echo(
            f"prep: warning: --split-file names sequences that are not in {root}: "
            + ", ".join(extra),
            err=True,
        )
    todo = [s for s in sequences if force or not state.is_done(out, s, cfg)]
    with tqdm(total=len(todo), unit="seq", desc="prep", disable=not progress or not todo) as bar:
        # A local job fills its share of the cores with threads; Dask schedules its own.
        threads = threads_per_job(jobs) if executor == "local" else 1
        tasks = [(s, cfg, out.resolve(), threads) for s in todo]
        results = run_tasks(prep_one, tasks, executor=executor, jobs=jobs, scheduler=scheduler)
        for name, _ in results:
            bar.set_postfix_str(name)
            bar.update()
    splits = assign(
        [s.sequence for s in sequences],
        split_seed,
        split_overrides,
        {s.sequence: s.split for s in sequences if s.split},
    )
    frames, pairs = merge(out, sequences, splits)
    write_manifest("frames", frames, out / "frames.parquet")
    write_manifest("pairs", pairs, out / "pairs.parquet")
    write_report(out / "report.html", frames, pairs, lambda s, n: state.thumb(out, s, n), root)
    return Summary(
        len(sequences),
        len(sequences) - len(todo),
        _status_counts(frames),
        _status_counts(pairs),
        out,
        tuple(item_lines(frames, pairs)),
    )
