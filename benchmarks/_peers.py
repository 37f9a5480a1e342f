"""The benchmark-only venv (.bench-venv) holding the peer watermarkers leaktrace is compared with.

The peers are never leaktrace dependencies: they live in their own venv, created on first use,
and the benchmarks talk to them through a script run with that venv's python.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_VENV = ROOT / ".bench-venv"
# Pinned so that a comparison can be re-run against the same peers; bump deliberately.
PEER_PACKAGES = {
    "imwatermark": "invisible-watermark==0.2.0",
    "blind_watermark": "blind-watermark==0.4.4",
}
# Installed with --no-deps: invisible-watermark declares torch and onnxruntime for its rivaGan
# method only, and blind-watermark declares the GUI build of OpenCV; both work with these.
PEER_DEPENDENCIES = ["PyWavelets", "opencv-python-headless", "numpy", "Pillow"]


def ensure_bench_venv(modules: tuple[str, ...] = ("imwatermark",)) -> Path:
    """The bench venv's python, with the peers importable as ``modules`` installed on demand."""
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    probe = "import importlib.util as u, sys; sys.exit(not u.find_spec(sys.argv[1]))"
    missing = [
        PEER_PACKAGES[module]
        for module in modules
        if subprocess.run([str(python), "-c", probe, module], capture_output=True).returncode
    ]
    if missing:
        pip = [str(python), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--no-deps", *missing], check=True)
        subprocess.run([*pip, *PEER_DEPENDENCIES], check=True)
    return python
