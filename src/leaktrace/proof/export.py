"""Packing one attributed identification into an evidence case (needs the registry and key)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from leaktrace import __version__
from leaktrace.engine.watermark.pattern import AssetKeying, Layout
from leaktrace.errors import InputError, RegistryError
from leaktrace.pipeline.openings import open_copy
from leaktrace.proof.case import CASE_FORMAT, CASE_VERSION, write_case

__all__ = ["DEFAULT_TOLERANCE", "export_case"]

# How far the verifier's score may be from the recorded one: z = |relative| * z + absolute.
# Fresh decoys move the null's spread by about 1/sqrt(2 x decoys) (1.6 % for 2048 decoys), and a
# registration found again may differ by a fraction of a pixel.
DEFAULT_TOLERANCE = {"relative": 0.05, "absolute": 0.25}
# Audit rows that say what the case rests on.
_ROWS = ("asset added", "copy recorded", "identify")


def _safe_name(name: str, fallback: str) -> str:
    # A member name never leaves its folder in the zip, whatever the original file was called.
    clean = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in Path(name).name)
    return clean.strip("._") or fallback


def _accused(result: dict, leak_sha256: str) -> tuple[str, str, dict]:
    if result.get("sha256") != leak_sha256:
        raise InputError(
            "the result is not about this leak (its SHA-256 differs): give the leak that was "
            "identified"
        )
    if result.get("verdict") != "attributed" or not result.get("recipient"):
        raise InputError(
            f"the identification attributed nobody (verdict {result.get('verdict')!r:.40}): "
            "there is no accusation to give evidence for"
        )
    asset = result.get("asset") or {}
    evidence = result.get("evidence") or {}
    if "registration" not in evidence:
        raise InputError(
            "evidence cases cover pictures (images, and pictures of PDF pages) for now: this "
            "identification registered no picture"
        )
    rid = result["recipient"]["id"]
    candidate = next((c for c in result.get("candidates", []) if c.get("id") == rid), None)
    if candidate is None or not asset.get("id"):
        raise InputError("the result lists no score for the accused recipient")
    return asset["id"], rid, candidate


def _document(registry, asset) -> dict | None:
    """For a PDF page, the registered document its render (the case's original) was made from:
    rendering that page of that file at the recorded size gives the original again."""
    if asset.kind != "pdf-page":
        return None
    document = registry.get_asset(asset.parent_id)
    return {
        "asset": document.id,
        "file": document.file_name,
        "sha256": document.sha256,
        "page": asset.page + 1,
    }


def _picture_statistic(result: dict, rid: str, candidate: dict) -> dict:
    """The statistic a case lets a third party recompute: the picture's own mark.

    A picture of a PDF page is also read for word shifts, and the layers are decided together
    and alone under one correction (family x statistics). The case reproduces the page layer
    alone, at that correction: it confirms only when the page layer by itself names the
    accused below the bound.
    """
    evidence = result["evidence"]
    lines = evidence.get("layer_scores")
    if not lines:
        return {
            "statistic": "image",
            "score": candidate["score"],
            "null": evidence.get("null") or {},
            "p_value": result["p_value"],
        }
    page = next((line for line in lines if line.get("layer") == "page layer"), None)
    if page is None or page.get("best") != rid or "std_used" not in page:
        raise InputError(
            "the picture's own mark (the page layer) does not name the accused by itself: the "
            "accusation rests on word shifts, which evidence cases do not cover yet"
        )
    if float(page["p_family"]) > float(result["threshold"]):
        raise InputError(
            f"the page layer alone names {rid} only at p = {page['p_family']:.2g}, above the "
            "bound: the accusation rests on word shifts too, which evidence cases do not cover"
        )
    null = {"std_used": page["std_used"], "decoys": (evidence.get("null") or {}).get("decoys")}
    return {
        "statistic": "page layer",
        "score": page["z"],
        "null": null,
        "p_value": page["p_family"],
    }


def _audit_rows(registry, asset_id: str, copy_id: int, leak_sha256: str) -> list[dict]:
    from leaktrace.registry.reconcile import audit_entries

    rows, identify = [], None
    for entry in audit_entries(registry):
        detail = entry.detail
        wanted = (
            (entry.action == "asset added" and detail.get("id") == asset_id)
            or (entry.action == "copy recorded" and detail.get("copy_id") == copy_id)
            or (entry.action == "identify" and detail.get("file_sha256") == leak_sha256)
        )
        if not wanted or entry.action not in _ROWS:
            continue
        row = {
            "seq": entry.seq,
            "at": entry.at.isoformat(),
            "action": entry.action,
            "detail": detail,
            "prev_hash": entry.prev_hash,
            "row_hash": entry.row_hash,
        }
        if entry.action == "identify":
            identify = row  # the latest identification of this leak
        else:
            rows.append(row)
    return rows + ([identify] if identify else [])


def export_case(registry, leak: str | Path, result: dict, out: str | Path) -> dict:
    """Write the evidence case of one attributed identification of ``leak`` to ``out``.

    Parameters
    ----------
    registry : SqlRegistry
        The registry that identified the leak, with the key that marked the accused copy.
    leak : path
        The leaked file.
    result : dict
        Its identification, as ``identify --json`` prints it (attributed).
    out : path
        The case file (a zip), written atomically.

    Returns
    -------
    dict
        The case's ``case.json``.
    """
    leak = Path(leak)
    try:
        leak_bytes = leak.read_bytes()
    except OSError as exc:
        raise InputError(f"{leak}: cannot read ({exc.strerror or exc})") from None
    leak_sha256 = hashlib.sha256(leak_bytes).hexdigest()
    asset_id, rid, candidate = _accused(result, leak_sha256)
    asset = registry.get_asset(asset_id)
    if asset.kind not in ("image", "pdf-page"):
        raise InputError(
            f"evidence cases cover images and pictures of PDF pages for now; asset {asset_id} "
            f"is a {asset.kind}"
        )
    statistic = _picture_statistic(result, rid, candidate)
    copies = [
        c for c in registry.list_copies(asset_id=asset_id, recipient_id=rid) if c.code is not None
    ]
    if not copies:
        raise RegistryError(f"the registry records no copy of {asset_id} for {rid}")
    committed = [c for c in copies if c.commitment is not None]
    if not committed:
        raise RegistryError(
            f"the copy of {asset_id} for {rid} was marked before copies were committed to their "
            "codes: there is no commitment to open"
        )
    # The copy made under the key whose pattern the leak was scored against (a recipient may
    # hold copies of one asset made before and after a key rotation).
    key_id = (result.get("evidence") or {}).get("copy_key_id")
    copy = next((c for c in committed if c.key_id == key_id), committed[0])
    keying = AssetKeying(
        registry.key_for(copy.key_id), asset.sha256, Layout.from_params(asset.params["pattern"])
    )
    code = np.packbits(keying.recipient_code(rid) > 0).tobytes()
    opening = open_copy(registry, asset, rid, code, key_id=copy.key_id)
    if code != copy.code or not hmac.compare_digest(opening.commitment(), copy.commitment):
        raise RegistryError(
            f"the registry's record of the copy of {asset_id} for {rid} does not match the key: "
            "run leaktrace audit; no evidence is exported"
        )
    original = registry.store.get(asset.sha256)
    evidence = result["evidence"]
    null = statistic["null"]
    data = {
        "format": CASE_FORMAT,
        "version": CASE_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool": {"name": "leaktrace", "version": __version__},
        "registry": registry.registry_fingerprint,
        "leak": {
            "file": leak.name,
            "sha256": leak_sha256,
            "member": "leak/" + _safe_name(leak.name, "leak"),
        },
        "original": {
            "asset": asset.id,
            "file": asset.file_name,
            "sha256": asset.sha256,
            "kind": asset.kind,
            "params": asset.params,
            "member": "original/" + _safe_name(asset.file_name, "original"),
            "document": _document(registry, asset),
        },
        "accused": dict(result["recipient"]),
        "copy": {
            "asset": copy.asset_id,
            "recipient": copy.recipient_id,
            "output_name": copy.output_name,
            "output_sha256": copy.output_sha256,
            "marked_at": copy.created_at.isoformat() if copy.created_at else None,
            "key_id": copy.key_id,
            "commitment": copy.commitment,
        },
        "opening": opening.to_dict(),
        "registration": evidence["registration"],
        "result": {
            "verdict": result["verdict"],
            "statistic": statistic["statistic"],
            "score": statistic["score"],
            "null": null,
            "p_value": statistic["p_value"],
            "p_value_single": candidate.get("p_value_single"),
            "runner_up": evidence.get("runner_up"),
        },
        "parameters": {
            "bound": result["threshold"],
            "decoys": int(null.get("decoys") or 0),
            "family": int(evidence.get("hypotheses_tested") or 1),
            "correction": evidence.get("correction"),
            "tolerance": DEFAULT_TOLERANCE,
        },
        "audit": _audit_rows(registry, asset.id, copy.id, leak_sha256),
        "statement": result.get("statement"),
    }
    write_case(out, data, leak_bytes, original)
    return data
