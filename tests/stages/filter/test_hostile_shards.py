"""Hostile raw shards (made by others) into the score phase: each bad sample gets its own error,
nothing is read whole or written outside the workspace, and the run never crashes."""

import io
import tarfile
import tracemalloc
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from wit_pipeline.core.tar import index_tar
from wit_pipeline.stages.filter import DecideOptions, ScoreOptions, filter_stage
from wit_pipeline.stages.filter.score import ScoreJob, score_shard

NO_CLIP = ScoreOptions(clip=None, workers=2, progress=False)
HUGE = 10 << 30

# role -> (what the hostile tar does with the sample, text its error must contain)
ROLES = {
    "dotdot": "bad_member: jpg member '../",
    "absolute": "a path, not a flat name",
    "symlink": "not a regular file (symbolic link)",
    "hardlink": "not a regular file (hard link)",
    "device": "not a regular file (character device)",
    "pax_dotdot": "bad_member: jpg member '../../",
    "bad_json": "bad_metadata: JSONDecodeError",
    "no_member": "missing_image",
    "garbage": "decode_error: UnidentifiedImageError",
    "huge": f"declares {HUGE:,} bytes, over the limit",
}


def raw_members(tar_path: Path) -> dict[str, dict[str, bytes]]:
    """The members of a clean raw tar by key and extension."""
    members: dict[str, dict[str, bytes]] = {}
    with tarfile.open(tar_path) as archive:
        for info in archive:
            key, _, ext = info.name.partition(".")
            members.setdefault(key, {})[ext] = archive.extractfile(info).read()
    return members


