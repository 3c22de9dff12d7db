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
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import webdataset as wds
from torch.utils.data import IterableDataset
from webdataset.shardlists import expand_urls
from webdataset.utils import pytorch_worker_info

log = logging.getLogger(__name__)

Sample = dict[str, Any]
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
"""A URL scheme (`http:`, `s3:`, `pipe:`); other sources are local paths, checked to exist."""


def log_and_continue(exn: Exception) -> bool:
    """A webdataset handler: log the corrupt sample or shard and go on (no sleep, unlike
    webdataset's `warn_and_continue`)."""
    log.warning("skipping corrupt data: %s: %s", type(exn).__name__, exn)
    return True


def shard_urls(source: str | Path | Sequence[str]) -> list[str]:
    """The shard URLs of a folder (its `*.tar`, sorted), a brace pattern or URL, or a list."""
    if isinstance(source, (str, Path)) and Path(source).is_dir():
        urls = [str(p) for p in sorted(Path(source).glob("*.tar"))]
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
) -> ShardPipeline:
    """A streaming pipeline over the shards in `source` (folder, brace pattern, http(s) URLs).

    `decode` is a webdataset decoder spec ("pil", "rgb8", "torchrgb", ...) or None for raw
    bytes. `samples_per_epoch` (needed with `resampled`, optional otherwise) bounds one epoch,
    counted over all nodes and workers together, not per worker.
    """
    if resampled and samples_per_epoch is None:
        raise ValueError("resampled streams never end: give samples_per_epoch")
    if shuffle_buffer < 0:
        raise ValueError(f"shuffle_buffer must be >= 0, got {shuffle_buffer}")
    shards = EpochShards(shard_urls(source), epoch_seed, resampled)

    def shuffle_seed() -> str:
        return f"{epoch_seed}:{shards.epoch}:{_split_info()[0]}"

    stages: list[Any] = [wds.tarfile_to_samples(handler=handler)]
    if shuffle_buffer > 1:
        stages.append(_shuffle_samples(shuffle_buffer, shuffle_seed))
    if decode is not None:
        stages.append(wds.decode(decode, handler=handler))
    if samples_per_epoch is not None:
        stages.append(_take_share(samples_per_epoch))
    return ShardPipeline(shards, stages)
