"""Hostile shards, read by the shard stage (raw tars), verify-shards and the streaming reader
(final shards): `..` and absolute member names, symlink and device members, members declaring
1 GiB (sparse, so reading one would show in memory), a cut-off tar, JSON that is not JSON.

Each runs as a real subprocess: nothing appears outside the workspace, peak memory stays near
what the imports cost, every bad sample gets a reason (the shard stage's rejected.parquet, a
verify problem line, a reader log line)."""

import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.reliability.hostile_tars import (
    GIB,
    Entry,
    offset_of,
    pax_bomb,
    sample,
    write_pax_bomb,
    write_tar,
)
from tests.reliability.killing import REPO
from wit_pipeline.core.schemas import load_schema

OWN_MEMORY_MIB = 150
"""Peak memory over the imports: reading one 1 GiB member would exceed it several times."""
READER_SCRIPT = """
import logging, sys
from wit_pipeline.reader import shard_pipeline
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
for sample in shard_pipeline(sys.argv[1]):
    print(sample["__key__"], sample["json"]["key"], flush=True)
"""


@dataclass
class Ran:
    """A finished subprocess: exit code, output, and the peak RSS of its largest process."""

    code: int
    out: str
    err: str
    peak_mib: float


def run_python(arguments: list[str], cwd: Path) -> Ran:
    """Run `python ARGUMENTS` in `cwd` (the repo importable), measuring its peak memory."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONPATH": str(REPO)}
    out_path, err_path = cwd / ".out", cwd / ".err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        process = subprocess.Popen(
            [sys.executable, *arguments], cwd=cwd, env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
    ran = Ran(
        os.waitstatus_to_exitcode(status),
        out_path.read_text(),
        err_path.read_text(),
        usage.ru_maxrss / 1024,
    )
    out_path.unlink()
    err_path.unlink()
    return ran


def tree(root: Path) -> set[str]:
    """Every path under `root`, relative."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def place(tmp_path) -> Path:
    """The folder a command runs in: `..` names would land in tmp_path, absolute ones in
    tmp_path/outside; both are watched."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return cwd


def _decisions(path: Path, kept: list[tuple[str, str]]) -> None:
    rows = [
        {"key": key, "shard": shard, "keep": True, "reason": "kept", "reasons": []}
        for shard, key in kept
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=load_schema("decisions").arrow), path)


def hostile_raw_workspace(root: Path, outside: Path) -> dict[str, str]:
    """A workspace whose raw tars hold good and hostile samples, all kept by decisions.parquet;
    returns the hostile raw keys with (part of) the reason each must get."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    absolute = str(outside / "abs")
    expected = {
        "../escape": "a path, not a flat name",
        absolute: "a path, not a flat name",
        "000000004": "not a regular file",
        "000000005": "not a regular file",
        "000000006": "declares 1,073,741,824 bytes, over the limit",
        "000000007": "declares 104,857,600 bytes, over the limit",
        "000000008": ".json member is not JSON",
        "000000009": ".txt member is not UTF-8",
        "000000010": ".json member is not a JSON object",
        "000010002": "cut short",
        "000010003": "no .jpg, .json member; tar cut short",  # .txt is optional
    }
    write_tar(
        raw / "00000.tar",
        [
            *sample("000000000"),
            *sample("000000001"),
            *sample("../escape"),
            *sample(absolute),
            Entry("000000004.jpg", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
            *sample("000000004")[1:],
            Entry("000000005.jpg", type=tarfile.CHRTYPE),
            *sample("000000005")[1:],
            Entry("000000006.jpg", b"\xff\xd8", declared=GIB),
            *sample("000000006")[1:],
            *sample("000000007")[:2],
            Entry("000000007.json", b"{", declared=100 * 2**20),
            *sample("000000008")[:2],
            Entry("000000008.json", b"{not json"),
            sample("000000009")[0],
            Entry("000000009.txt", b"\xff\xfe caption"),
            Entry("000000009.json", b"{}"),
            *sample("000000010")[:2],
            Entry("000000010.json", b"[1, 2]"),
        ],
    )
    second = [*sample("000010000"), *sample("000010001"), *sample("000010002")]
    cut = write_tar(raw / "00001.tar", [*second, *sample("000010003")])
    os.truncate(cut, offset_of(cut, "000010002.jpg") + 10)
    good = [("00000", "000000000"), ("00000", "000000001")]
    good += [("00001", "000010000"), ("00001", "000010001")]
    hostile = [("00001" if k.startswith("00001") else "00000", k) for k in expected]
    _decisions(root / "decisions.parquet", good + hostile)
    return expected


def hostile_final_shards(folder: Path, outside: Path) -> None:
    """A folder of final-format shards: good samples 000000000, 000000008 and 000000009 among
    hostile members, the second tar cut off inside a member."""
    folder.mkdir(parents=True)
    huge = sample("000000005")
    write_tar(
        folder / "00000.tar",
        [
            *sample("000000000"),
            Entry("../000000001.jpg", b"x"),
            Entry(f"{outside}/000000002.jpg", b"x"),
            Entry("000000003.jpg", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
            *sample("000000003")[1:],
            Entry("000000004.jpg", type=tarfile.CHRTYPE),
            *sample("000000004")[1:],
            Entry("000000005.jpg", huge[0].data, declared=GIB),
            *huge[1:],
            *sample("000000006")[:2],
            Entry("000000006.json", b"{not json"),
            *sample("000000007")[:2],
            Entry("000000007.json", b"{", declared=100 * 2**20),
            *sample("000000008"),
        ],
    )
    cut = write_tar(folder / "00001.tar", [*sample("000000009"), *sample("000000010")])
    os.truncate(cut, offset_of(cut, "000000010.jpg") + 10)
    (folder / "sizes.json").write_text(json.dumps({"00000.tar": 8, "00001.tar": 2}))


def test_the_shard_stage_leaves_out_each_hostile_sample_with_its_reason(tmp_path, place, outside):
    root = tmp_path / "w"
    expected = hostile_raw_workspace(root, outside)
    before = tree(tmp_path)
    baseline = run_python(["-c", "import wit_pipeline.cli, wit_pipeline.stages.shard"], place)
    ran = run_python(
        ["-m", "wit_pipeline", "--workdir", str(root), "shard", "--samples-per-shard", "2"], place
    )
    assert ran.code == 0, ran.err
    assert ran.peak_mib - baseline.peak_mib < OWN_MEMORY_MIB
    assert f"{len(expected)} kept samples left out" in ran.out
    assert ran.err.count("left out:") == 5, ran.err
    shards = root / "shards"
    rejected = pq.read_table(shards / "rejected.parquet").to_pylist()
    reasons = {r["raw_key"]: r["reason"] for r in rejected}
    assert set(reasons) == set(expected)
    for key, reason in expected.items():
        assert reason in reasons[key], (key, reasons[key])
    sharded = []
    for tar_path in sorted(shards.glob("*.tar")):
        with tarfile.open(tar_path) as tar:
            for member in tar:
                if member.name.endswith(".json"):
                    sharded.append(json.loads(tar.extractfile(member).read())["raw_key"])
    assert sorted(sharded) == ["000000000", "000000001", "000010000", "000010001"]
    verified = run_python(["-m", "wit_pipeline", "verify-shards", str(shards)], place)
    assert verified.code == 0, verified.err
    outside_workspace = {p for p in tree(tmp_path) - before if not p.startswith("w/")}
    assert outside_workspace == set() and not any(outside.iterdir())


def test_verify_shards_names_each_hostile_member(tmp_path, place, outside):
    folder = tmp_path / "shards"
    hostile_final_shards(folder, outside)
    before = tree(tmp_path)
    baseline = run_python(["-c", "import wit_pipeline.cli, wit_pipeline.stages.shard"], place)
    ran = run_python(["-m", "wit_pipeline", "verify-shards", str(folder)], place)
    assert ran.code == 1
    assert ran.peak_mib - baseline.peak_mib < OWN_MEMORY_MIB
    for line in [
        "00000.tar: member '../000000001.jpg': a path, not a flat name",
        f"00000.tar: member '{outside}/000000002.jpg': a path, not a flat name",
        "00000.tar: member '000000003.jpg': not a regular file (symbolic link)",
        "00000.tar: member '000000004.jpg': not a regular file (character device)",
        "00000.tar: 000000006.json is not JSON",
        "00000.tar: member '000000007.json': declares 104,857,600 bytes, over the limit",
        "00001.tar: member '000000010.jpg': cut short",
        "00001.tar: not a readable tar (tar cut short inside member '000000010.jpg')",
    ]:
        assert line in ran.err, line
    assert tree(tmp_path) == before and not any(outside.iterdir())


def test_the_reader_skips_each_hostile_sample_with_a_log_line(tmp_path, place, outside):
    folder = tmp_path / "shards"
    hostile_final_shards(folder, outside)
    before = tree(tmp_path)
    baseline = run_python(["-c", "import wit_pipeline.reader"], place)
    ran = run_python(["-c", READER_SCRIPT, str(folder)], place)
    assert ran.code == 0, ran.err
    assert ran.peak_mib - baseline.peak_mib < OWN_MEMORY_MIB
    got = sorted(line.split()[0] for line in ran.out.splitlines())
    assert got == ["000000000", "000000008", "000000009"]
    skipped = [line for line in ran.err.splitlines() if line.startswith("skipping")]
    for name in [
        "../000000001",
        f"{outside}/000000002",
        "000000003",
        "000000004",
        "000000005",
        "000000006",
        "000000007",
        "00001.tar",
    ]:
        assert any(name in line for line in skipped), (name, skipped)
    assert len(skipped) == 8
    assert tree(tmp_path) == before and not any(outside.iterdir())


def test_a_1_gib_pax_record_costs_no_memory_anywhere(tmp_path, place):
    """A PAX record declaring 1 GiB (a sparse hole, or a 1 GiB run of zeros in a .tar.gz) is
    refused by the one tar reader: verify-shards, the shard stage and the streaming reader stay
    within OWN_MEMORY_MIB and read the samples before it."""
    before, after = sample("000000000"), sample("000000001")
    shards = tmp_path / "shards"
    shards.mkdir()
    write_pax_bomb(shards / "00000.tar", pax_bomb(before, after))
    (shards / "sizes.json").write_text(json.dumps({"00000.tar": 2}))
    baseline = run_python(["-c", "import wit_pipeline.cli, wit_pipeline.stages.shard"], place)
    verified = run_python(["-m", "wit_pipeline", "verify-shards", str(shards)], place)
    assert verified.code == 1 and verified.peak_mib - baseline.peak_mib < OWN_MEMORY_MIB
    assert "00000.tar: not a readable tar (unusable x record at byte" in verified.err

    gzipped = tmp_path / "gz"
    gzipped.mkdir()
    write_pax_bomb(gzipped / "00000.tar", pax_bomb(before, after), gzipped=True)
    reader_baseline = run_python(["-c", "import wit_pipeline.reader"], place)
    read = run_python(["-c", READER_SCRIPT, str(gzipped)], place)
    assert read.code == 0, read.err
    assert read.peak_mib - reader_baseline.peak_mib < OWN_MEMORY_MIB
    assert read.out.split() == ["000000000", "000000000"]
    assert "unusable x record" in read.err

    root = tmp_path / "w"
    (root / "raw").mkdir(parents=True)
    write_pax_bomb(root / "raw" / "00000.tar", pax_bomb(before, after))
    _decisions(root / "decisions.parquet", [("00000", "000000000"), ("00000", "000000001")])
    sharded = run_python(["-m", "wit_pipeline", "--workdir", str(root), "shard"], place)
    assert sharded.code == 0, sharded.err
    assert sharded.peak_mib - baseline.peak_mib < OWN_MEMORY_MIB
    rejected = pq.read_table(root / "shards" / "rejected.parquet").to_pylist()
    assert [(r["raw_key"], r["reason"].split(";")[0]) for r in rejected] == [
        ("000000001", "no .jpg, .json member")
    ]
