"""The HTTP API and the live WebSocket, through FastAPI's test client."""

import io
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install 'portraitnet[serve]')")
pytest.importorskip("httpx", reason="httpx is needed by FastAPI's test client")
from fastapi.testclient import TestClient  # noqa: E402

from portraitnet.inference.segmenter import Segmenter  # noqa: E402
from portraitnet.serving.server import ServerSettings, create_app  # noqa: E402

from conftest import REPO  # noqa: E402

SAMPLE = REPO / "examples" / "astronaut.jpg"


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter(backend="torch")


@pytest.fixture(scope="module")
def client(segmenter):
    return TestClient(create_app(segmenter, ServerSettings(max_body_bytes=2_000_000, max_pixels=4_000_000)))


def decode(response) -> Image.Image:
    return Image.open(io.BytesIO(response.content))


def test_health(client):
    answer = client.get("/api/health").json()
    assert answer["status"] == "ok" and answer["input_size"] == 224 and answer["device"] == "cpu"


@pytest.mark.parametrize("fmt,mode,media", [("mask", "L", "image/png"), ("cutout", "RGBA", "image/png"),
                                            ("blur", "RGB", "image/png")])
def test_multipart_upload_gives_each_format(client, fmt, mode, media):
    response = client.post(f"/api/segment?format={fmt}", files={"image": ("a.jpg", SAMPLE.read_bytes(), "image/jpeg")})
    assert response.status_code == 200 and response.headers["content-type"] == media
    image = decode(response)
    assert image.size == (512, 512) and image.mode == mode


def test_raw_body_and_jpeg_replace(client):
    response = client.post("/api/segment?format=replace&background_color=%23ff0000&output=jpeg",
                           content=SAMPLE.read_bytes(), headers={"content-type": "image/jpeg"})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert decode(response).size == (512, 512)


def test_replace_with_an_uploaded_background(client):
    background = io.BytesIO()
    Image.new("RGB", (64, 32), (0, 0, 255)).save(background, format="PNG")
    response = client.post("/api/segment?format=replace", files={
        "image": ("a.jpg", SAMPLE.read_bytes(), "image/jpeg"), "background": ("b.png", background.getvalue(), "image/png")})
    assert response.status_code == 200


@pytest.mark.parametrize("kwargs,status,message", [
    ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "content type 'text/plain'"),
    ({"content": b"not an image at all", "headers": {"content-type": "image/jpeg"}}, 400, "image: not an image"),
    ({"files": {"image": ("x.jpg", b"\xff\xd8garbage", "image/jpeg")}}, 400, "image: "),
    ({"files": {"other": ("x.jpg", b"123", "image/jpeg")}}, 400, "no file field 'image'"),
    ({"content": b"", "headers": {"content-type": "image/png"}}, 400, "empty image"),
])
def test_bad_inputs_answer_4xx_json(client, kwargs, status, message):
    response = client.post("/api/segment", **kwargs)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_bad_parameters(client):
    upload = {"files": {"image": ("a.jpg", SAMPLE.read_bytes(), "image/jpeg")}}
    assert "unknown format" in client.post("/api/segment?format=sepia", **upload).json()["error"]
    assert "needs background_color" in client.post("/api/segment?format=replace", **upload).json()["error"]
    assert "not a colour" in client.post("/api/segment?format=replace&background_color=nope", **upload).json()["error"]
    assert client.post("/api/segment?main_person=true", **upload).status_code == 200
    for bad in ("2", "0", "abc"):  # out of range, or not a number: the documented {"error": ...} body, not 422
        response = client.post(f"/api/segment?threshold={bad}", **upload)
        assert response.status_code == 400 and "threshold" in response.json()["error"], response.text


def test_oversized_body_and_too_many_pixels(client):
    response = client.post("/api/segment", content=b"\0" * 2_100_000, headers={"content-type": "image/png"})
    assert response.status_code == 413 and "over the limit" in response.json()["error"]
    big = io.BytesIO()
    Image.new("L", (2100, 2100)).save(big, format="PNG")  # small file, 4.4 megapixels
    response = client.post("/api/segment", content=big.getvalue(), headers={"content-type": "image/png"})
    assert response.status_code == 400 and "over the limit of 4,000,000" in response.json()["error"]


def test_full_queue_answers_503(segmenter):
    client = TestClient(create_app(segmenter, ServerSettings(max_queue=0)))
    response = client.post("/api/segment", content=SAMPLE.read_bytes(), headers={"content-type": "image/jpeg"})
    assert response.status_code == 503 and "busy" in response.json()["error"]


def test_openapi_schema_describes_the_api(client):
    schema = client.get("/openapi.json").json()
    segment = schema["paths"]["/api/segment"]["post"]
    assert set(segment["requestBody"]["content"]) >= {"multipart/form-data", "image/jpeg", "image/png"}
    assert {p["name"] for p in segment["parameters"]} == {"format", "output", "background_color", "threshold",
                                                         "main_person"}
    assert {"200", "400", "413", "415", "503"} <= set(segment["responses"])
    assert "/api/health" in schema["paths"]


