"""A copy's opening: what shows anyone, without the key, which code a copy carries.

At marking every copy gets a public commitment (:func:`leaktrace.registry.subkeys.public_commitment`)
to its *opening*: the description of its asset's pattern (layout and cell seeds), the recipient's
code and a keyed nonce. An evidence case reveals the opening of the accused copy only; the
verifier hashes it and compares it with the commitment recorded (and handed over on the
recipient's receipt) at marking.
"""

from __future__ import annotations

from dataclasses import dataclass

from leaktrace.engine.watermark.pattern import AssetKeying, Layout
from leaktrace.registry.audit import canonical_json
from leaktrace.registry.models import Asset
from leaktrace.registry.subkeys import public_commitment

__all__ = ["CopyOpening", "CopyCommitter", "open_copy", "pattern_bytes", "revealed_pattern"]


def revealed_pattern(key: bytes, asset: Asset) -> dict:
    """What fixes the asset's pattern apart from a code (see :meth:`AssetKeying.reveal`); for
    an asset without a grid pattern, only its SHA-256."""
    params = asset.params.get("pattern")
    if params is None:
        return {"asset_sha256": asset.sha256}
    return AssetKeying(key, asset.sha256, Layout.from_params(params)).reveal()


def pattern_bytes(revealed: dict) -> bytes:
    """The bytes a commitment hashes for a revealed pattern (canonical JSON)."""
    return canonical_json(revealed).encode("utf-8")


@dataclass(frozen=True)
class CopyOpening:
    """Everything a copy's public commitment hashes."""

    asset_id: str
    recipient_id: str
    key_id: int
    pattern: dict
    code: bytes
    nonce: bytes

    def commitment(self) -> str:
        return public_commitment(
            asset_id=self.asset_id,
            recipient_id=self.recipient_id,
            key_id=self.key_id,
            pattern=pattern_bytes(self.pattern),
            code=self.code,
            nonce=self.nonce,
        )

    def to_dict(self) -> dict:
        return {
            "asset_id": self.asset_id,
            "recipient_id": self.recipient_id,
            "key_id": self.key_id,
            "pattern": self.pattern,
            "code": self.code.hex(),
            "nonce": self.nonce.hex(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> CopyOpening:
        """Raises ValueError for anything that is not an opening."""
        try:
            opening = cls(
                str(data["asset_id"]),
                str(data["recipient_id"]),
                int(data["key_id"]),
                dict(data["pattern"]),
                bytes.fromhex(data["code"]),
                bytes.fromhex(data["nonce"]),
            )
            opening.commitment()
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a copy's opening ({exc})") from None
        return opening


def open_copy(
    registry, asset: Asset, recipient_id: str, code: bytes, *, key_id: int | None = None
) -> CopyOpening:
    """The opening of a copy of ``asset`` carrying ``code``, under the key that made it."""
    kid = registry.key_id if key_id is None else int(key_id)
    return CopyOpening(
        asset.id,
        recipient_id,
        kid,
        revealed_pattern(registry.key_for(kid), asset),
        code,
        registry.copy_nonce(asset.id, recipient_id, key_id=kid),
    )


class CopyCommitter:
    """Commitments of the copies one marking run makes, each asset's pattern described once."""

    def __init__(self, registry) -> None:
        self._registry = registry
        self.key_id: int = registry.key_id
        self.patterns: dict[str, bytes] = {}

    def commit(self, asset_id: str, recipient_id: str, code: bytes | None) -> str | None:
        if code is None:
            return None
        if asset_id not in self.patterns:
            asset = self._registry.get_asset(asset_id)
            revealed = revealed_pattern(self._registry.key_for(self.key_id), asset)
            self.patterns[asset_id] = pattern_bytes(revealed)
        return self._registry.public_commit(
            asset_id, recipient_id, code, pattern=self.patterns[asset_id], key_id=self.key_id
        )
