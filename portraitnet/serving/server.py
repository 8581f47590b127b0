"""`portraitnet serve`: an HTTP API, a web page, and a live webcam mode over a WebSocket.

- POST /api/segment: an image (multipart field `image`, or the raw bytes with an image/* content type) in,
  a PNG (or JPEG for blur/replace on request) out. GET /api/health. Errors answer JSON {"error": ...}.
- GET /: the page (drop a photo, see the four results; or start the webcam).
- WS /ws/live: send a JSON settings message, then JPEG frames; each answer is the processed JPEG frame.
  Temporal smoothing is kept per connection.

Safety: loopback by default; bodies over `max_body_bytes` get 413; images over the pixel limit or unreadable get
400 naming the problem; a bounded queue answers 503 when full instead of piling up; no path comes from a request.
(No `from __future__ import annotations` here: FastAPI reads the endpoint annotations at run time.)
"""


import asyncio
import ctypes
import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..export.web import browser_graph, live_models
from ..inference import effects, route
from ..inference.imageio import DEFAULT_MAX_PIXELS, ImageError, load_rgb
from ..inference.route import FORMATS
from ..inference.segmenter import Segmenter
from ..inference.video import FrameEffect

INSTALL_LINE = "pip install 'portraitnet[serve]'"


@dataclass
class ServerSettings:
    max_body_bytes: int = 20 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_queue: int = 8  # requests admitted at once (running or waiting); more get 503
    workers: int = 1  # inferences running at once (the model already uses every core)


class Busy(Exception):
    """The work queue is full."""


class WorkQueue:
    """Admits at most `limit` jobs at a time, runs at most `workers` of them at once in threads."""

    def __init__(self, limit: int, workers: int) -> None:
        self.limit = limit
        self.admitted = 0
        self.running = asyncio.Semaphore(workers)

    async def run(self, function, *args):
        if self.admitted >= self.limit:
            raise Busy()
        self.admitted += 1
        try:
            async with self.running:
                return await asyncio.to_thread(function, *args)
        finally:
            self.admitted -= 1


def segment_bytes(segmenter: Segmenter, data: bytes, fmt: str, output: str, look: route.Look,
                  max_pixels: int) -> tuple[bytes, str]:
    """The work of one request, on the package's one inference route. Returns (bytes, media type)."""
    try:
        return _segment_bytes(segmenter, data, fmt, output, look, max_pixels)
    finally:  # the request's arrays are gone by now
        release_freed_memory()


def _segment_bytes(segmenter: Segmenter, data: bytes, fmt: str, output: str, look: route.Look,
                   max_pixels: int) -> tuple[bytes, str]:
    rgb, full_size = route.model_view(data, segmenter.input_size, max_pixels, name="image")
    probability = segmenter.predict_arrays([rgb], [full_size])[0]
    suffix = ".jpg" if output == "jpeg" and fmt in ("blur", "replace") else ".png"
    encoded = route.outputs(data, probability, [fmt], look, max_pixels, "image", {fmt: suffix})[fmt]
    return encoded, "image/jpeg" if suffix == ".jpg" else "image/png"


