"""Evidence reports: one identification as a self-contained HTML page, and an index of many.

A report carries everything inside itself (pictures as ``data:`` URIs, styles inline) and a
Content-Security-Policy that forbids any network request, so it opens the same offline, years
later, on another machine. It never contains the registry key: nothing derived from the key but
the scores is put in it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from leaktrace import __version__
from leaktrace.errors import InputError, LeaktraceError
from leaktrace.pipeline.result import STATEMENT

VERDICT_HEADLINES = {
    "attributed": "Attributed",
    "removed": "Mark deliberately removed from a copy (not an attribution)",
    "inconclusive": "Inconclusive: nobody is accused",
    "unknown": "Unknown: the file matches no registered asset",
    "error": "Not identified: the file could not be read",
}


def environment():
    """The Jinja environment of the report templates (autoescaped, with their filters)."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("leaktrace.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["p"] = _format_p
    environment.filters["fixed"] = lambda value, digits=3: (
        "–" if value is None else f"{value:.{digits}f}"
    )
    environment.filters["when"] = _format_when
    return environment


def _format_when(value: str | None) -> str:
    if not value:
        return "–"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _format_p(value: float | None) -> str:
    if value is None:
        return "–"
    if value <= 1e-300:  # a tail that underflowed a double (or was clamped there): not zero
        return "< 1e-300"
    return f"{value:.2e}" if value < 0.001 else f"{value:.3f}"


def _read_leak(result) -> bytes:
    try:
        data = Path(result.file).read_bytes()
    except OSError as exc:
        raise InputError(
            f"{result.file}: cannot read the leaked file for the report ({exc.strerror or exc})"
        ) from exc
    if hashlib.sha256(data).hexdigest() != result.sha256:
        raise InputError(
            f"{result.file}: the file changed after it was identified: identify it again"
        )
    return data


def _pictures(registry, result, leak_data: bytes) -> dict[str, str]:
    import cv2

    from leaktrace.media import default_media
    from leaktrace.media.image.files import load_display_rgb
    from leaktrace.report import figures

    path = Path(result.file)
    media = default_media()
    # A medium whose asset was matched in time (a video's frame) draws that pair itself.
    for drawer in (getattr(m, "match_pictures", None) for m in media):
        pair = drawer(registry, result, path, leak_data) if drawer is not None else None
        if pair is not None:
            side_by_side, overlay = figures.registration_pictures(*pair)
            return {
                "side_by_side": figures.data_uri(side_by_side),
                "overlay": figures.data_uri(overlay),
            }
    medium = next(m for m in media if m.claims(path, leak_data))
    try:
        leak = medium.picture(path, leak_data)
    except (LeaktraceError, IndexError) as exc:  # an encrypted PDF: the report still stands
        return {"problem": f"the leak cannot be drawn here ({exc})"}
    # A PDF's pages were each aligned onto their own registered render: there is no single
    # alignment to draw (the per-page table says what was found).
    homography = (result.evidence.get("registration") or {}).get("homography")
    if result.asset is None or homography is None:
        return {"leak": figures.data_uri(figures.leak_picture(leak))}
    try:
        original = load_display_rgb(registry.store.get(result.asset.sha256), name=result.asset.id)
    except LeaktraceError:  # the work that decided is no picture (a text read off a photo)
        return {"leak": figures.data_uri(figures.leak_picture(leak))}
    try:
        side_by_side, overlay = figures.registration_pictures(
            leak, original, np.asarray(homography, dtype=np.float64)
        )
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, cv2.error) as exc:
        # A rejected alignment can be degenerate (singular, folded); the report still stands.
        return {
            "leak": figures.data_uri(figures.leak_picture(leak)),
            "problem": f"the attempted alignment cannot be drawn ({exc})",
        }
    return {"side_by_side": figures.data_uri(side_by_side), "overlay": figures.data_uri(overlay)}


def _scores(result, hypotheses: int) -> dict[str, Any] | None:
    from leaktrace.report import figures

    if not result.candidates:
        return None
    threshold = figures.z_threshold(result.threshold, hypotheses)
    accused = {c["id"] for c in result.significant}
    removal = result.evidence.get("removal")
    removal_z = None
    if removal:  # the lower tail is tested too: its line is where both tails' correction puts it
        removal_z = -figures.z_threshold(result.threshold, 2 * hypotheses)
        accused.add(removal["id"])
    running = None
    if result.evidence.get("running_scores"):
        running = figures.data_uri(
            figures.running_plot(result.evidence["running_scores"], threshold_z=threshold)
        )
    plot = figures.score_plot(
        result.candidates,
        threshold_z=threshold,
        accused=accused,
        hypotheses=hypotheses,
        removal_z=removal_z,
    )
    return {
        "plot": figures.data_uri(plot),
        "threshold_z": threshold,
        "accused": accused,
        "running": running,
    }


