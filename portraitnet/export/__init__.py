"""Exports of a trained model: the ONNX graph and ORT (onnx_graph.py, torch), LiteRT (litert.py, the tflite extra),
int8 quantisation of an ONNX graph (quantize.py, no torch) and the static web page (web.py, no torch)."""
