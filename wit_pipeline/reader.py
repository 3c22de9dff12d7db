"""Stream WebDataset shards for training: the reader train_small uses and users can copy.

    from wit_pipeline.reader import shard_pipeline
    data = shard_pipeline("wit-data/shards", epoch_seed=0, shuffle_buffer=1000)
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=4)
    for epoch in range(epochs):
        data.set_epoch(epoch)
        for sample in loader: ...   # dicts: __key__, jpg (PIL image), txt (str), json (dict)

The pipeline is webdataset's, as a list of stages read top to bottom: shard list -> tar
samples -> sample shuffle -> decode. Without `resampled`, the shard list is shuffled with
(`epoch_seed`, epoch), identically in every process, then split by node and by worker, so each
sample appears exactly once per epoch across all of them; fewer shards than workers x nodes is
an error, not a silently idle worker. With `resampled`, every worker draws shards with
replacement (seeded per worker and epoch) for as long as the caller reads, or
`samples_per_epoch` in all. Corrupt samples are logged and skipped, without sleeping.
Shards are opened by webdataset's gopen (local paths, `file://`, `pipe:`, http(s) via curl) or,
for any other URL (s3://, gs://, az://, memory://, ...), through fsspec, whose filesystem
package (s3fs, gcsfs, ...) must be installed.

Read from a folder the shard stage wrote (local or on object storage), only the shards whose
completion marker names their current size are read (`committed_shards`): a shard uploaded by a
writer that stopped before its marker, or replaced since, is left out with a log line.

Shards may come from others, so tars are read with checks of our own (webdataset's reader
holds any member in memory whatever size it declares): a sample with a member that is a link or
device, has an absolute or `..` name, or declares more than `max_member_bytes` is skipped with
a log line naming it; a truncated tar ends its shard with a log line; nothing is ever written.
"""

from __future__ import annotations

import logging
import random
import re
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import webdataset as wds
from torch.utils.data import IterableDataset
from webdataset import autodecode
from webdataset.gopen import gopen
from webdataset.shardlists import expand_urls
from webdataset.utils import pytorch_worker_info

from wit_pipeline.core import storage
from wit_pipeline.core.markers import Markers, size_problem, unit_of
from wit_pipeline.core.tar import MAX_IMAGE_BYTES, TarWalk, member_problem, open_stream

log = logging.getLogger(__name__)

MARKER_READERS = 16
"""Markers and sizes read at once when a reader checks a folder's shards (object-store
requests wait on the network, not the CPU)."""

Sample = dict[str, Any]
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
"""A URL scheme (`http:`, `s3:`, `pipe:`); other sources are local paths, checked to exist."""
GOPEN_SCHEMES = ("pipe", "http", "https")
"""Schemes not opened through fsspec: pipes by webdataset's gopen, http(s) by urllib."""
HTTP_TIMEOUT = 60.0
"""Longest wait for any read of an http(s) shard: a server that stalls ends its shard."""
MAX_MEMBER_BYTES = MAX_IMAGE_BYTES
"""Largest tar member read into memory; a sample with a larger one is skipped."""


def log_and_continue(exn: Exception) -> bool:
    """A webdataset handler: log the corrupt sample or shard and go on (no sleep, unlike
    webdataset's `warn_and_continue`)."""
    log.warning("skipping corrupt data: %s: %s", type(exn).__name__, exn)
    return True


def uses_fsspec(url: str) -> bool:
    """Whether the shard at `url` is opened through fsspec (s3://, gs://, memory://, ...)
    rather than by webdataset's gopen (local paths, `file://`, `pipe:`, http(s))."""
    return storage.is_remote(url) and storage.protocol(url) not in GOPEN_SCHEMES


def open_shard(url: str, http_timeout: float = HTTP_TIMEOUT) -> IO[bytes]:
    """A binary stream of the shard at `url`: http(s) through urllib, each read waiting at
    most `http_timeout` seconds (webdataset's gopen runs curl through a shell with no time
    limit); fsspec for object stores and other fsspec URLs (webdataset 0.2's gopen has no s3://
    or memory://); webdataset's gopen for local paths and `pipe:`."""
    if storage.protocol(url) in ("http", "https"):
        return urllib.request.urlopen(url, timeout=http_timeout)
    if uses_fsspec(url):
        fs, path = storage.url_to_fs(url)
        return fs.open(path, "rb")
    return gopen(url)


def _fsspec_folder(source: str | Path) -> bool:
    """Whether `source` is a folder on an fsspec filesystem (`s3://bucket/shards`)."""
    return isinstance(source, str) and uses_fsspec(source) and storage.is_dir(source)


