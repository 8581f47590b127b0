"""`portraitnet serve`: the HTTP API, the web page and the live webcam mode (needs the `serve` extra)."""

from __future__ import annotations

import argparse

from ..inference.imageio import DEFAULT_MAX_PIXELS
from .checks import positive_float, positive_int
from .model_options import add_model_arguments, open_segmenter

HELP = "Serve the API and the web page (photo and live webcam) on this machine."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    add_model_arguments(parser)
    parser.add_argument("--max-body-mb", type=positive_float, default=20.0, help="largest request body (MB)")
    parser.add_argument("--max-pixels", type=positive_int, default=DEFAULT_MAX_PIXELS)
    parser.add_argument("--max-queue", type=positive_int, default=8, help="requests admitted at once; more get 503")


def run(args: argparse.Namespace) -> int:
    from ..serving.server import INSTALL_LINE, ServerSettings, create_app
    try:
        import uvicorn
    except ImportError:
        raise ImportError(f"the server needs FastAPI and uvicorn: {INSTALL_LINE}") from None
    settings = ServerSettings(max_body_bytes=int(args.max_body_mb * 1024 * 1024), max_pixels=args.max_pixels,
                              max_queue=args.max_queue)
    segmenter = open_segmenter(args, args.max_pixels)
    app = create_app(segmenter, settings)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: anyone who can reach this address can use it")
    print(f"portraitnet: http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/ "
          f"({segmenter.backend_name} backend)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
