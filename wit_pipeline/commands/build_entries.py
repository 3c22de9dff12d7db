"""`wit-pipeline build-entries OUTPUT`: an entry list for `filter --entries` from the pool's own
captions (frequent words and bigrams), for users without MetaCLIP's metadata."""

from __future__ import annotations

import argparse

from wit_pipeline.commands.common import EXIT_OK, add_command
from wit_pipeline.core.options import positive_int
from wit_pipeline.core.workspace import Workspace


def cmd_build_entries(args: argparse.Namespace) -> int:
    """Count words and bigrams over the raw captions and write the frequent ones."""
    from wit_pipeline.stages.filter.entries import write_entry_list

    workspace = Workspace.at(args.workdir, remote_ok=False)
    count = write_entry_list(workspace.raw_dir, args.output, args.min_count, args.max_entries)
    if not args.quiet:
        print(f"{args.output}: {count:,} entries")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `build-entries` to the top-level parser."""
    build = add_command(
        sub,
        "build-entries",
        "build an entry list for filter --entries from the raw captions (frequent words and "
        "bigrams)",
        cmd_build_entries,
    )
    build.add_argument(
        "output", help="where to write it: one entry per line, or MetaCLIP's JSON list (.json)"
    )
    build.add_argument(
        "--min-count",
        type=positive_int,
        default=5,
        help="captions a word or bigram must be in (default: 5)",
    )
    build.add_argument(
        "--max-entries",
        type=positive_int,
        default=500_000,
        help="keep the most frequent this many (default: 500000, CLIP's query count)",
    )