def release_freed_memory() -> None:
    """Hand freed memory back to the system. glibc keeps the freed buffers of a large image (hundreds of MB for a
    50 MP photo) in the heaps of the threads that served it, so a server that served one large image would hold
    them for good; malloc_trim returns them. Elsewhere than glibc, nothing to do."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.lru_cache(maxsize=1)
def _glibc() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


SEGMENT_OPENAPI = {
    "requestBody": {
        "required": True,
        "description": "The photo: multipart/form-data with a file field `image` (and optionally a file field "
                       "`background` for format=replace), or the raw image bytes with an image/* content type.",
        "content": {
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["image"],
                "properties": {"image": {"type": "string", "format": "binary"},
                               "background": {"type": "string", "format": "binary"}}}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    "responses": {
        "200": {"description": "The result image", "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
        "400": {"description": "Unreadable image, too many pixels, or a bad parameter",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "413": {"description": "Body over the size limit",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "415": {"description": "Not an image or multipart body",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "503": {"description": "Work queue full: retry shortly",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    },
}


def create_app(segmenter: Segmenter | None = None, settings: ServerSettings | None = None):
    """The ASGI app. Needs the `serve` extra (FastAPI)."""
    try:
        from fastapi import FastAPI, Query, Request, WebSocket, WebSocketDisconnect
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import FileResponse, JSONResponse, Response
        from fastapi.staticfiles import StaticFiles
        from pydantic import BaseModel
        from starlette.exceptions import HTTPException as StarletteHTTPException
    except ImportError:
        raise ImportError(f"the server needs FastAPI and uvicorn: {INSTALL_LINE}") from None

    settings = settings or ServerSettings()
    segmenter = segmenter or Segmenter(max_pixels=settings.max_pixels)
    queue = WorkQueue(settings.max_queue, settings.workers)
    app = FastAPI(title="portraitnet", version=__import__("portraitnet").__version__,
                  description="Portrait segmentation: masks, cut-outs, blurred or replaced backgrounds.")
    static = resources.files("portraitnet.serving") / "static"

    class Error(BaseModel):
        error: str

    class Health(BaseModel):
        status: str
        backend: str
        device: str
        input_size: int

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    busy = "busy: the work queue is full, retry shortly"
    retry = {"Retry-After": "1"}  # seconds: about one inference of the largest image here

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, problem: StarletteHTTPException) -> JSONResponse:
        """Starlette's own answers (a page file not found...) in the documented {"error": ...} body."""
        message = f"{request.url.path}: not found" if problem.status_code == 404 else str(problem.detail)
        return error(problem.status_code, message, getattr(problem, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, problem: RequestValidationError) -> JSONResponse:
        """A query value of the wrong type gets the documented {"error": ...} body, not FastAPI's {"detail": ...}."""
        where = "; ".join(f"{'.'.join(str(part) for part in item['loc'][1:])}: {item['msg']}"
                          for item in problem.errors())
        return error(400, f"bad request ({where})")

    @app.get("/api/health", response_model=Health)
    async def health() -> dict[str, Any]:
        return {"status": "ok", "backend": segmenter.backend_name, "device": segmenter.device,
                "input_size": segmenter.input_size}

    @app.post("/api/segment", openapi_extra=SEGMENT_OPENAPI,
              responses={400: {"model": Error}, 413: {"model": Error}, 415: {"model": Error}, 503: {"model": Error}})
    async def segment(
        request: Request,
        format: str = Query("mask", description="mask, cutout, blur or replace"),
        output: str = Query("png", description="png, or jpeg for blur and replace"),
        background_color: str | None = Query(None, description="for replace: #rrggbb, r,g,b or a name"),
        threshold: float | None = Query(None, description="binarise the mask at this probability, 0..1 "
                                                          "exclusive (default: soft)"),
        main_person: bool = Query(False, description="keep only the largest person region"),
    ) -> Response:
        if format not in FORMATS:
            return error(400, f"unknown format {format!r}: choose from {', '.join(FORMATS)}")
        if output not in ("png", "jpeg"):
            return error(400, f"unknown output {output!r}: png or jpeg")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_body_bytes:
            return error(413, f"body of {int(length):,} bytes is over the limit of {settings.max_body_bytes:,}")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > settings.max_body_bytes:
                return error(413, f"body is over the limit of {settings.max_body_bytes:,} bytes")
        content_type = request.headers.get("content-type", "")
        background_image: bytes | None = None
        if content_type.startswith("multipart/form-data"):
            form = await _parse_form(request, bytes(body))
            if isinstance(form, str):
                return error(400, form)
            data = form.get("image")
            if data is None:
                return error(400, "multipart body has no file field 'image'")
            background_image = form.get("background")
        elif content_type.startswith("image/") or content_type == "application/octet-stream":
            data = bytes(body)
        else:
            return error(415, f"content type {content_type or 'none'!r}: send multipart/form-data with a field "
                              "'image', or the raw image with an image/* content type")
        if not data:
            return error(400, "empty image")
        background: Any = None
        if format == "replace":
            try:
                if background_image:
                    background = load_rgb(background_image, settings.max_pixels, name="background")
                elif background_color:
                    background = effects.parse_colour(background_color)
                else:
                    return error(400, "format=replace needs background_color or a 'background' file field")
            except (ImageError, ValueError) as problem:
                return error(400, str(problem))
        try:
            look = route.Look(threshold, background=background, main_person=main_person)
        except ValueError as problem:
            return error(400, str(problem))
        try:
            result, media_type = await queue.run(segment_bytes, segmenter, data, format, output, look,
                                                 settings.max_pixels)
        except Busy:
            return error(503, busy, retry)
        except ImageError as problem:
            return error(400, str(problem))
        return Response(result, media_type=media_type)

    @app.websocket("/ws/live")
    async def live(socket: WebSocket) -> None:
        """First message: JSON settings (LiveSettings); then JPEG frames, each answered with the processed frame
        (JPEG, or PNG for cutout, whose alpha JPEG cannot carry). A wrong message gets an error and a clean close."""
        await socket.accept()
        try:
            first = await socket.receive()
            if first["type"] == "websocket.disconnect":
                return
            try:
                effect = FrameEffect(segmenter, **live_settings(first.get("text")))
            except ValueError as problem:
                await socket.send_text(json.dumps({"error": f"bad settings: {problem}"}))
                await socket.close(code=1003 if first.get("text") is None else 1008)
                return
            suffix = ".png" if effect.effect == "cutout" else ".jpg"
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                frame = message.get("bytes")
                if frame is None:
                    await socket.send_text(json.dumps({"error": "send frames as binary messages (JPEG bytes)"}))
                    continue
                if len(frame) > settings.max_body_bytes:
                    await socket.send_text(json.dumps({"error": f"frame of {len(frame):,} bytes is over the limit "
                                                                f"of {settings.max_body_bytes:,}"}))
                    continue
                try:
                    out = await queue.run(_live_frame, effect, frame, settings.max_pixels, suffix)
                except Busy:
                    await socket.send_text(json.dumps({"error": busy}))
                    continue
                except ImageError as problem:
                    await socket.send_text(json.dumps({"error": str(problem)}))
                    continue
                await socket.send_bytes(out)
        except WebSocketDisconnect:  # the page went away while an answer was sent
            return

    endpoints = {"/api/segment": "POST", "/api/health": "GET"}

    @app.api_route("/api/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                   include_in_schema=False)
    async def api_fallback(request: Request, rest: str) -> JSONResponse:
        """What no endpoint answers under /api/: 405 for a known path with another method, else 404."""
        path = request.url.path
        if path in endpoints:
            return error(405, f"{request.method} is not allowed on {path}: use {endpoints[path]}",
                         {"Allow": endpoints[path]})
        return error(404, f"{path}: no such endpoint (the API is described at /docs)")

    @app.get("/model.onnx", include_in_schema=False)
    async def model() -> Response:
        """The graph the server runs, for the page to run in the browser instead (optimised for it)."""
        if segmenter.onnx_path is None:
            return error(404, f"the server runs {segmenter.weights.name} on torch: no ONNX graph to send")
        graph = await asyncio.to_thread(browser_graph, segmenter.onnx_path)
        return FileResponse(graph, media_type="application/octet-stream")

    live = live_models(segmenter.onnx_path)

    @app.get("/live-{shape}.tflite.gz", include_in_schema=False)
    async def live_model(shape: str) -> Response:
        """The same model as .tflite for the page's webcam frames of one input shape (LiteRT.js runs them), where
        the package has one made from the graph above."""
        path = live.get(f"live-{shape}.tflite.gz")
        if path is None:
            return error(404, f"no live model for {shape} made from this server's model: frames run on model.onnx")
        return FileResponse(path, media_type="application/octet-stream")

    @app.middleware("http")
    async def isolate(request: Request, call_next: Any) -> Response:
        """Cross-origin isolation, which lets ONNX Runtime Web use threads (SharedArrayBuffer) in the page."""
        response = await call_next(request)
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Embedder-Policy"] = "require-corp"
        return response

    # the page and its files (the same folder `portraitnet export --format web` writes), after the API routes
    app.mount("/", StaticFiles(directory=str(static), html=True), name="page")
    return app


def _live_frame(effect: FrameEffect, frame: bytes, max_pixels: int, suffix: str) -> bytes:
    rgb = load_rgb(frame, max_pixels, name="frame")
    return route.encode(effect(rgb), suffix)


MAX_SETTINGS_BYTES = 1024  # far more than any settings message needs; also bounds its nesting


def live_settings(text: str | None) -> dict[str, Any]:
    """FrameEffect's arguments from the live mode's first message, checked against LiveSettings; anything else is
    a ValueError that says what is wrong."""
    from pydantic import ValidationError

    from .messages import LiveSettings
    if text is None:
        raise ValueError("the first message must be JSON text, such as {\"format\": \"blur\"}")
    if len(text) > MAX_SETTINGS_BYTES:
        raise ValueError(f"{len(text):,} characters, over the limit of {MAX_SETTINGS_BYTES:,}")
    try:
        options = LiveSettings.model_validate_json(text)
    except ValidationError as problem:
        raise ValueError("; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}"
                                   for e in problem.errors(include_url=False))) from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    background = effects.parse_colour(options.background) if options.format == "replace" else None
    return {"effect": options.format, "background": background, "smoothing": options.smoothing,
            "smoothing_mode": options.smoothing_mode}


async def _parse_form(request: Any, body: bytes) -> dict[str, bytes] | str:
    """File fields of a multipart body already read (and size-checked); a message when it is malformed."""
    from starlette.requests import Request

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form()
    except Exception as problem:  # starlette raises several types for malformed multipart bodies
        return f"malformed multipart body ({problem})"
    files = {}
    for name in ("image", "background"):
        field = form.get(name)
        if field is not None and hasattr(field, "read"):
            files[name] = await field.read()
        elif isinstance(field, str) and field:
            return f"field {name!r} must be a file, not text"
    return files
