"""`wit-pipeline browse`: a local web page over the workspace (search by text, image or
caption; filter by decision, reason, language, size, score, funnel step; every sample with
its reasons and duplicates), served read-only on 127.0.0.1 until interrupted."""

from __future__ import annotations

import argparse
import logging

from wit_pipeline.browse import Index
from wit_pipeline.browse.server import BrowseServer
from wit_pipeline.commands.common import EXIT_OK, add_command
from wit_pipeline.commands.search import add_index_options
from wit_pipeline.core.options import port
from wit_pipeline.core.workspace import Workspace

log = logging.getLogger(__name__)
DEFAULT_PORT = 8765
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def cmd_browse(args: argparse.Namespace) -> int:
    """Open the workspace, print the page's URL, serve until Ctrl-C."""
    with Index.open(Workspace.at(args.workdir, remote_ok=False), args.index, args.device) as index:
        try:
            server = BrowseServer(index, args.host, args.port)
        except OSError as exc:
            raise OSError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
        if args.host not in LOOPBACK:
            log.warning("browse: listening on %s: anyone who reaches it sees the data", args.host)
        print(f"browsing {index.size:,} samples of {index.workspace.root} at {server.url}",
              flush=True)  # fmt: skip
        with server:
            server.serve_forever()
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add `browse` to the top-level parser."""
    parser = add_command(
        sub,
        "browse",
        "look inside the workspace in a local web page: search, filter, every decision",
        cmd_browse,
    )
    parser.add_argument(
        "--port", type=port, default=DEFAULT_PORT, help=f"(default: {DEFAULT_PORT}; 0: any free)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only)",
    )
    add_index_options(parser)
