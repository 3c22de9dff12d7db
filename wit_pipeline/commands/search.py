"""`wit-pipeline search "a red star" -k 20`: the browse page's searches from the command line:
a text over images (CLIP) or captions (BM25), an example image, more like a sample, or just
the samples under filters; a table, or JSON lines with `--json`."""

from __future__ import annotations

import argparse
import json
import sys

from wit_pipeline.browse import Filters, Index, SearchResult
from wit_pipeline.browse.encoder import read_image_file
from wit_pipeline.browse.filters import STEPS
from wit_pipeline.browse.index import MODES
from wit_pipeline.browse.vectors import INDEX_KINDS
from wit_pipeline.commands.common import EXIT_OK, add_command
from wit_pipeline.core.errors import printable
from wit_pipeline.core.options import finite_float, non_negative_int, positive_int
from wit_pipeline.core.workspace import Workspace

CAPTION_WIDTH = 60


def add_index_options(parser: argparse.ArgumentParser) -> None:
    """How the index is built: which vector index, which device encodes queries."""
    parser.add_argument(
        "--index",
        choices=INDEX_KINDS,
        default="auto",
        help="image search: exact, a faiss IVF index, or auto (faiss from 200,000 vectors; "
        "default)",
    )
    parser.add_argument(
        "--device", default="cpu", help="where queries are encoded: cpu, cuda, auto (default: cpu)"
    )


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """The filters the page offers, as flags."""
    group = parser.add_argument_group("filters")
    keep = group.add_mutually_exclusive_group()
    keep.add_argument("--kept", dest="keep", action="store_const", const=True, help="kept only")
    keep.add_argument("--dropped", dest="keep", action="store_const", const=False,
                      help="dropped only")  # fmt: skip
    group.add_argument("--reason", help="samples with this reason (any rule or failure)")
    group.add_argument("--lang", help="caption language (ISO code)")
    group.add_argument("--step", choices=STEPS, help="samples that reached this funnel step")
    group.add_argument("--entry", help="metadata entry the caption matched (filter --entries)")
    group.add_argument("--min-side", type=non_negative_int, help="shorter image side at least")
    group.add_argument("--max-side", type=non_negative_int, help="shorter image side at most")
    group.add_argument("--min-score", type=finite_float, help="CLIP score at least")
    group.add_argument("--max-score", type=finite_float, help="CLIP score at most")


def filters_from(args: argparse.Namespace) -> Filters:
    """The Filters the flags ask for."""
    return Filters(
        keep=args.keep,
        reason=args.reason,
        lang=args.lang,
        step=args.step,
        entry=args.entry,
        min_side=args.min_side,
        max_side=args.max_side,
        min_score=args.min_score,
        max_score=args.max_score,
    )


def format_result(result: SearchResult) -> str:
    """One result as a line: rank, score, kept or every reason, key, caption, URL."""
    item = result.item
    score = "" if result.score is None else f"{result.score:.4f}"
    state = "kept" if item["keep"] else ",".join(item["why"] or ["dropped"])
    caption = printable(item["caption"] or "")
    if len(caption) > CAPTION_WIDTH:
        caption = caption[: CAPTION_WIDTH - 1] + "…"
    return (
        f"{result.rank:>4}  {score:>8}  {state:<24}  {item['key']:<12}  "
        f"{caption:<{CAPTION_WIDTH}}  {printable(item['url'] or '')}"
    )


def cmd_search(args: argparse.Namespace) -> int:
    """Run one search over the workspace and print its results."""
    image = (read_image_file(args.image), args.image) if args.image else None
    filters = filters_from(args)
    with Index.open(Workspace.at(args.workdir, remote_ok=False), args.index, args.device) as index:
        results = index.search(
            args.query, image=image, like=args.like, mode=args.mode, filters=filters, k=args.k
        )
    for result in results:
        if args.json:
            print(json.dumps(result.to_json(), ensure_ascii=False, default=str))
        else:
            print(format_result(result))
    if not args.json and not args.quiet:
        print(f"({len(results)} results)", file=sys.stderr)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `search` to the top-level parser."""
    parser = add_command(
        sub,
        "search",
        "search the workspace's samples by text, image or caption, with their decisions",
        cmd_search,
    )
    parser.add_argument("query", nargs="?", help='a text, e.g. "a red star" (none: list)')
    parser.add_argument("-k", type=positive_int, default=20, help="results (default: 20)")
    parser.add_argument("--json", action="store_true", help="one JSON object per result line")
    example = parser.add_mutually_exclusive_group()
    example.add_argument("--image", metavar="FILE", help="search by an example image")
    example.add_argument("--like", metavar="KEY", help="images like this sample's")
    parser.add_argument(
        "--in",
        dest="mode",
        choices=MODES,
        default="auto",
        help="what a text query searches: images (CLIP), captions (BM25), or auto: images when "
        "the filter saved embeddings, captions otherwise (default)",
    )
    add_index_options(parser)
    add_filter_options(parser)
