"""Soak a running `portraitnet serve` with mixed requests and watch its memory.

Starts the server on a loopback port, sends --requests requests from --clients threads (small photos in every format,
large photos near the pixel limit, corrupt bytes, bad parameters, wrong paths and methods), and reports the answers
by kind, latency percentiles, and the server's resident memory at the start, its peak and the end.

    python benchmarks/serve_soak.py [--requests 500] [--clients 8] [--large-side 6000]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
from PIL import Image


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def encoded(array: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def photos(large_side: int) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    small = (rng.random((480, 640, 3)) * 255).astype(np.uint8)
    y, x = np.mgrid[0:large_side, 0:large_side]
    large = np.stack([(x * 255 // large_side), (y * 255 // large_side), ((x + y) % 256)], -1).astype(np.uint8)
    jpeg = encoded(small, "JPEG")
    return {"small": jpeg, "large": encoded(large, "PNG"), "truncated": jpeg[: len(jpeg) // 3],
            "noise": rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()}


def requests(count: int, data: dict[str, bytes]) -> list[tuple[str, str, str, bytes | None]]:
    """(kind, method, path, body) in a fixed shuffled order."""
    kinds = (["small"] * 60 + ["large"] * 6 + ["corrupt"] * 14 + ["bad parameter"] * 10 + ["wrong path"] * 10)
    rng = np.random.default_rng(1)
    formats = ["mask", "cutout", "blur", "replace&background_color=white"]
    plan = []
    for number in range(count):
        kind = kinds[int(rng.integers(len(kinds)))]
        fmt = formats[number % len(formats)]
        if kind in ("small", "large"):
            plan.append((kind, "POST", f"/api/segment?format={fmt}", data[kind]))
        elif kind == "corrupt":
            plan.append((kind, "POST", "/api/segment", data["truncated" if number % 2 else "noise"]))
        elif kind == "bad parameter":
            plan.append((kind, "POST", "/api/segment?format=sepia" if number % 2 else "/api/segment?threshold=2",
                         data["small"]))
        else:
            plan.append((kind, "GET", "/api/segment" if number % 2 else "/nothing/here", None))
    return plan


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--large-side", type=int, default=6000, help="side of the large photos (36 MP at 6000)")
    args = parser.parse_args()
    data = photos(args.large_side)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "portraitnet.cli.main", "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/api/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=120) as warm:  # the model's first run, then the baseline
            warm.post("/api/segment", content=data["small"], headers={"content-type": "image/jpeg"})
        start = rss_mb(server.pid)
        peak = [start]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_mb(server.pid))
                time.sleep(0.02)
        watcher = threading.Thread(target=watch)
        watcher.start()
        answers: Counter = Counter()
        latencies: list[float] = []
        lock = threading.Lock()
        client = httpx.Client(base_url=base, timeout=120, limits=httpx.Limits(max_connections=args.clients))

        def send(item: tuple[str, str, str, bytes | None]) -> None:
            kind, method, path, body = item
            started = time.perf_counter()
            try:
                response = client.request(method, path, content=body,
                                          headers={"content-type": "image/png" if kind == "large" else "image/jpeg"})
                outcome = f"{kind}: {response.status_code}"
                if response.status_code == 503 and "retry-after" not in response.headers:
                    outcome += " without Retry-After"
            except httpx.HTTPError as error:
                outcome = f"{kind}: unanswered ({type(error).__name__})"
            with lock:
                answers[outcome] += 1
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(send, requests(args.requests, data)))
        seconds = time.perf_counter() - began
        client.close()
        time.sleep(1.0)
        done.set()
        watcher.join()
        end = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    print(f"{args.requests} requests from {args.clients} clients in {seconds:.1f} s; {os.cpu_count()} cores ({cpu}); "
          f"large photos {args.large_side}x{args.large_side} PNG ({len(data['large']) / 2 ** 20:.1f} MB)")
    for outcome, count in sorted(answers.items()):
        print(f"  {outcome:<40} {count:4d}")
    p50, p90, p99 = np.percentile(np.array(latencies) * 1000, [50, 90, 99])
    print(f"latency ms: p50 {p50:.0f}, p90 {p90:.0f}, p99 {p99:.0f}")
    print(f"server RSS MB: start {start:.0f}, peak {peak[0]:.0f}, end {end:.0f} (end - start {end - start:+.0f})")
    failures = sum(count for outcome, count in answers.items() if ": 5" in outcome and ": 503" not in outcome
                   or "unanswered" in outcome or "without" in outcome)
    print(f"500s, unanswered or 503s without Retry-After: {failures}")


if __name__ == "__main__":
    main()