def shard_urls(source: str | Path | Sequence[str]) -> list[str]:
    """The shard URLs of a folder (its `*.tar`, sorted; a local path or an fsspec URL; only
    its committed shards where it has completion markers, see `committed_shards`), a brace
    pattern or URL, or a list."""
    if isinstance(source, str) and storage.protocol(source) == "file":
        source = storage.local_path(source)
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        urls = committed_shards(source, [str(p) for p in sorted(Path(source).glob("*.tar"))])
    elif _fsspec_folder(source):
        urls = committed_shards(source, storage.glob(source, "*.tar"))
    elif isinstance(source, (str, Path)):
        urls = expand_urls(str(source))
    else:
        urls = [str(u) for u in source]
    if not urls:
        raise ValueError(f"{source}: no shards found")
    missing = [u for u in urls if not _SCHEME.match(u) and not Path(u).is_file()]
    if missing:
        raise ValueError(f"{missing[0]}: no such shard ({len(missing)} of {len(urls)} missing)")
    return urls


def committed_shards(folder: str | Path, urls: list[str]) -> list[str]:
    """The shards of `folder` a reader may trust: where the folder has completion markers (the
    shard stage writes one per shard after its bytes, naming their size and SHA-256), only
    the shards whose marker exists and names the size the shard has now. A shard without one
    (a writer stopped between its upload and its marker) or of another size (replaced or cut
    since) is left out with a log line; `verify-shards` also checks the SHA-256. A folder
    without markers (shards from elsewhere) is read whole. On object storage this reads one
    marker and one size per shard, MARKER_READERS at a time."""
    markers = Markers(folder)
    done = set(markers.done_units())
    if not done:
        return urls

    def problem(url: str) -> str | None:
        unit = unit_of(url)
        facts = markers.info(unit) if unit in done else None
        if facts is None:
            return "no completion marker (never committed)"
        return size_problem(url, facts)

    with ThreadPoolExecutor(max_workers=MARKER_READERS) as pool:
        problems = list(pool.map(problem, urls))
    for url, why in zip(urls, problems, strict=True):
        if why:
            log.warning("%s: left out: %s", url, why)
    trusted = [url for url, why in zip(urls, problems, strict=True) if why is None]
    if urls and not trusted:
        raise ValueError(f"{folder}: none of its {len(urls)} shards is committed (see the log)")
    return trusted


def _split_info() -> tuple[int, int]:
    """(this process's slot, number of slots) over nodes x DataLoader workers."""
    rank, world_size, worker, workers = pytorch_worker_info()
    return rank * workers + worker, world_size * workers


class EpochShards(IterableDataset):
    """The shard URLs of one epoch: shuffled with (seed, epoch) the same way in every process,
    then this process's share (nodes first, then workers); or, resampled, drawn with
    replacement from a per-slot seed."""

    def __init__(self, urls: list[str], seed: int, resampled: bool = False) -> None:
        super().__init__()
        self.urls = urls
        self.seed = seed
        self.resampled = resampled
        self.epoch = 0

    def __iter__(self) -> Iterator[Sample]:
        slot, slots = _split_info()
        return self._drawn(slot) if self.resampled else self._shuffled(slot, slots)

    def _drawn(self, slot: int) -> Iterator[Sample]:
        rng = random.Random(f"{self.seed}:{self.epoch}:{slot}")
        while True:
            yield {"url": rng.choice(self.urls)}

    def _shuffled(self, slot: int, slots: int) -> Iterator[Sample]:
        if len(self.urls) < slots:
            raise ValueError(
                f"{len(self.urls)} shards for {slots} readers (nodes x DataLoader workers): "
                "some would read nothing; write more, smaller shards or use fewer workers"
            )
        urls = list(self.urls)
        random.Random(f"{self.seed}:{self.epoch}").shuffle(urls)
        for url in urls[slot::slots]:
            yield {"url": url}


def _finished(sample: Sample | None, problem: str | None) -> Iterator[Sample]:
    """Yield a grouped sample, or log why it is skipped."""
    if sample is None:
        return
    if problem is None:
        yield sample
    else:
        log.warning("skipping sample %s in %s: %s", sample["__key__"], sample["__url__"], problem)


class DamagedShard(ValueError):
    """A shard whose tar is cut short or damaged; the samples before the damage were read."""


def tar_samples(
    stream: Any, url: str, max_member_bytes: int = MAX_MEMBER_BYTES
) -> Iterator[Sample]:
    """The samples of one tar stream (consecutive members with the same key; gzip, bzip2 and
    xz tars decompressed), checked member by member with the project's one tar reader; only
    members that pass are read, one at a time. A damaged tar ends with DamagedShard."""
    sample: Sample | None = None
    problem: str | None = None
    walk = TarWalk(open_stream(stream))
    for entry in walk:
        key, ext = entry.key_ext
        if not key:
            continue
        if sample is None or key != sample["__key__"]:
            yield from _finished(sample, problem)
            sample, problem = {"__key__": key, "__url__": url}, None
        trouble = member_problem(entry, max_member_bytes, flat=False)
        if trouble is None and (ext in sample or ext.startswith("__")):
            trouble = "a second member with the same name, or a reserved one"
        if trouble is not None:
            problem = problem or f"member {entry.name[:100]!r}: {trouble}"
            continue
        data = walk.read(entry, max_member_bytes)
        if data is None:
            sample = None  # cut short: the shard's damage below names it
            break
        sample[ext] = data
    if walk.damage and not walk.damage.startswith("tar ends at byte"):
        yield from _finished(sample, problem)
        raise DamagedShard(f"{url}: {walk.damage}")
    yield from _finished(sample, problem)


