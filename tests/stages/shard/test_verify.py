"""verify_shards: a clean folder passes; truncated, edited or incomplete shards are caught."""

import io
import json
import shutil
import tarfile
from hashlib import sha256

from wit_pipeline.core.workspace import Workspace
from wit_pipeline.stages.shard import verify_shards
from wit_pipeline.stages.shard.write import tar_info


def shard_copy(sharded_workspace, tmp_path) -> Workspace:
    """A private workspace copy with the written shards."""
    workspace = Workspace(tmp_path / "w")
    shutil.copytree(sharded_workspace.root, workspace.root)
    return workspace


def rewrite_without_last_sample(path) -> str:
    """Rewrite a shard without its last sample; that sample's key."""
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    dropped = members[-1][0].name.split(".")[0]
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for member, data in members:
            if not member.name.startswith(dropped):
                tar.addfile(member, io.BytesIO(data))
    return dropped


def test_clean_folder_passes(sharded_workspace):
    assert verify_shards(sharded_workspace.shards_dir) == []
    assert verify_shards(sharded_workspace.shards_dir, sharded_workspace) == []


def test_truncated_shard_is_caught(sharded_workspace, tmp_path):
    workspace = shard_copy(sharded_workspace, tmp_path)
    path = workspace.shards_dir / "00001.tar"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    problems = verify_shards(workspace.shards_dir, workspace)
    assert any(p.startswith("00001.tar") for p in problems)
    assert any("not in the shards" in p for p in problems)


def test_missing_sample_is_caught_against_sizes_and_decisions(sharded_workspace, tmp_path):
    workspace = shard_copy(sharded_workspace, tmp_path)
    dropped = rewrite_without_last_sample(workspace.shards_dir / "00000.tar")
    problems = verify_shards(workspace.shards_dir, workspace)
    assert any("sizes.json: 00000.tar has 4 samples, not 5" in p for p in problems)
    assert any(f"key {dropped} is in the manifest but not in the shards" in p for p in problems)
    assert any(p.startswith("kept sample") for p in problems)


def test_duplicate_and_dotted_keys_are_caught(sharded_workspace, tmp_path):
    workspace = shard_copy(sharded_workspace, tmp_path)
    shards = workspace.shards_dir
    shutil.copy(shards / "00000.tar", shards / "00099.tar")
    sizes = json.loads((shards / "sizes.json").read_text())
    (shards / "sizes.json").write_text(json.dumps({**sizes, "00099.tar": 5}))
    with tarfile.open(shards / "00098.tar", "w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(tar_info("a.b.jpg", 0), None)
    problems = verify_shards(shards, workspace)
    assert any("appears 2 times" in p for p in problems)
    assert any("in the shards 2 times" in p for p in problems)
    assert any("a.b.jpg: key with a dot" in p for p in problems)
    assert any("does not list 00098.tar" in p for p in problems)


def test_empty_folder_is_a_problem(tmp_path):
    assert verify_shards(tmp_path) == [f"{tmp_path}: no .tar or .parquet shards"]


def test_markers_name_each_tar_and_manifest_part_by_size_and_sha256(sharded_workspace):
    shards = sharded_workspace.shards_dir
    for tar in sorted(shards.glob("*.tar")):
        marker = json.loads((shards / ".done" / f"{tar.stem}.json").read_text())
        part = shards / ".manifest-parts" / f"{tar.stem}.parquet"
        for data, facts in (
            (tar.read_bytes(), marker),
            (part.read_bytes(), marker["manifest_part"]),
        ):
            assert (facts["filesize"], facts["sha256"]) == (len(data), sha256(data).hexdigest())


def test_a_tar_its_marker_does_not_name_is_caught(sharded_workspace, tmp_path):
    workspace = shard_copy(sharded_workspace, tmp_path)
    shards = workspace.shards_dir
    path = shards / "00001.tar"
    data = bytearray(path.read_bytes())
    data[-2048] ^= 0xFF  # inside the last image's bytes: a valid tar of the same size
    path.write_bytes(bytes(data))
    (shards / ".done" / "00002.json").unlink()
    (shards / ".manifest-parts" / "00003.parquet").unlink()
    problems = verify_shards(shards, workspace)
    assert "00001.tar: SHA-256 is not the one its marker names (replaced?)" in problems
    assert "00002.tar: no completion marker .done/00002.json (never committed)" in problems
    assert ".manifest-parts/00003.parquet: missing" in problems
    assert verify_shards(sharded_workspace.shards_dir, sharded_workspace) == []
