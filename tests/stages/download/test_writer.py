"""The download's own shard writer against img2dataset's WebDatasetSampleWriter on the same
samples: the same tar members in the same order with the same bytes, the same parquet rows in
the same row groups, read back by the real webdataset reader."""

import tarfile

import pyarrow as pa
import pyarrow.parquet as pq
import webdataset as wds

from wit_pipeline.stages.download.unit import samples_schema
from wit_pipeline.stages.download.writer import ShardWriter

INPUT = pa.schema([("url", pa.string()), ("caption", pa.string())])


def _samples(count: int) -> list[tuple[bytes | None, str, str | None, dict]]:
    out = []
    for n in range(count):
        ok = n % 7 != 3
        key = f"00003{n:04d}"
        caption = None if n % 11 == 5 else f"caption {n} é"
        meta = {
            "url": f"http://example.invalid/{n}.jpg",
            "caption": caption,
            "key": key,
            "status": "success" if ok else "failed_to_download",
            "error_message": None if ok else "http 404",
            "width": 256 if ok else None,
            "height": 256 if ok else None,
            "original_width": 1000 + n if ok else None,
            "original_height": 700 if ok else None,
            "sha256": f"{n:064x}" if ok else None,
            "error_code": None if ok else "http_404",
        }
        out.append((bytes([n % 256]) * (500 + n) if ok else None, key, caption, meta))
    return out


def _write(writer, samples) -> None:
    for image, key, caption, meta in samples:
        writer.write(image, key, caption, dict(meta))
    writer.close()


def _members(path) -> list[tuple[str, bytes, int, str]]:
    with tarfile.open(path) as tar:
        return [(m.name, tar.extractfile(m).read(), m.mode, m.uname) for m in tar.getmembers()]


def test_same_files_as_img2dataset_writes(tmp_path):
    from img2dataset.writer import WebDatasetSampleWriter

    samples = _samples(230)
    schema = samples_schema(INPUT)
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    _write(ShardWriter(3, str(tmp_path / "ours"), schema, "jpg"), samples)
    _write(WebDatasetSampleWriter(3, str(tmp_path / "theirs"), True, 5, schema, "jpg"), samples)
    ours, theirs = tmp_path / "ours" / "00003", tmp_path / "theirs" / "00003"
    assert _members(ours.with_suffix(".tar")) == _members(theirs.with_suffix(".tar"))
    assert len(_members(ours.with_suffix(".tar"))) == 3 * sum(s[0] is not None for s in samples)
    ours_table = pq.ParquetFile(ours.with_suffix(".parquet"))
    theirs_table = pq.ParquetFile(theirs.with_suffix(".parquet"))
    assert ours_table.read().equals(theirs_table.read())
    assert ours_table.metadata.num_row_groups == theirs_table.metadata.num_row_groups == 3


def test_webdataset_reads_every_sample(tmp_path):
    samples = _samples(40)
    _write(ShardWriter(0, str(tmp_path), samples_schema(INPUT), "jpg"), samples)
    read = list(wds.WebDataset(str(tmp_path / "00000.tar"), shardshuffle=False))
    stored = [s for s in samples if s[0] is not None]
    assert [r["__key__"] for r in read] == [s[1] for s in stored]
    assert [r["jpg"] for r in read] == [s[0] for s in stored]
    assert [r["txt"].decode() for r in read] == [s[2] or "" for s in stored]
