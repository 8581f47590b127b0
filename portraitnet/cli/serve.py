"""`portraitnet serve`: the HTTP API, the web page and the live webcam mode (needs the `serve` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..inference.imageio import DEFAULT_MAX_PIXELS
from ..inference.segmenter import BACKENDS

HELP = "Serve the API and the web page (photo and live webcam) on this machine."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--weights", type=Path, help="a .pt or .onnx model (default: the shipped model)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="auto (ONNX Runtime), onnx, openvino (the openvino extra) or torch")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--fit-input", action=argparse.BooleanOptionalAction, default=False,
                        help="run each photo at its own shape in multiples of 32 (a 16:9 frame as 224 x 128) instead "
                             "of letterboxed into the square: faster for wide or tall photos")
    parser.add_argument("--max-body-mb", type=float, default=20.0, help="largest request body (MB)")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS)
    parser.add_argument("--max-queue", type=int, default=8, help="requests admitted at once; more get 503")


def run(args: argparse.Namespace) -> int:
    from ..serving.server import INSTALL_LINE, ServerSettings, create_app
    try:
        import uvicorn
    except ImportError:
        raise ImportError(f"the server needs FastAPI and uvicorn: {INSTALL_LINE}") from None
    from ..inference.segmenter import Segmenter
    settings = ServerSettings(max_body_bytes=int(args.max_body_mb * 1024 * 1024), max_pixels=args.max_pixels,
                              max_queue=args.max_queue)
    segmenter = Segmenter(args.weights, backend=args.backend, threads=args.threads, max_pixels=args.max_pixels,
                          fit_input=args.fit_input)
    app = create_app(segmenter, settings)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: anyone who can reach this address can use it")
    print(f"portraitnet: http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/ "
          f"({segmenter.backend_name} backend)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
