"""Peer of bench/preprocess-speed.js: Python PIL doing the same work as d2 on one core.

For every file of a list: open, convert('L'), resize((32, 32), BILINEAR), numpy float32 / 255.
Prints one JSON line: {"images", "seconds", "imagesPerSecond", "sha256"?}.

  /usr/bin/python3 bench/peers/pil_preprocess.py --files LIST [--memory] [--hash]

--memory reads every file into memory first (not timed) and decodes from the bytes;
otherwise each file is opened from disk inside the timed loop. --hash hashes the float32
outputs in order (sha256), to check that d2 computes the same numbers; it is off for timing.
"""
import argparse
import hashlib
import io
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import PIL  # noqa: E402
from PIL import Image  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", required=True, help="a text file with one image path per line")
    ap.add_argument("--memory", action="store_true")
    ap.add_argument("--hash", action="store_true")
    args = ap.parse_args()

    with open(args.files, encoding="utf-8") as f:
        paths = [line for line in f.read().split("\n") if line]
    sources = paths
    if args.memory:
        sources = []
        for p in paths:
            with open(p, "rb") as f:
                sources.append(f.read())

    digest = hashlib.sha256() if args.hash else None
    bilinear = Image.Resampling.BILINEAR
    checksum = 0.0
    t0 = time.perf_counter()
    for src in sources:
        im = Image.open(io.BytesIO(src) if args.memory else src)
        im = im.convert("L").resize((32, 32), bilinear)
        x = np.asarray(im, dtype=np.float32) / 255
        checksum += float(x[16, 16])
        if digest is not None:
            digest.update(x.tobytes())
    seconds = time.perf_counter() - t0

    out = {"pil": PIL.__version__, "numpy": np.__version__, "images": len(sources), "seconds": seconds, "imagesPerSecond": len(sources) / seconds, "checksum": checksum}
    if digest is not None:
        out["sha256"] = digest.hexdigest()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
