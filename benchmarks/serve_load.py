"""Load on `portraitnet serve`, on loopback only: requests/s, latency percentiles and errors for N concurrent
clients over a bounded time, then the live mode's sustained frames/s at 640x480 with blur.

    python benchmarks/serve_load.py [--clients 1 4 16] [--seconds 10] [--image PHOTO]

It starts its own server on a free 127.0.0.1 port (with the shipped model) and stops it at the end. Every
request must end in 200 or 503 (queue full); anything else, or a request that hangs past its timeout, is counted
as lost.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, max_queue: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "portraitnet.cli.main", "serve", "--port", str(port),
                                "--max-queue", str(max_queue)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1).read()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start: {process.stderr.read().decode()[-2000:]}")


def hammer(url: str, body: bytes, clients: int, seconds: float, timeout: float = 30.0) -> dict[str, float]:
    """`clients` threads each posting back to back until `seconds` pass (requests/s, ms percentiles, statuses)."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        while time.perf_counter() < stop_at:
            request = urllib.request.Request(url, data=body, headers={"content-type": "image/jpeg"})
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    response.read()
                    status = str(response.status)
            except urllib.error.HTTPError as error:
                status = str(error.code)
            except OSError:
                status = "lost"
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == "200":
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ok = statuses.get("200", 0)
    return {"clients": clients, "requests_per_s": ok / wall, "p50_ms": float(np.percentile(latencies, 50)) if ok else 0,
            "p99_ms": float(np.percentile(latencies, 99)) if ok else 0, "statuses": statuses}


def live_fps(port: int, frame: bytes, seconds: float) -> float:
    """Frames/s of the live mode, one frame in flight at a time as the page sends them."""
    from websockets.sync.client import connect
    with connect(f"ws://127.0.0.1:{port}/ws/live", max_size=None) as ws:
        ws.send(json.dumps({"format": "blur"}))
        count = 0
        stop_at = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < stop_at:
            ws.send(frame)
            answer = ws.recv(timeout=30)
            if isinstance(answer, str):
                raise RuntimeError(answer)
            count += 1
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-queue", type=int, default=8)
    parser.add_argument("--image", type=Path, default=ROOT.parent / "shared" / "data" / "eg1800" / "images" / "00001.jpg",
                        help="the photo to post (default: an EG1800 600x800 JPEG)")
    args = parser.parse_args()
    import cv2
    image = args.image if args.image.is_file() else ROOT / "examples" / "astronaut.jpg"
    body = image.read_bytes()
    picture = cv2.imread(str(image))
    frame = cv2.imencode(".jpg", cv2.resize(picture, (640, 480)), [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()

    port = free_port()
    server = start_server(port, args.max_queue)
    try:
        url = f"http://127.0.0.1:{port}/api/segment"
        hammer(url, body, 1, 2.0)  # warm-up
        height, width = picture.shape[:2]
        print(f"POST /api/segment, {width}x{height} JPEG ({len(body) / 1e3:.0f} kB), mask out; queue bound "
              f"{args.max_queue}; {args.seconds:g} s per row")
        print(f"{'clients':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}  statuses")
        for clients in args.clients:
            row = hammer(url, body, clients, args.seconds)
            print(f"{clients:8d} {row['requests_per_s']:7.1f} {row['p50_ms']:7.1f} {row['p99_ms']:7.1f}  "
                  f"{row['statuses']}")
        print(f"live mode, 640x480 JPEG frames, blur: {live_fps(port, frame, args.seconds):.1f} frames/s")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
