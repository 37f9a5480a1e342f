"""The peer watermarkers behind one pipe: run with .bench-venv's python by benchmarks/comparison.py.

One request per line on stdin, one JSON answer per line on stdout, so that an image's hundreds
of decodes cost one interpreter start. Pixels travel as ``.npy`` files of upright RGB ``uint8``
(H x W x 3); the peers work in OpenCV's BGR, as a user would call them.

    {"op": "embed", "method": "dwtDct", "bits": [0, 1, ...], "src": "a.npy", "dst": "b.npy"}
    {"op": "decode", "jobs": [["dwtDct", "c.npy"], ["blindWatermark", "c.npy"], ...]}
    {"op": "versions"}

An embed answers ``{"ok": true, "seconds": s}`` or ``{"error": "..."}``; a decode answers
``{"bits": [...], "seconds": [...]}`` with one 0/1 list per job, or ``null`` where the peer
refused the image (too small, ...), and the time each decode took.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types

# imwatermark imports torch (and onnxruntime) at import time for its rivaGan method only; the
# methods compared here need neither, so stand-ins keep a multi-gigabyte install out of the venv.
for _name in ("torch", "onnx", "onnxruntime"):
    sys.modules.setdefault(_name, types.ModuleType(_name))

import numpy as np  # noqa: E402

BITS = 32
# blind-watermark's two keys (block shuffling and payload shuffling): the decoder needs both.
BLIND_PASSWORD_IMG = 20261124
BLIND_PASSWORD_WM = 3


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    # What cv2.imwrite would do with the peers' float output: round and saturate.
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def embed(method: str, bits: list[int], rgb: np.ndarray) -> np.ndarray:
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    if method == "blindWatermark":
        from blind_watermark import WaterMark

        marker = WaterMark(password_wm=BLIND_PASSWORD_WM, password_img=BLIND_PASSWORD_IMG)
        marker.read_img(img=bgr)
        marker.read_wm(np.array(bits, dtype=bool), mode="bit")
        marked = marker.embed()
    else:
        from imwatermark import WatermarkEncoder

        encoder = WatermarkEncoder()
        encoder.set_watermark("bits", bits)
        marked = encoder.encode(bgr, method)
    return _to_uint8(marked)[:, :, ::-1]


def decode(method: str, rgb: np.ndarray) -> list[int] | None:
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    try:
        if method == "blindWatermark":
            from blind_watermark import WaterMark

            reader = WaterMark(password_wm=BLIND_PASSWORD_WM, password_img=BLIND_PASSWORD_IMG)
            found = reader.extract(embed_img=bgr, wm_shape=BITS, mode="bit")
        else:
            from imwatermark import WatermarkDecoder

            found = WatermarkDecoder("bits", BITS).decode(bgr, method)
    except Exception:  # the peer's own refusal (image too small, too few blocks): no ID read
        return None
    return [int(bit) for bit in np.asarray(found).ravel()]


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("invisible-watermark", "blind-watermark", "opencv-python-headless", "PyWavelets")
    return {name: version(name) for name in names}


def serve(requests, answers) -> None:
    for line in requests:
        request = json.loads(line)
        if request["op"] == "embed":
            rgb = np.load(request["src"])
            start = time.perf_counter()
            try:
                marked = embed(request["method"], request["bits"], rgb)
                answer: dict = {"ok": True, "seconds": time.perf_counter() - start}
                np.save(request["dst"], marked)
            except Exception as error:  # reported, so one refusal does not end the run
                answer = {"error": f"{type(error).__name__}: {error}"}
        elif request["op"] == "decode":
            cache: dict[str, np.ndarray] = {}
            bits, seconds = [], []
            for method, path in request["jobs"]:
                if path not in cache:
                    cache[path] = np.load(path)
                start = time.perf_counter()
                bits.append(decode(method, cache[path]))
                seconds.append(time.perf_counter() - start)
            answer = {"bits": bits, "seconds": seconds}
        else:
            answer = {"versions": versions()}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    from blind_watermark import bw_notes

    bw_notes.close()
    # The peers print banners and progress to stdout: keep the real one for answers only.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
