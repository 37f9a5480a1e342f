"""``import leaktrace`` must stay light, and the watermark core must not touch I/O libraries."""

import subprocess
import sys

HEAVY = ["cv2", "typer", "rich", "pikepdf", "pypdfium2", "sqlalchemy", "PIL"]


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    output = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    return set(output.stdout.split())


def test_import_leaktrace_is_light():
    loaded = _loaded_after("import leaktrace")
    assert not [name for name in HEAVY if name in loaded]


def test_watermark_core_imports_no_io_library():
    loaded = _loaded_after(
        "import leaktrace.engine.watermark.pattern, leaktrace.engine.watermark.detect, "
        "leaktrace.engine.watermark.embed, leaktrace.engine.watermark.mask"
    )
    assert not [name for name in HEAVY if name in loaded]
