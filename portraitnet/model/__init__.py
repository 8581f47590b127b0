"""The network (network.py) and its inference rewrite (inference_graph.py), which every export runs. Needs torch."""