def render_report(
    registry, result, *, parameters: dict | None = None, leak_data: bytes | None = None
) -> str:
    """The evidence report of one identification, as a self-contained HTML document.

    Written for every verdict: an inconclusive or unknown result gets a report that says so and
    why, with the leak and whatever alignment was attempted.

    Parameters
    ----------
    registry : SqlRegistry
        The registry the identification used (its originals store supplies the original).
    result : leaktrace.pipeline.result.Identification
        The identification; its file must still hold the bytes that were identified.
    parameters : dict, optional
        Settings of the run worth recording (shown as given, after the tool's own).
    leak_data : bytes, optional
        The leak's bytes when its file cannot be read again (standard input); they must have
        the SHA-256 that was identified.

    Raises
    ------
    leaktrace.errors.InputError
        The leaked file is gone or changed since it was identified.
    leaktrace.errors.RegistryError
        The original is missing from the originals store.
    """
    from leaktrace.engine.match.verify import MIN_EDGE_NCC, MIN_NCC

    if leak_data is None:
        leak_data = _read_leak(result)
    elif hashlib.sha256(leak_data).hexdigest() != result.sha256:
        raise InputError("the leak given for the report is not the one identified")
    record = result.to_dict()
    evidence = record["evidence"]
    hypotheses = int(evidence.get("hypotheses_tested") or len(result.candidates) or 1)
    settings: dict[str, Any] = {
        "tool": f"leaktrace {__version__}",
        "bound (largest accepted false-accusation probability)": f"{result.threshold:.0e}",
    }
    null = evidence.get("null")
    if null and "decoys" in null:
        settings["decoy codes measuring the null"] = null["decoys"]
    if evidence.get("code_bits"):
        settings["code length (bits)"] = evidence["code_bits"]
    for name, value in (parameters or {}).items():
        settings.setdefault(name, value)
    context = {
        "r": record,
        "e": evidence,
        "headline": VERDICT_HEADLINES.get(result.verdict, result.verdict),
        "leak_size": len(leak_data),
        "pictures": _pictures(registry, result, leak_data),
        "scores": _scores(result, hypotheses),
        "hypotheses": hypotheses,
        "settings": settings,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "version": __version__,
        "file_name": os.path.basename(result.file),
        "limits": {"ncc": MIN_NCC, "edge_ncc": MIN_EDGE_NCC},
    }
    return environment().get_template("report.html.j2").render(context)


def write_report(
    registry,
    result,
    path: str | os.PathLike[str],
    *,
    parameters: dict | None = None,
    leak_data: bytes | None = None,
) -> Path:
    """Render :func:`render_report` and write it to ``path`` atomically.

    Raises
    ------
    leaktrace.errors.OutputError
        The file cannot be written; an existing file at ``path`` is left as it was.
    """
    from leaktrace.fsutil import write_atomic

    html = render_report(registry, result, parameters=parameters, leak_data=leak_data)
    _make_parent(Path(path))
    write_atomic(path, html.encode("utf-8"))
    return Path(path)


def _make_parent(path: Path) -> None:
    from leaktrace.errors import OutputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{path.parent}: cannot create the report's folder ({exc.strerror or exc})"
        ) from exc


def write_index(path: str | os.PathLike[str], results: Iterable[Any]) -> Path:
    """An ``index.html`` listing a scan's files, each linked to its report.

    Parameters
    ----------
    path : path
        Where to write the index; report links are relative to its folder.
    results : iterable of leaktrace.batch.scan.ScanResult
        The scan's results, in the order to list them.
    """
    from leaktrace.fsutil import write_atomic

    folder = Path(path).parent
    rows = []
    counts = dict.fromkeys(VERDICT_HEADLINES, 0)
    totals: dict[str, list] = {}
    for result in results:
        record = result.record
        counts[result.verdict] = counts.get(result.verdict, 0) + 1
        recipient = record.get("recipient")
        if result.verdict == "attributed" and recipient:
            totals.setdefault(recipient["id"], [recipient["name"], 0])[1] += 1
        report = record.get("report")
        link = None
        if report:
            link = quote(Path(os.path.relpath(report, folder)).as_posix())
        rows.append({"relative": result.relative, "r": record, "link": link, "note": result.note})
    html = (
        environment()
        .get_template("index.html.j2")
        .render(
            rows=rows,
            counts={("failed" if k == "error" else k): v for k, v in counts.items() if v},
            totals=sorted(totals.items(), key=lambda item: (-item[1][1], item[0])),
            statement=STATEMENT,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            version=__version__,
        )
    )
    write_atomic(path, html.encode("utf-8"))
    return Path(path)
