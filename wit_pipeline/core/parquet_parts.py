"""Write a stream of Arrow record batches as numbered parquet parts, each appearing atomically."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from wit_pipeline.core.atomic import atomic_path


class _PartSink:
    """The part being written: a ParquetWriter on a temporary name, renamed when closed."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.name, self.rows = path.name, 0
        self._stack = ExitStack()
        temp = self._stack.enter_context(atomic_path(path))
        self._writer = self._stack.enter_context(pq.ParquetWriter(temp, schema, compression="zstd"))

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def close(self, error: BaseException | None = None) -> None:
        if error is None:
            self._stack.close()
        else:
            self._stack.__exit__(type(error), error, error.__traceback__)


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [batch.column(name).cast(schema.field(name).type) for name in schema.names], schema=schema
    )


def write_parts(
    batches: Iterable[pa.RecordBatch],
    directory: Path,
    schema: pa.Schema,
    *,
    prefix: str = "part-",
    rows_per_part: int = 1_000_000,
) -> list[tuple[str, int]]:
    """Write `batches` as `{prefix}00000.parquet`, ... of at most `rows_per_part` rows each.

    Streams: at most one batch is held in memory. Returns (file name, rows) per part; an empty
    stream still gives one empty part, so a later stage reads an empty table, not a missing one.
    """
    written: list[tuple[str, int]] = []
    sink: _PartSink | None = None

    def next_sink() -> _PartSink:
        return _PartSink(directory / f"{prefix}{len(written):05d}.parquet", schema)

    try:
        for batch in batches:
            batch = _conform(batch, schema)
            while batch.num_rows:
                sink = sink or next_sink()
                take = batch.slice(0, rows_per_part - sink.rows)
                sink.write(take)
                batch = batch.slice(take.num_rows)
                if sink.rows == rows_per_part:
                    sink.close()
                    written.append((sink.name, sink.rows))
                    sink = None
        if sink is not None or not written:
            sink = sink or next_sink()
            sink.close()
            written.append((sink.name, sink.rows))
            sink = None
    except BaseException as exc:
        if sink is not None:
            sink.close(exc)
        raise
    return written
