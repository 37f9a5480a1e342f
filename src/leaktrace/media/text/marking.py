"""Registering a text document and writing each recipient's copy with its keyed wording.

The document is an asset of kind ``text`` whose SHA-256 is the file's; the registry keeps the
original and the plan manifest (both content-addressed), and ``Asset.params`` names them (see
docs/text.md, "Records"). A document registered before keeps the plan it was registered with,
so a newer phrase table never changes what an old copy means or what a rerun writes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from leaktrace.errors import RegistryError
from leaktrace.registry.models import Asset

from .choices import encode_code, keyed_choices
from .document import TextDocument
from .files import load_document, render_document
from .plan import (
    PARAMS_VERSION,
    TextPlan,
    load_plan,
    make_plan,
    manifest_bytes,
    plan_edits,
    plan_manifest,
    plan_params,
    require_choice_points,
)

__all__ = ["PreparedText", "load_registered", "prepare_text", "register_text"]

# Naming one recipient needs log2(N / bound) bits; the refusal of a document without choice
# points says how many for at least this many recipients.
_FEWEST_RECIPIENTS_SHOWN = 100


@dataclass
class PreparedText:
    """A registered document and its plan: what every recipient's copy shares."""

    asset: Asset
    plan: TextPlan
    key: bytes

    def __repr__(self) -> str:  # the key must never reach a log
        return f"PreparedText({self.asset.id!r}, {len(self.plan.points)} points)"

    @property
    def asset_id(self) -> str:
        return self.asset.id

    def copy_for(self, recipient_id: str) -> tuple[bytes, list[tuple[str, bytes | None]]]:
        """The recipient's copy in the source's format, and its code (the packed choices)."""
        plan = self.plan
        choices = keyed_choices(self.key, self.asset.id, recipient_id, plan.points)
        encoded = render_document(plan.document, plan_edits(plan, choices))
        return encoded, [(self.asset.id, encode_code(plan.digest, plan.ks, choices))]


def _asset_id(sha256: str) -> str:
    return sha256[:16]


def load_registered(registry, asset: Asset) -> TextPlan:
    """The plan a registered document was marked with, from its original and manifest."""
    params = asset.params
    if params.get("text") != PARAMS_VERSION:
        raise RegistryError(
            f"asset {asset.id} records text parameters {params.get('text')!r}: upgrade leaktrace"
        )
    original = registry.store.get(params.get("original_sha256", asset.sha256))
    manifest = json.loads(registry.store.get(params["plan_sha256"]).decode("utf-8"))
    document = load_document(
        original,
        asset.file_name,
        format=params["format"],
        encoding=None if params.get("bom") else params.get("encoding"),
    )
    try:
        return load_plan(document, manifest)
    except ValueError as exc:
        raise RegistryError(
            f"asset {asset.id}: its plan does not fit its original ({exc})"
        ) from None


def register_text(registry, path: Path, document: TextDocument, plan: TextPlan) -> Asset:
    """Record the document, its original and its plan manifest (idempotent by content)."""
    sha256 = hashlib.sha256(document.source).hexdigest()
    existing = registry.find_asset_by_sha256(sha256)
    if existing is not None:
        return existing
    registry.store.put(document.source)
    manifest = manifest_bytes(plan_manifest(plan))
    registry.store.put(manifest)
    asset = Asset(
        id=_asset_id(sha256),
        sha256=sha256,
        file_name=path.name,
        kind="text",
        width=0,
        height=0,
        phash=0,
        dhash=0,
        params=plan_params(plan, sha256),
    )
    return registry.add_asset(asset)


def prepare_text(registry, path: Path, data: bytes) -> PreparedText:
    """Read the document, find its choice points and register it, once per file.

    Everything that can refuse the file (binary data, an encoding, a malformed ``{{a|``, a
    DOCX that is not one, no choice point) is checked before anything is recorded.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    existing = registry.find_asset_by_sha256(sha256)
    if existing is not None and existing.kind == "text":
        return PreparedText(existing, load_registered(registry, existing), registry.key)
    document = load_document(data, path.name)
    plan = make_plan(document)
    recipients = max(_FEWEST_RECIPIENTS_SHOWN, len(registry.list_recipients()))
    require_choice_points(plan, recipients=recipients)
    asset = register_text(registry, path, document, plan)
    return PreparedText(asset, plan, registry.key)