def _checked_tar_samples(
    handler: Callable[[Exception], bool], max_member_bytes: int, http_timeout: float
) -> Callable:
    """A pipeline stage: shard URLs -> samples via `tar_samples`; an unreadable or truncated
    shard goes to `handler` (naming the shard) and the next shard is read."""

    def stage(source: Iterator[Sample]) -> Iterator[Sample]:
        for shard in source:
            url = shard["url"]
            try:
                stream = open_shard(url, http_timeout)
            except Exception as exn:
                exn.args = (*exn.args, url)
                if handler(exn):
                    continue
                break
            try:
                yield from tar_samples(stream, url, max_member_bytes)
            except Exception as exn:
                exn.args = (*exn.args, url)
                if not handler(exn):
                    break
            finally:
                stream.close()

    return stage


def _decoded(spec: str, handler: Callable[[Exception], bool]) -> Callable:
    """A pipeline stage decoding samples with webdataset's decoders (`spec` as `wds.decode`
    takes it); a sample that fails goes to `handler` with its key and shard named."""
    decoder = autodecode.Decoder([autodecode.imagehandler(spec)])

    def stage(source: Iterator[Sample]) -> Iterator[Sample]:
        for sample in source:
            try:
                decoded = decoder(sample)
            except Exception as exn:
                exn.args = (*exn.args, f"sample {sample.get('__key__')} of {sample.get('__url__')}")
                if not handler(exn):
                    break
                continue
            yield decoded

    return stage


def _shuffle_samples(bufsize: int, seed: Callable[[], str]) -> Callable:
    """A pipeline stage keeping a buffer of `bufsize` samples and yielding a random one each
    time; seeded per process and epoch, so a run is repeatable."""

    def stage(source: Iterator[Sample]) -> Iterator[Sample]:
        rng = random.Random(seed())
        buffer: list[Sample] = []
        for sample in source:
            buffer.append(sample)
            if len(buffer) >= bufsize:
                index = rng.randrange(len(buffer))
                buffer[index], buffer[-1] = buffer[-1], buffer[index]
                yield buffer.pop()
        rng.shuffle(buffer)
        yield from buffer

    return stage


def _take_share(total: int) -> Callable:
    """A pipeline stage ending this process's iteration after its share of `total` samples."""

    def stage(source: Iterator[Sample]) -> Iterator[Sample]:
        slot, slots = _split_info()
        share = total // slots + (1 if slot < total % slots else 0)
        for count, sample in enumerate(source):
            if count >= share:
                return
            yield sample

    return stage


class ShardPipeline(wds.DataPipeline):
    """A webdataset DataPipeline whose shard order and sample shuffle follow `set_epoch`."""

    def __init__(self, shards: EpochShards, stages: list[Any]) -> None:
        super().__init__(shards, *stages)
        self.shards = shards

    def set_epoch(self, epoch: int) -> None:
        """Use `epoch`'s shard order (call before each epoch; DataLoader workers copy it)."""
        self.shards.epoch = epoch


def shard_pipeline(
    source: str | Path | Sequence[str],
    *,
    epoch_seed: int = 0,
    resampled: bool = False,
    shuffle_buffer: int = 0,
    samples_per_epoch: int | None = None,
    decode: str | None = "pil",
    handler: Callable[[Exception], bool] = log_and_continue,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    http_timeout: float = HTTP_TIMEOUT,
) -> ShardPipeline:
    """A streaming pipeline over the shards in `source`: a folder (local, or an fsspec URL such
    as s3://bucket/shards), a brace pattern, or URLs (http(s), pipe:, any fsspec URL).

    `decode` is a webdataset decoder spec ("pil", "rgb8", "torchrgb", ...) or None for raw
    bytes. `samples_per_epoch` (needed with `resampled`, optional otherwise) bounds one epoch,
    counted over all nodes and workers together, not per worker. Samples with a member over
    `max_member_bytes` (or a link, device or path-like name) are skipped with a log line; an
    http(s) shard whose server stalls longer than `http_timeout` seconds ends with a log line.
    """
    if resampled and samples_per_epoch is None:
        raise ValueError("resampled streams never end: give samples_per_epoch")
    if shuffle_buffer < 0:
        raise ValueError(f"shuffle_buffer must be >= 0, got {shuffle_buffer}")
    shards = EpochShards(shard_urls(source), epoch_seed, resampled)

    def shuffle_seed() -> str:
        return f"{epoch_seed}:{shards.epoch}:{_split_info()[0]}"

    stages: list[Any] = [_checked_tar_samples(handler, max_member_bytes, http_timeout)]
    if shuffle_buffer > 1:
        stages.append(_shuffle_samples(shuffle_buffer, shuffle_seed))
    if decode is not None:
        stages.append(_decoded(decode, handler))
    if samples_per_epoch is not None:
        stages.append(_take_share(samples_per_epoch))
    return ShardPipeline(shards, stages)
