"""The registry: who received which marked copy of which original, and an audit log of it all.

One SQL implementation serves a SQLite file (the default, a directory on disk) and PostgreSQL (a
``postgresql://`` URL, for teams and clusters). Open one with :func:`open_registry`, create one
with :func:`init_registry`.
"""

from leaktrace.registry.keys import (
    KEY_BYTES,
    generate_key,
    key_fingerprint,
    parse_key_text,
    read_key_file,
    write_key_file,
)
from leaktrace.registry.models import (
    Asset,
    AuditEntry,
    AuditReport,
    Copy,
    HolderCodes,
    KeyInfo,
    Recipient,
    UnknownAssetError,
    validate_recipient_id,
)
from leaktrace.registry.opening import init_registry, open_registry, read_registry_keys
from leaktrace.registry.schema import SCHEMA_VERSION
from leaktrace.registry.sql import SqlRegistry
from leaktrace.registry.store import OriginalStore

__all__ = [
    "KEY_BYTES",
    "SCHEMA_VERSION",
    "Asset",
    "AuditEntry",
    "AuditReport",
    "Copy",
    "HolderCodes",
    "KeyInfo",
    "OriginalStore",
    "Recipient",
    "SqlRegistry",
    "UnknownAssetError",
    "generate_key",
    "init_registry",
    "key_fingerprint",
    "open_registry",
    "parse_key_text",
    "read_key_file",
    "read_registry_keys",
    "validate_recipient_id",
    "write_key_file",
]
