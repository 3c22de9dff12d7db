"""Read shards with open_clip's own training loader, as `open_clip_train.main` sets it up.

Run in a subprocess whose PYTHONPATH holds the webdataset open_clip pins (see
tests/open_clip_train_env.py):

    python tests/open_clip_epoch.py OUT.json --train-data 'S/{00000..00005}.tar' ...

It parses the open_clip CLI arguments with open_clip's parser, builds the model's image
transforms and tokenizer, calls `open_clip_train.data.get_data`, reads one training epoch and
one validation pass, and writes what it saw to OUT.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import open_clip
import webdataset
from open_clip_train.data import DataInfo, get_data
from open_clip_train.distributed import init_distributed_device
from open_clip_train.params import parse_args


def read_pass(info: DataInfo) -> dict[str, Any]:
    """One pass over a loader: its own epoch sizing, the batch shapes and every token row."""
    info.set_epoch(0)
    images_shapes, texts_shapes, image_dtypes, texts = [], [], set(), []
    for images, tokens in info.dataloader:
        images_shapes.append(list(images.shape))
        texts_shapes.append(list(tokens.shape))
        image_dtypes.add(str(images.dtype))
        texts.extend(row.tolist() for row in tokens)
    return {
        "num_samples": info.dataloader.num_samples,
        "num_batches": info.dataloader.num_batches,
        "image_shapes": images_shapes,
        "text_shapes": texts_shapes,
        "image_dtypes": sorted(image_dtypes),
        "texts": texts,
    }


def main(argv: list[str]) -> None:
    """Parse open_clip's CLI arguments, load the data as its main() does, write the facts."""
    out, cli = Path(argv[0]), argv[1:]
    args = parse_args(cli)
    init_distributed_device(args)
    size = open_clip.get_model_config(args.model)["vision_cfg"]["image_size"]
    transforms = (
        open_clip.image_transform(size, is_train=True),
        open_clip.image_transform(size, is_train=False),
    )
    data = get_data(args, transforms, epoch=0, tokenizer=open_clip.get_tokenizer(args.model))
    facts = {
        "webdataset": webdataset.__version__,
        **{split: read_pass(info) for split, info in data.items()},
    }
    out.write_text(json.dumps(facts))


if __name__ == "__main__":
    main(sys.argv[1:])
