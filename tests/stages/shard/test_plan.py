"""The columnar plan: shards byte-identical to the object-per-sample plan it replaced, and a
plan whose memory is a few tens of bytes per sample."""

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.shard import write_shards
from wit_pipeline.stages.shard.plan import make_plan

RAW_SHARDS = ("00000", "00001", "00002")
SAMPLES_PER_RAW_SHARD = 17
DECISIONS_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("shard", pa.string()),
        ("keep", pa.bool_()),
        ("reason", pa.string()),
        ("reasons", pa.list_(pa.string())),
        ("clip_score", pa.float32()),
        ("clip_model", pa.string()),
        ("phash", pa.uint64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
    ]
)
GOLDEN = {
    (0, 7): {
        "00000.tar": "d2bc4e913ff8bbb1b1ec1e98cfdb2a51",
        "00001.tar": "17fb533bd6a539c32eba8e42dd8e86d4",
        "00002.tar": "d0355045bf8f3f53dac3eec0d73828ea",
        "00003.tar": "a90d83c70e1170cc5acc94edad5757d0",
        "00004.tar": "5788011ffd92f59e861ec08dc33d8d78",
        "00005.tar": "d0f56e35c76ff9185cb3ed6ef3397967",
        "index.wids.json": "f43922a67f13b28051c69d378c0c4f43",
        "sizes.json": "94a67dad70a6c23cb9999c868e873b6f",
        "stats.json": "bfa8fcd97d4ad04e1bfbc533f6bb48fd",
    },
    (3, 7): {
        "00000.tar": "02a5d0ea4e4490d09c0121fc85769e37",
        "00001.tar": "c72f8eedaf182083a791706acd489b79",
        "00002.tar": "2081c0f346bfb5b9f1155ca81ca902f5",
        "00003.tar": "89d343faa353d31c64823c6896c5bd47",
        "00004.tar": "d7739782a69ad15f55a02676024d0094",
        "00005.tar": "f968a87ee4c33aa62194b2f9b590c127",
        "index.wids.json": "f43922a67f13b28051c69d378c0c4f43",
        "sizes.json": "94a67dad70a6c23cb9999c868e873b6f",
        "stats.json": "48b56c7ca2509d63c7095f106f08c3af",
    },
    (1, 100): {
        "00000.tar": "eade57fcf3d089c50e13e6e803143ef1",
        "index.wids.json": "67c3cdc088df271ac379254b4dbba41a",
        "sizes.json": "c8efeb5b103861afa4edded3ebd65ddc",
        "stats.json": "93ec310e5286bda970fbaa3885e52835",
    },
}
"""md5 of each file the shard stage wrote for (seed, samples per shard) on the synthetic
workspace, computed with the plan that held one Python object per sample (before the columnar
plan); parquet files are left out (their bytes name the pyarrow version)."""


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(":".join(map(str, parts)).encode()).digest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def build_synthetic_workspace(root: Path) -> Workspace:
    """Raw tars and decisions made from hashes (no rendering, no download): every fact type,
    nulls, drops, unicode captions and one unusable sample (a JSON member that is not JSON)."""
    (root / "raw").mkdir(parents=True)
    rows = []
    for shard in RAW_SHARDS:
        with tarfile.open(root / "raw" / f"{shard}.tar", "w", format=tarfile.USTAR_FORMAT) as tar:
            for i in range(SAMPLES_PER_RAW_SHARD):
                key = f"{shard}{i:04d}"
                seed = _digest(shard, i)
                meta = {
                    "url": f"http://example.test/{shard}/{i}.jpg",
                    "width": 10 + i,
                    "height": 20 + i,
                    "original_width": 100 + i,
                    "original_height": 200 + i,
                    "sha256": seed.hex(),
                }
                _add(tar, f"{key}.jpg", seed * (1 + seed[0] % 40))
                _add(tar, f"{key}.txt", f"a caption {i} of {shard} \u00e9t\u00e9".encode())
                _add(tar, f"{key}.json", b"not json" if i == 5 else json.dumps(meta).encode())
                rows.append(
                    {
                        "key": key,
                        "shard": shard,
                        "keep": i % 4 != 3,
                        "reason": "kept" if i % 4 != 3 else "too_small",
                        "reasons": [] if i % 4 != 3 else ["too_small"],
                        "clip_score": None if i % 7 == 0 else seed[1] / 255,
                        "clip_model": None if i % 7 == 0 else ("model-a" if i % 2 else "model-b"),
                        "phash": int.from_bytes(seed[2:10], "big"),
                        "width": None if i % 6 == 0 else 10 + i,
                        "height": None if i % 6 == 0 else 20 + i,
                    }
                )
    table = pa.Table.from_pylist(rows[::-1], schema=DECISIONS_SCHEMA)
    pq.write_table(table, root / "decisions.parquet")
    return Workspace(root)


def file_digests(folder: Path) -> dict[str, str]:
    """md5 of every visible file but the parquet ones, by name."""
    return {
        p.name: hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix != ".parquet"
    }


@pytest.mark.parametrize(("seed", "samples_per_shard"), sorted(GOLDEN))
def test_shards_are_byte_identical_to_the_object_plan(tmp_path, seed, samples_per_shard):
    workspace = build_synthetic_workspace(tmp_path / "w")
    summary = write_shards(workspace, samples_per_shard, seed=seed, out=tmp_path / "out")
    assert summary.rejected == 3
    assert file_digests(tmp_path / "out") == GOLDEN[(seed, samples_per_shard)]


def test_plan_holds_tens_of_bytes_per_sample(tmp_path):
    workspace = build_synthetic_workspace(tmp_path / "w")
    plan = make_plan(workspace.decisions_path, workspace.raw_dir, tmp_path / "out", 4, seed=0)
    held = sum(job.rows.nbytes for job in plan.jobs)
    assert plan.samples == sum(job.rows.num_rows for job in plan.jobs) > 30
    assert held / plan.samples < 120
    keys = [sample.key for job in plan.jobs for sample in job.samples()]
    assert keys == [f"{position:09d}" for position in range(plan.samples)]
