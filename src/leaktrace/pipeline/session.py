"""One identification's shared state: the registry, the decision's settings, and the holders'
codes read in the background while a medium registers the leak."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from leaktrace.engine.watermark.detect import DEFAULT_BOUND, DEFAULT_DECOYS

__all__ = ["KeyHolders", "Session"]


@dataclass(frozen=True)
class KeyHolders:
    """The holders of one asset whose copies one registry key made, with their cached codes.

    A rotated registry keeps identifying old copies: each key that made copies of an asset
    gives its own reading of the leak (its own cell groups, signs and codes), and every
    (recipient, key) pair is a hypothesis of its own.
    """

    key_id: int
    key: bytes = field(repr=False)
    ids: list[str]
    codes: list[bytes | None] = field(repr=False)


@dataclass
class Session:
    """What every medium's reading of one leak shares.

    Attributes
    ----------
    registry : SqlRegistry
        Assets, originals, holders and their cached codes.
    bound : float
        Largest acceptable family-wise probability that an accusation is a coincidence.
    decoys : int
        Decoy codes drawn per block to measure the null.
    password : str, optional
        Password of an encrypted leaked or registered PDF.
    """

    registry: object
    bound: float = DEFAULT_BOUND
    decoys: int = DEFAULT_DECOYS
    password: str | None = field(default=None, repr=False)
    _pending: dict[str, Future] = field(default_factory=dict, repr=False)
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def prefetch(self, asset_id: str) -> None:
        """Start reading an asset's holders and codes in a background thread.

        Registration is OpenCV work that releases the GIL, and reading 10^5 codes is mostly
        waiting on the database: overlapping them keeps identify's time nearly flat in the
        number of recipients. A read that was never needed is simply dropped.
        """
        if asset_id in self._pending:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leaktrace-codes")
        self._pending[asset_id] = self._pool.submit(self.registry.holder_codes, asset_id)

    def holders_by_key(self, asset_id: str) -> list[KeyHolders]:
        """The asset's holders per key that made their copies: the current key first, then
        older keys by id; empty when nobody received the asset.

        Raises RegistryKeyError when copies were made under a key this process does not hold.
        """
        pending = self._pending.get(asset_id)
        found = pending.result() if pending is not None else self.registry.holder_codes(asset_id)
        per_key: dict[int, tuple[list[str], list[bytes | None]]] = {}
        for rid, key_id, code in zip(found.recipient_ids, found.key_ids, found.codes, strict=True):
            ids, codes = per_key.setdefault(key_id, ([], []))
            ids.append(rid)
            codes.append(code)
        current = self.registry.key_id
        order = sorted(per_key, key=lambda key_id: (key_id != current, key_id))
        return [
            KeyHolders(key_id, self.registry.key_for(key_id), *per_key[key_id]) for key_id in order
        ]