def test_page_its_files_and_the_model_for_the_browser(client, segmenter):
    page = client.get("/")
    assert page.status_code == 200 and "Live webcam" in page.text
    for name in ("app.js", "segment.js", "effects.js", "style.css"):
        assert client.get(f"/{name}").status_code == 200, name
    assert client.get("/model.onnx").json()["error"].endswith("on torch: no ONNX graph to send")
    onnx_segmenter = Segmenter()
    model = TestClient(create_app(onnx_segmenter)).get("/model.onnx")
    assert model.status_code == 200
    # the graph the server runs, optimised ahead for the browser: the same probabilities, nothing left to fold
    import onnx
    import onnxruntime as ort
    served = onnx.load_from_string(model.content)
    assert not {node.op_type for node in served.graph.node} & {"Cast", "BatchNormalization"}
    batch = np.random.default_rng(0).standard_normal((1, 3, 224, 160)).astype(np.float32)
    session = ort.InferenceSession(model.content, providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: batch})[0],
                               onnx_segmenter.run_batch(batch), atol=1e-4)
    # cross-origin isolation: ONNX Runtime Web gets threads in the page
    assert page.headers["cross-origin-opener-policy"] == "same-origin"
    assert page.headers["cross-origin-embedder-policy"] == "require-corp"
    assert client.get("/api/nothing").status_code == 404


def test_the_live_models_are_served_only_beside_the_graph_they_were_made_from(client, tmp_path):
    """The page runs webcam frames on these .tflite files: they must be the model it runs photos on."""
    from portraitnet.export.web import LIVE_SHAPES, live_model_name, live_models
    from portraitnet.inference.segmenter import shipped_model

    shipped = live_models(shipped_model())
    assert sorted(shipped) == sorted(live_model_name(shape) for shape in LIVE_SHAPES), \
        "the shipped live models were not made from the shipped graph: python tools/ship_model.py --live-models-only"
    served = TestClient(create_app(Segmenter())).get("/live-192x224.tflite.gz")
    assert served.status_code == 200 and served.content == shipped["live-192x224.tflite.gz"].read_bytes()
    assert TestClient(create_app(Segmenter())).get("/live-160x224.tflite.gz").status_code == 404  # no such shape
    # the torch backend's server: no graph, no live model
    assert client.get("/live-192x224.tflite.gz").status_code == 404
    other = tmp_path / "other.onnx"
    other.write_bytes(shipped_model().read_bytes() + b"\0")  # any other bytes: another model
    assert live_models(other) == {}



def test_a_real_path_traversal_request_gets_nothing(segmenter):
    """Sent over a socket as written: httpx (and so the test client) would normalise the '..' away first."""
    import socket
    import threading
    import time

    import uvicorn
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(segmenter), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        for path in ("/../server.py", "/%2e%2e/server.py", "/..%2fserver.py", "/../../weights/model.json",
                     "/ort/../../server.py"):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
                answer = b""
                while chunk := connection.recv(65536):
                    answer += chunk
            status = answer.split(b"\r\n", 1)[0]
            assert b" 200 " not in status and b"create_app" not in answer and b"source_run" not in answer, (path, status)
    finally:
        server.should_exit = True
        thread.join(10)


def test_live_websocket_streams_processed_frames(client):
    frame = io.BytesIO()
    Image.open(SAMPLE).resize((320, 240)).save(frame, format="JPEG")
    with client.websocket_connect("/ws/live") as socket:
        socket.send_text(json.dumps({"format": "replace", "background": "#00ff00"}))
        for _ in range(3):
            socket.send_bytes(frame.getvalue())
            image = Image.open(io.BytesIO(socket.receive_bytes()))
            assert image.size == (320, 240) and image.format == "JPEG"
        socket.send_bytes(b"garbage")
        assert "frame" in json.loads(socket.receive_text())["error"]


@pytest.mark.parametrize("settings", [json.dumps({"format": "sepia"}), json.dumps(["blur"]), "not json"])
def test_live_websocket_refuses_bad_settings(client, settings):
    with client.websocket_connect("/ws/live") as socket:
        socket.send_text(settings)
        assert "bad settings" in json.loads(socket.receive_text())["error"]


def test_live_websocket_settings_as_bytes_and_text_frames_get_answers(client):
    with client.websocket_connect("/ws/live") as socket:
        socket.send_bytes(b"{}")
        assert "must be JSON text" in json.loads(socket.receive_text())["error"]
    with client.websocket_connect("/ws/live") as socket:
        socket.send_text(json.dumps({"format": "blur"}))
        socket.send_text("a frame sent as text")
        assert "binary messages" in json.loads(socket.receive_text())["error"]
        frame = io.BytesIO()
        Image.open(SAMPLE).resize((160, 120)).save(frame, format="JPEG")
        socket.send_bytes(frame.getvalue())  # the connection still works
        assert Image.open(io.BytesIO(socket.receive_bytes())).size == (160, 120)


def test_mask_of_a_large_jpeg_has_its_full_size(client):
    large = io.BytesIO()
    Image.open(SAMPLE).resize((900, 1200)).save(large, format="JPEG")
    response = client.post("/api/segment", content=large.getvalue(), headers={"content-type": "image/jpeg"})
    assert response.status_code == 200 and decode(response).size == (900, 1200)