def add_file(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def add_special(archive: tarfile.TarFile, name: str, kind: bytes, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    archive.addfile(info)


def hostile_member(archive: tarfile.TarFile, role: str, key: str, data: bytes) -> None:
    """Write the image member of `key` the way `role` says (or not at all)."""
    if role == "dotdot":
        add_file(archive, f"../{key}.jpg", data)
    elif role == "absolute":
        add_file(archive, f"/tmp/wit-hostile/{key}.jpg", data)
    elif role == "symlink":
        add_special(archive, f"{key}.jpg", tarfile.SYMTYPE, "/etc/passwd")
    elif role == "hardlink":
        add_special(archive, f"{key}.jpg", tarfile.LNKTYPE, "../../etc/passwd")
    elif role == "device":
        add_special(archive, f"{key}.jpg", tarfile.CHRTYPE)
    elif role == "pax_dotdot":
        add_file(archive, "../" * 40 + f"{key}.jpg", data)
    elif role == "garbage":
        add_file(archive, f"{key}.jpg", b"\x89PNG\r\n\x1a\n this is not an image" * 20)
    elif role == "bad_json":
        add_file(archive, f"{key}.jpg", data)


def write_hostile_tar(tar_path: Path) -> dict[str, str]:
    """Rewrite a raw tar with one hostile member per role (PAX format, the huge member last,
    declared but absent); returns the role of each key it spoiled."""
    members = raw_members(tar_path)
    keys = sorted(k for k, m in members.items() if "jpg" in m)
    roles = dict(zip(keys, ROLES, strict=False))
    assert len(roles) == len(ROLES), "the shard needs one image per role"
    huge_key = next(k for k, r in roles.items() if r == "huge")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for key in sorted(members):
            role = roles.get(key)
            if role == "huge":
                continue
            if role is None and "jpg" in members[key]:
                add_file(archive, f"{key}.jpg", members[key]["jpg"])
            elif role is not None:
                hostile_member(archive, role, key, members[key]["jpg"])
            for ext in ("txt", "json"):
                if ext in members[key]:
                    data = (
                        b"{not json"
                        if (role == "bad_json" and ext == "json")
                        else members[key][ext]
                    )
                    add_file(archive, f"{key}.{ext}", data)
        end = archive.offset
    huge = tarfile.TarInfo(f"{huge_key}.jpg")
    huge.size = HUGE
    tar_path.write_bytes(
        buffer.getvalue()[:end] + huge.tobuf(tarfile.GNU_FORMAT) + members[huge_key]["jpg"]
    )
    return roles


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def hostile(workspace_copy) -> tuple:
    """The test web workspace with raw shard 00000 rewritten by `write_hostile_tar`."""
    roles = write_hostile_tar(workspace_copy.raw_dir / "00000.tar")
    return workspace_copy, roles


def test_each_hostile_member_gets_its_own_error(hostile):
    workspace, roles = hostile
    before = files_under(workspace.root.parent)
    filter_stage(workspace, NO_CLIP, DecideOptions())
    scores = {
        r["key"]: r for r in pq.read_table(workspace.scores_dir / "00000.parquet").to_pylist()
    }
    for key, role in roles.items():
        assert ROLES[role] in (scores[key]["error"] or ""), (role, scores[key])
        assert scores[key]["phash"] is None
    raw = pq.read_table(workspace.raw_dir / "00000.parquet").to_pylist()
    clean = [r["key"] for r in raw if r["status"] == "success" and r["key"] not in roles]
    assert clean and all(scores[k]["error"] is None and scores[k]["phash"] for k in clean)
    decisions = pq.read_table(workspace.decisions_path).to_pylist()
    by_key = {d["key"]: d for d in decisions if d["shard"] == "00000"}
    assert len(by_key) == len(raw)
    assert all(not by_key[k]["keep"] for k in roles)
    written = files_under(workspace.root.parent) - before
    allowed = (workspace.scores_dir, workspace.decisions_path)
    assert all(p == allowed[1] or allowed[0] in p.parents for p in written), written
    assert not Path("/tmp/wit-hostile").exists()


def test_huge_declared_member_is_never_read(hostile):
    workspace, roles = hostile
    index = index_tar(workspace.raw_dir / "00000.tar")
    huge_key = next(k for k, r in roles.items() if r == "huge")
    assert "over the limit" in index.problems[huge_key]
    assert "cut short" in index.damage
    job = ScoreJob("00000", str(workspace.raw_dir), str(workspace.scores_dir), None, workers=0)
    tracemalloc.start()
    try:
        score_shard(job)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"scoring a shard with a {HUGE:,}-byte member peaked at {peak:,} B"


def test_truncated_tar_scores_what_is_there(workspace_copy):
    tar = workspace_copy.raw_dir / "00001.tar"
    members = index_tar(tar).members
    images = sorted(k for k, m in members.items() if "jpg" in m)
    cut_key = images[len(images) // 2]
    cut = members[cut_key]["jpg"]
    tar.write_bytes(tar.read_bytes()[: cut.offset + cut.size // 2])
    filter_stage(workspace_copy, NO_CLIP, DecideOptions())
    scores = {
        r["key"]: r for r in pq.read_table(workspace_copy.scores_dir / "00001.parquet").to_pylist()
    }
    assert "cut short" in scores[cut_key]["error"]
    before = [k for k in images if k < cut_key]
    after = [k for k, r in scores.items() if k > cut_key and r["error"] != "not_downloaded"]
    assert before and all(scores[k]["phash"] is not None for k in before)
    assert after and all(scores[k]["error"] == "missing_image" for k in after)


def test_pixel_bomb_is_refused_before_decoding(workspace_copy, monkeypatch):
    from wit_pipeline.stages.filter import sample_facts

    monkeypatch.setattr(sample_facts, "MAX_PIXELS", 1000)
    job = ScoreJob("00000", str(workspace_copy.raw_dir), str(workspace_copy.scores_dir), None)
    score_shard(job)
    rows = pq.read_table(workspace_copy.scores_dir / "00000.parquet").to_pylist()
    decoded = [r for r in rows if r["error"] != "not_downloaded"]
    assert decoded and all("over the limit of 1,000" in r["error"] for r in decoded)


def test_tar_cut_between_members_is_noted(workspace_copy):
    tar = workspace_copy.raw_dir / "00001.tar"
    members = index_tar(tar).members
    images = sorted(k for k, m in members.items() if "jpg" in m)
    boundary = members[images[len(images) // 2]]["jpg"].offset - 512
    tar.write_bytes(tar.read_bytes()[:boundary])
    index = index_tar(tar)
    assert "without its end marker" in index.damage
    assert images[0] in index.members and images[-1] not in index.members
