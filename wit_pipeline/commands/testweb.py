"""`wit-pipeline testweb serve|build`: the deterministic synthetic web for demos and tests."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from wit_pipeline.commands.common import EXIT_FAILED, EXIT_OK, Parser, add_command
from wit_pipeline.core.options import non_negative_float, port, positive_int


def cmd_testweb_build(args: argparse.Namespace) -> int:
    """Write the synthetic test web as static files plus its ground truth."""
    from wit_pipeline.testweb import SyntheticWeb, WebConfig

    web = SyntheticWeb(WebConfig(seed=args.seed, pages=args.pages, concept_skew=args.concept_skew))
    summary = web.write(Path(args.directory), args.base_url.rstrip("/"))
    if not args.quiet:
        print(web.describe())
        print(f"wrote {summary['urls']:,} URLs on {args.pages} pages to {args.directory}")
    return EXIT_OK


def cmd_testweb_serve(args: argparse.Namespace) -> int:
    """Serve the synthetic test web on 127.0.0.1 until interrupted or --duration ends."""
    from wit_pipeline.testweb import SyntheticWeb, WebConfig, WebServer

    web = SyntheticWeb(WebConfig(seed=args.seed, pages=args.pages, concept_skew=args.concept_skew))
    with WebServer(web, port=args.port) as server:
        print(server.base_url, flush=True)
        if not args.quiet:
            print(web.describe(), flush=True)
        if args.check:
            from wit_pipeline.testweb.selfcheck import check_served

            result = check_served(web, server.origin)
            print(result.summary_line(), flush=True)
            if not result.ok:
                for problem in result.problems:
                    print(problem, file=sys.stderr)
                return EXIT_FAILED
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic())))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `testweb serve` and `testweb build` to the top-level parser."""
    testweb = sub.add_parser(
        "testweb",
        help="the deterministic synthetic web for demos and tests",
        description="The deterministic synthetic web for demos and tests.",
    )
    testweb_sub = testweb.add_subparsers(
        dest="testweb_command", metavar="ACTION", parser_class=Parser
    )
    testweb_sub.required = True
    for action in ("serve", "build"):
        handler = cmd_testweb_serve if action == "serve" else cmd_testweb_build
        help_text = (
            "serve the test web on 127.0.0.1 and print its base URL"
            if action == "serve"
            else "write the static site and ground truth to a folder"
        )
        p = add_command(testweb_sub, action, help_text, handler)
        p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
        p.add_argument(
            "--pages", type=positive_int, default=20, help="number of content pages (default: 20)"
        )
        p.add_argument(
            "--concept-skew",
            type=non_negative_float,
            default=0.0,
            metavar="S",
            help="long-tailed pool: the shape and the colour of rank r drawn in proportion to "
            "1/r**S (default: 0, uniform)",
        )
        if action == "serve":
            p.add_argument("--port", type=port, default=0, help="port (default: a free one)")
            p.add_argument(
                "--duration",
                type=float,
                metavar="SECONDS",
                help="stop after this many seconds (default: until Ctrl-C)",
            )
            p.add_argument(
                "--check",
                action="store_true",
                help="fetch every URL over HTTP and compare with the ground truth",
            )
        else:
            p.add_argument("directory", help="output folder")
            p.add_argument(
                "--base-url",
                default="http://127.0.0.1:8000",
                help="origin written into absolute links (default: %(default)s)",
            )
