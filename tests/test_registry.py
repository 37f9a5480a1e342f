"""The registry: one suite, run against SQLite and PostgreSQL (see ``registry_location``)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from conftest import read_only_paths
from leaktrace.errors import (
    DuplicateRecipientError,
    InvalidRecipientIdError,
    LeaktraceError,
    RegistryError,
    RegistryKeyError,
    RegistryNotFoundError,
    UnknownRecipientError,
)
from leaktrace.registry import (
    KEY_BYTES,
    Asset,
    Copy,
    OriginalStore,
    Recipient,
    UnknownAssetError,
    generate_key,
    init_registry,
    key_fingerprint,
    open_registry,
    parse_key_text,
    read_key_file,
    validate_recipient_id,
    write_key_file,
)
from leaktrace.registry import schema as registry_schema
from leaktrace.registry import sql as registry_sql

KEY = bytes(range(KEY_BYTES))
OTHER_KEY = bytes(range(100, 100 + KEY_BYTES))


def _sha(i: int | str) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _asset(i: int, **kw) -> Asset:
    fields = dict(
        id=f"asset-{i}",
        sha256=_sha(f"asset-{i}"),
        file_name=f"img{i}.png",
        kind="image",
        width=640,
        height=480,
        phash=i,
        dhash=i + 1,
        params={"strength": 1.5, "v": 1},
    )
    fields.update(kw)
    return Asset(**fields)


def _is_pg(location: str) -> bool:
    return "://" in location


def _init(location: str, tmp_path: Path, **kw) -> registry_sql.SqlRegistry:
    if _is_pg(location):
        kw.setdefault("originals_dir", str(tmp_path / "originals"))
    return init_registry(location, key=KEY, **kw)


def _raw_engine(location: str) -> sa.Engine:
    """A plain engine on the registry's database, bypassing the registry (to tamper with it)."""
    if _is_pg(location):
        return sa.create_engine("postgresql+psycopg://" + location.split("://", 1)[1])
    return sa.create_engine(f"sqlite:///{location}/registry.sqlite")


def _raw_sql(location: str, statement: str) -> None:
    engine = _raw_engine(location)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture
def registry(registry_location, tmp_path):
    reg = _init(registry_location, tmp_path)
    yield reg
    reg.close()


@pytest.fixture
def seeded(registry):
    """A registry with three recipients and two assets."""
    registry.add_recipients(
        [
            Recipient("alice", "Alice", "alice@example.org", "ACME"),
            Recipient("bob", "Bob"),
            Recipient("carol", "Carol"),
        ]
    )
    registry.add_asset(_asset(1))
    registry.add_asset(_asset(2))
    return registry


# -- recipient ids and keys (no database) ---------------------------------------------------


@pytest.mark.parametrize("rid", ["a", "alice", "acme-corp.press_01", "0", "a" * 64])
def test_valid_recipient_ids(rid):
    assert validate_recipient_id(rid) == rid


@pytest.mark.parametrize(
    "rid",
    [
        "../x",
        "..",
        "a..b",
        "a/b",
        "a\\b",
        "",
        "A B",
        "Alice",
        "-a",
        ".a",
        "a b",
        "a\n",
        "a" * 65,
        "é",
        None,
        7,
    ],
)
def test_invalid_recipient_ids(rid):
    with pytest.raises(InvalidRecipientIdError, match="invalid recipient id"):
        validate_recipient_id(rid)


def test_keys_generate_parse_and_fingerprint():
    key = generate_key()
    assert len(key) == KEY_BYTES and key != generate_key()
    assert parse_key_text(f"  {key.hex().upper()[:30]}\n {key.hex()[30:]}\n") == key
    fp = key_fingerprint(KEY)
    assert fp == key_fingerprint(KEY) != key_fingerprint(OTHER_KEY)
    assert len(fp) == 16 and int(fp, 16) >= 0 and fp not in KEY.hex()


@pytest.mark.parametrize("text", ["", "00" * 31, "00" * 33, "zz" * 32, "0x" + "00" * 31])
def test_parse_key_text_rejects_without_echo(text):
    with pytest.raises(RegistryKeyError) as info:
        parse_key_text(text)
    assert not text or text not in str(info.value)


def test_key_file_mode_0600_hex_and_no_overwrite(tmp_path):
    path = tmp_path / "key"
    old_umask = os.umask(0)
    try:
        write_key_file(path, KEY)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == KEY.hex() + "\n"
    assert read_key_file(path) == KEY
    with pytest.raises(RegistryKeyError, match="refusing to overwrite"):
        write_key_file(path, OTHER_KEY)
    assert read_key_file(path) == KEY


def test_read_key_file_missing_or_malformed(tmp_path):
    with pytest.raises(RegistryKeyError, match="no key file"):
        read_key_file(tmp_path / "nope")
    bad = tmp_path / "bad"
    bad.write_text("not a key at all")
    with pytest.raises(RegistryKeyError, match="malformed") as info:
        read_key_file(bad)
    assert "not a key" not in str(info.value)


# -- the originals store ----------------------------------------------------------------------


def test_store_put_get_idempotent(tmp_path):
    store = OriginalStore(tmp_path / "originals")
    data = np.random.default_rng(1).bytes(10_000)
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path(sha) == tmp_path / "originals" / sha[:2] / sha
    mtime = store.path(sha).stat().st_mtime_ns
    assert store.put(data) == sha and store.path(sha).stat().st_mtime_ns == mtime
    assert store.get(sha) == data
    assert [p.name for p in store.path(sha).parent.iterdir()] == [sha]  # no temporary files


def test_store_missing_corrupt_and_bad_digest(tmp_path):
    store = OriginalStore(tmp_path)
    with pytest.raises(RegistryError, match="originals store .* lacks"):
        store.get(_sha("absent"))
    sha = store.put(b"original bytes")
    store.path(sha).write_bytes(b"tampered bytes")
    with pytest.raises(RegistryError, match="corrupt"):
        store.get(sha)
    with pytest.raises(RegistryError, match="SHA-256"):
        store.get("../../etc/passwd")


def test_store_blobs(tmp_path):
    store = OriginalStore(tmp_path)
    name = f"{_sha(1)}.features.npz"
    assert store.get_blob(name) is None
    store.put_blob(name, b"one")
    store.put_blob(name, b"two")
    assert store.get_blob(name) == b"two"
    for bad in ("../x", "a/b", "..", "", ".hidden"):
        with pytest.raises(RegistryError, match="invalid blob name"):
            store.put_blob(bad, b"x")


# -- creating and opening ---------------------------------------------------------------------


def test_init_then_open(registry_location, tmp_path):
    reg = _init(registry_location, tmp_path)
    reg.add_recipient(Recipient("alice", "Alice"))
    reg.close()
    with open_registry(registry_location, key=KEY) as again:
        assert [r.id for r in again.list_recipients()] == ["alice"]
        assert again.get_setting("schema_version") == str(registry_schema.SCHEMA_VERSION)
        assert again.get_setting("key_fingerprint") == key_fingerprint(KEY)
        assert [e.action for e in again.list_audit()] == ["registry created", "recipient added"]
        assert again.verify_audit().ok


def test_init_refuses_an_existing_registry(registry, registry_location, tmp_path):
    with pytest.raises(RegistryError, match="already exists"):
        _init(registry_location, tmp_path)
    assert registry.verify_audit().rows == 1


def test_open_missing_registry(registry_location, tmp_path):
    with pytest.raises(RegistryNotFoundError, match="no registry at .*run leaktrace init"):
        open_registry(registry_location, key=KEY)


def test_wrong_key_is_rejected(registry, registry_location):
    with pytest.raises(RegistryKeyError, match="does not belong to this registry") as info:
        open_registry(registry_location, key=OTHER_KEY)
    assert OTHER_KEY.hex() not in str(info.value) and KEY.hex() not in str(info.value)


def test_missing_key(registry, registry_location):
    with pytest.raises(RegistryKeyError) as info:
        open_registry(registry_location)
    if _is_pg(registry_location):
        assert "LEAKTRACE_KEY" in str(info.value)


@pytest.mark.postgres
def test_postgres_needs_key_and_originals_dir(pg_database, tmp_path):
    registry_location = pg_database
    with pytest.raises(RegistryKeyError, match="LEAKTRACE_KEY"):
        init_registry(registry_location, originals_dir=str(tmp_path))
    with pytest.raises(RegistryError, match="originals"):
        init_registry(registry_location, key=KEY)
    reg = init_registry(registry_location, key=KEY, originals_dir=str(tmp_path / "orig"))
    reg.close()
    with open_registry(registry_location, key=KEY) as again:
        assert again.get_setting("originals_dir") == str(tmp_path / "orig")
        assert again.store.root == tmp_path / "orig"


def test_sqlite_layout_and_key_file(tmp_path):
    location = tmp_path / "reg"
    with init_registry(str(location)) as reg:
        key_path = location / "key"
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        assert key_path.read_text().strip() == reg.key.hex()
        assert (location / "originals").is_dir() and reg.store.root == location / "originals"
    with open_registry(str(location)) as again:  # the key comes from the key file
        assert again.verify_audit().ok
    with sqlite3.connect(location / "registry.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_url_password_never_shown(tmp_path):
    with pytest.raises(RegistryError) as info:
        open_registry(
            "postgresql://someone:hunter2@127.0.0.1:1/db?password=hunter3", key=KEY, timeout=2
        )
    assert "hunter2" not in str(info.value) and "hunter3" not in str(info.value)
    assert "postgresql://someone@127.0.0.1:1/db" in str(info.value)


def test_unsupported_url_scheme():
    with pytest.raises(RegistryError, match="unsupported registry URL"):
        open_registry("mysql://u@h/db", key=KEY)


def test_key_not_in_repr(registry):
    for text in (repr(registry), str(registry)):
        assert KEY.hex() not in text and str(KEY) not in text
        assert registry.location in text
    assert registry.key == KEY


def test_newer_schema_is_refused(registry, registry_location):
    _raw_sql(registry_location, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(RegistryError, match="newer than this leaktrace supports"):
        open_registry(registry_location, key=KEY)


def test_migrations_run_in_order(registry, registry_location, monkeypatch):
    def add_notes_table(conn, ctx):
        sa.Table("notes", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True)).create(conn)

    now = registry_schema.SCHEMA_VERSION
    monkeypatch.setattr(registry_schema, "SCHEMA_VERSION", now + 1)
    monkeypatch.setitem(registry_schema.MIGRATIONS, now + 1, add_notes_table)
    with open_registry(registry_location, key=KEY) as reg:
        assert reg.get_setting("schema_version") == str(now + 1)
        assert reg.list_audit()[-1].detail == {"from": now, "to": now + 1}
        assert reg.verify_audit().ok
    engine = _raw_engine(registry_location)
    assert sa.inspect(engine).has_table("notes")
    engine.dispose()


def test_locked_registry_gives_a_clear_error(registry, registry_location, tmp_path):
    registry.close()
    reg = open_registry(registry_location, key=KEY, timeout=0.2)
    engine = _raw_engine(registry_location)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(
                "LOCK TABLE recipients IN ACCESS EXCLUSIVE MODE"
                if _is_pg(registry_location)
                else "BEGIN IMMEDIATE"
            )
            with pytest.raises(RegistryError, match="locked by another process") as info:
                reg.add_recipient(Recipient("alice", "Alice"))
            assert not isinstance(info.value, sa.exc.SQLAlchemyError)
            conn.rollback()
        reg.add_recipient(Recipient("alice", "Alice"))
    finally:
        engine.dispose()
        reg.close()


def test_read_only_sqlite_registry(tmp_path):
    location = tmp_path / "reg"
    init_registry(str(location), key=KEY).close()
    with read_only_paths(location):
        reg = open_registry(str(location), key=KEY)
        try:
            assert reg.read_only
            assert [r.id for r in reg.list_recipients()] == []
            with pytest.raises(RegistryError, match="read-only"):
                reg.add_recipient(Recipient("alice", "Alice"))
        finally:
            reg.close()


# -- recipients -------------------------------------------------------------------------------


def test_recipients_add_get_list(registry):
    added = registry.add_recipient(Recipient("bob", "Bob", "bob@example.org", "Press"))
    assert added.created_at is not None and added.created_at.utcoffset().total_seconds() == 0
    registry.add_recipient(Recipient("alice", "Alice"))
    assert registry.get_recipient("bob") == added
    assert [r.id for r in registry.list_recipients()] == ["alice", "bob"]
    with pytest.raises(UnknownRecipientError, match="zed"):
        registry.get_recipient("zed")


def test_duplicate_and_invalid_recipients(registry):
    registry.add_recipient(Recipient("alice", "Alice"))
    with pytest.raises(DuplicateRecipientError, match="alice"):
        registry.add_recipient(Recipient("alice", "Alice again"))
    for rid in ("../x", "a/b", "a\\b", "", "A B"):
        with pytest.raises(InvalidRecipientIdError):
            registry.add_recipient(Recipient(rid, "Bad"))
    assert [r.name for r in registry.list_recipients()] == ["Alice"]


def test_batch_is_all_or_nothing(registry):
    registry.add_recipient(Recipient("bob", "Bob"))
    before = registry.verify_audit().rows
    batches = [
        (
            [Recipient("a1", "A"), Recipient("bob", "Bob 2"), Recipient("c1", "C")],
            DuplicateRecipientError,
        ),
        ([Recipient("a1", "A"), Recipient("a1", "A again")], DuplicateRecipientError),
        ([Recipient("a1", "A"), Recipient("../etc", "Evil")], InvalidRecipientIdError),
    ]
    for batch, error in batches:
        with pytest.raises(error):
            registry.add_recipients(batch)
        assert [r.id for r in registry.list_recipients()] == ["bob"]
    assert registry.verify_audit().rows == before
    many = [Recipient(f"r{i:04d}", f"Recipient {i}") for i in range(1200)]
    assert len(registry.add_recipients(many)) == 1200
    assert len(registry.list_recipients()) == 1201
    assert registry.verify_audit().ok


# -- assets -----------------------------------------------------------------------------------


def test_assets_add_get_idempotent(registry):
    first = registry.add_asset(_asset(1, params={"nested": {"a": [1, 2.5]}, "name": "ünï"}))
    assert first.created_at is not None and registry.get_asset("asset-1") == first
    again = registry.add_asset(_asset(1, id="asset-1-again", file_name="copy.png"))
    assert again == first
    assert registry.find_asset_by_sha256(first.sha256) == first
    assert registry.find_asset_by_sha256(_sha("nope")) is None
    assert registry.list_assets() == [first]
    with pytest.raises(RegistryError, match="already used"):
        registry.add_asset(_asset(2, id="asset-1"))
    with pytest.raises(UnknownAssetError, match="asset-9") as info:
        registry.get_asset("asset-9")
    assert isinstance(info.value, LeaktraceError)


def test_pdf_pages_and_kinds(registry):
    doc = registry.add_asset(_asset(1, kind="pdf"))
    pages = [
        registry.add_asset(_asset(10 + p, kind="pdf-page", parent_id=doc.id, page=p))
        for p in range(3)
    ]
    registry.add_asset(_asset(2))
    assert registry.list_assets("pdf-page") == pages
    assert registry.list_assets(parent_id=doc.id) == pages
    assert [a.id for a in registry.list_assets("image")] == ["asset-2"]
    with pytest.raises(UnknownAssetError):
        registry.add_asset(_asset(3, kind="pdf-page", parent_id="missing", page=0))
    with pytest.raises(ValueError, match="kind"):
        registry.add_asset(_asset(4, kind="audio"))


def test_hash_table_keeps_all_64_bits(registry):
    values = [0, 1, 2**63 - 1, 2**63, 0xFFFFFFFFFFFFFFFF, 0x8000000000000001]
    for i, value in enumerate(values):
        registry.add_asset(_asset(i, phash=value, dhash=0xFFFFFFFFFFFFFFFF - value))
    ids, phash, dhash = registry.hash_table()
    assert ids == [f"asset-{i}" for i in range(len(values))]
    assert phash.dtype == np.uint64 and dhash.dtype == np.uint64
    assert phash.tolist() == values
    assert dhash.tolist() == [0xFFFFFFFFFFFFFFFF - v for v in values]
    assert registry.get_asset("asset-4").phash == 0xFFFFFFFFFFFFFFFF
    for bad in (-1, 2**64):
        with pytest.raises(ValueError, match="phash"):
            registry.add_asset(_asset(99, phash=bad))


def test_empty_hash_table(registry):
    ids, phash, dhash = registry.hash_table()
    assert ids == [] and phash.shape == (0,) and phash.dtype == np.uint64


# -- copies -----------------------------------------------------------------------------------


def test_copies_are_idempotent(seeded):
    copy = seeded.record_copy(Copy("asset-1", "alice", _sha("out-a"), "img1-alice.png"))
    assert copy.id is not None and copy.created_at is not None
    rows = seeded.verify_audit().rows
    assert seeded.record_copy(Copy("asset-1", "alice", _sha("out-a"), "renamed.png")) == copy
    assert seeded.verify_audit().rows == rows
    seeded.record_copy(Copy("asset-1", "alice", _sha("out-a2"), "img1-alice-2.png"))
    seeded.record_copy(Copy("asset-1", "bob", _sha("out-b"), "img1-bob.png"))
    seeded.record_copy(Copy("asset-2", "carol", _sha("out-c"), "img2-carol.png"))
    assert len(seeded.copies_of_asset("asset-1")) == 3
    assert [r.id for r in seeded.recipients_of_asset("asset-1")] == ["alice", "bob"]
    assert [c.asset_id for c in seeded.list_copies(recipient_id="carol")] == ["asset-2"]
    assert len(seeded.list_copies(asset_id="asset-1", recipient_id="alice")) == 2
    assert len(seeded.list_copies()) == 4
    assert seeded.list_audit()[-1].action == "copy recorded"


def test_copies_check_references(seeded):
    with pytest.raises(UnknownRecipientError, match="zed"):
        seeded.record_copy(Copy("asset-1", "zed", _sha("x"), "x.png"))
    with pytest.raises(UnknownAssetError, match="asset-9"):
        seeded.record_copy(Copy("asset-9", "alice", _sha("x"), "x.png"))
    with pytest.raises(UnknownAssetError):
        seeded.copies_of_asset("asset-9")
    assert seeded.list_copies() == []


def test_foreign_keys_are_enforced_by_the_database(seeded):
    with pytest.raises(sa.exc.IntegrityError), seeded._engine.begin() as conn:  # noqa: SLF001
        conn.execute(
            registry_sql.copies_t.insert().values(
                asset_id="asset-1",
                recipient_id="zed",
                output_sha256=_sha("x"),
                output_name="x.png",
                created_at=datetime.now(UTC),
            )
        )


# -- audit log --------------------------------------------------------------------------------


def test_audit_chain_verifies(registry):
    a = registry.append_audit("export", {"to": "press", "n": 3, "ok": True, "x": None})
    b = registry.append_audit("export", {"to": "légal"})
    assert b.seq == a.seq + 1 and b.prev_hash == a.row_hash
    assert registry.list_audit(after_seq=a.seq - 1) == [a, b]
    report = registry.verify_audit()
    assert report.ok and report.rows == b.seq and report.first_broken_seq is None
    with pytest.raises(ValueError, match="JSON"):
        registry.append_audit("bad", {"x": object()})
    c = registry.append_audit(
        "numpy", {"n": np.int64(3), "z": np.float64(2.5), "v": np.arange(2), "nan": float("nan")}
    )
    assert c.detail["n"] == 3 and c.detail["v"] == [0, 1]
    assert registry.verify_audit().ok


def test_audit_detects_an_updated_row(seeded, registry_location):
    seq = next(e.seq for e in seeded.list_audit() if e.detail.get("id") == "bob")
    _raw_sql(
        registry_location,
        f"""UPDATE audit SET detail = '{{"id":"mallory","name":"Bob"}}' WHERE seq = {seq}""",
    )
    report = seeded.verify_audit()
    assert not report.ok and report.first_broken_seq == seq
    assert report.rows == len(seeded.list_audit()) and "changed" in report.reason


def test_audit_detects_a_deleted_row(seeded, registry_location):
    _raw_sql(registry_location, "DELETE FROM audit WHERE seq = 2")
    report = seeded.verify_audit()
    assert not report.ok and report.first_broken_seq == 3


def test_settings(registry, registry_location):
    assert registry.get_setting("colour") is None
    registry.set_setting("colour", "blue")
    registry.set_setting("colour", "green")
    assert registry.get_setting("colour") == "green"
    with pytest.raises(RegistryError, match="reserved"):
        registry.set_setting("key_fingerprint", "0" * 16)
    assert registry.list_audit()[-1].detail == {"name": "colour", "value": "green"}


# -- two processes at once --------------------------------------------------------------------

N_EACH = 50
SHARED = range(1000, 1005)


def _record_many(location: str, key_hex: str, worker: int, barrier) -> None:
    reg = open_registry(location, key=bytes.fromhex(key_hex))
    barrier.wait(timeout=60)
    for i in range(N_EACH):
        rid = f"r{worker}-{i:02d}"
        reg.record_copy(Copy("asset-1", rid, _sha(rid), f"{rid}.png"))
        if i in (10, 30):
            for j in SHARED:  # both processes record these: each must appear once
                reg.record_copy(Copy("asset-1", "shared", _sha(j), f"shared-{j}.png"))
    reg.close()


def test_two_processes_record_at_once(registry, registry_location):
    registry.add_recipient(Recipient("shared", "Shared"))
    registry.add_recipients(
        [Recipient(f"r{w}-{i:02d}", f"R {w} {i}") for w in range(2) for i in range(N_EACH)]
    )
    registry.add_asset(_asset(1))
    base_rows = registry.verify_audit().rows
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_record_many, args=(registry_location, KEY.hex(), w, barrier))
        for w in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    copies = registry.list_copies()
    expected = 2 * N_EACH + len(SHARED)
    assert len(copies) == expected
    assert len({(c.recipient_id, c.output_sha256) for c in copies}) == expected
    assert len({c.id for c in copies}) == expected
    report = registry.verify_audit()
    assert report.ok, report.reason
    assert report.rows == base_rows + expected
    seqs = [e.seq for e in registry.list_audit()]
    assert seqs == list(range(1, len(seqs) + 1))


# -- batches, cached codes and schema version 2 -----------------------------------------------


def _code(i: int) -> bytes:
    return np.random.default_rng(i).integers(0, 256, 128, dtype=np.uint8).tobytes()


def test_record_copies_in_one_batch(seeded):
    first = seeded.record_copy(Copy("asset-1", "alice", _sha("a"), "a.png", code=_code(1)))
    rows = seeded.verify_audit().rows
    batch = [
        Copy("asset-1", "bob", _sha("b"), "b.png", code=_code(2)),
        Copy("asset-1", "alice", _sha("a"), "renamed.png"),  # already recorded
        Copy("asset-2", "carol", _sha("c"), "c.png"),
        Copy("asset-1", "bob", _sha("b"), "b-again.png"),  # repeated in the batch
    ]
    recorded = seeded.record_copies(batch)
    assert recorded[1] == first and recorded[3] == recorded[0]
    assert recorded[0].code == _code(2) and recorded[2].code is None
    assert len({c.id for c in recorded}) == 3
    assert seeded.verify_audit().rows == rows + 2
    assert [e.detail["recipient_id"] for e in seeded.list_audit()[-2:]] == ["bob", "carol"]
    for bad in (
        [Copy("asset-1", "carol", _sha("x"), "x.png"), Copy("asset-9", "bob", _sha("y"), "y")],
        [Copy("asset-2", "bob", _sha("x"), "x.png"), Copy("asset-1", "zed", _sha("y"), "y")],
    ):
        with pytest.raises((UnknownAssetError, UnknownRecipientError)):
            seeded.record_copies(bad)
    assert len(seeded.list_copies()) == 3  # all or nothing
    with pytest.raises(ValueError, match="code"):
        seeded.record_copy(Copy("asset-1", "bob", _sha("z"), "z.png", code=b""))
    assert seeded.record_copies([]) == []


def test_record_copies_scales_to_a_large_batch(seeded):
    seeded.add_recipients([Recipient(f"r{i:05d}", f"R {i}") for i in range(3000)])
    copies = [
        Copy("asset-1", f"r{i:05d}", _sha(f"out-{i}"), f"{i}.png", code=_code(i))
        for i in range(3000)
    ]
    recorded = seeded.record_copies(copies)
    assert [c.recipient_id for c in recorded] == [c.recipient_id for c in copies]
    assert len(seeded.list_copies(asset_id="asset-1")) == 3000
    ids, codes = seeded.recipient_codes("asset-1")
    assert ids == sorted(ids) and len(ids) == 3000
    assert codes[ids.index("r00042")] == _code(42)
    assert seeded.verify_audit().ok


def test_add_missing_recipients(registry):
    registry.add_recipient(Recipient("bob", "Bob"))
    added = registry.add_missing_recipients(
        [Recipient("alice", "Alice"), Recipient("bob", "Robert"), Recipient("carol", "Carol")]
    )
    assert [r.id for r in added] == ["alice", "carol"]
    assert registry.get_recipient("bob").name == "Bob"  # an existing recipient is left alone
    assert registry.add_missing_recipients([Recipient("alice", "Alice")]) == []
    for batch, error in (
        ([Recipient("dave", "Dave"), Recipient("../x", "Evil")], InvalidRecipientIdError),
        ([Recipient("dave", "Dave"), Recipient("dave", "Dave 2")], DuplicateRecipientError),
    ):
        with pytest.raises(error):
            registry.add_missing_recipients(batch)
    assert [r.id for r in registry.list_recipients()] == ["alice", "bob", "carol"]


def test_recipient_codes_and_narrow_queries(seeded):
    seeded.record_copy(Copy("asset-1", "bob", _sha("b1"), "b1.png"))
    seeded.record_copy(Copy("asset-1", "bob", _sha("b2"), "b2.png", code=_code(7)))
    seeded.record_copy(Copy("asset-1", "alice", _sha("a"), "a.png"))
    seeded.record_copy(Copy("asset-2", "carol", _sha("c"), "c.png", code=_code(8)))
    assert seeded.recipient_codes("asset-1") == (["alice", "bob"], [None, _code(7)])
    assert seeded.recipient_codes("asset-2") == (["carol"], [_code(8)])
    with pytest.raises(UnknownAssetError):
        seeded.recipient_codes("asset-9")
    assert [c.output_name for c in seeded.list_copies(output_sha256=_sha("b2"))] == ["b2.png"]
    narrow = seeded.list_copies(asset_id="asset-1", recipient_ids=["bob", "carol"])
    assert [c.output_name for c in narrow] == ["b1.png", "b2.png"]
    assert seeded.list_copies(recipient_ids=[]) == []
    assert [r.id for r in seeded.get_recipients(["carol", "alice"])] == ["carol", "alice"]
    with pytest.raises(UnknownRecipientError, match="zed"):
        seeded.get_recipients(["alice", "zed"])


def test_hash_table_is_reread_only_after_an_asset_is_added(registry, registry_location):
    registry.add_asset(_asset(1))
    first = registry.hash_table()
    assert registry.hash_table()[1] is first[1]  # served from memory
    with pytest.raises(ValueError):
        first[1][0] = 0  # read-only
    with open_registry(registry_location, key=KEY) as other:  # another process's view
        other.add_asset(_asset(2, phash=77))
    ids, phash, _ = registry.hash_table()
    assert ids == ["asset-1", "asset-2"] and phash.tolist() == [1, 77]
    with pytest.raises(RegistryError, match="reserved"):
        registry.set_setting("assets_revision", "0")


def _copy_columns(location: str) -> list[str]:
    engine = _raw_engine(location)
    try:
        return [column["name"] for column in sa.inspect(engine).get_columns("copies")]
    finally:
        engine.dispose()


def test_version_1_registry_is_upgraded(registry_location, tmp_path, monkeypatch):
    monkeypatch.setattr(registry_schema, "SCHEMA_VERSION", 1)
    old = _init(registry_location, tmp_path)
    old.add_recipients([Recipient("alice", "Alice"), Recipient("bob", "Bob")])
    old.add_asset(_asset(1))
    old.close()
    assert "code" not in _copy_columns(registry_location)
    _raw_sql(  # a copy recorded by version 1, which had no code column
        registry_location,
        "INSERT INTO copies (asset_id, recipient_id, output_sha256, output_name, created_at) "
        f"VALUES ('asset-1', 'alice', '{_sha('old')}', 'old.png', '2024-01-02 03:04:05')",
    )
    monkeypatch.undo()

    with open_registry(registry_location, key=KEY) as reg:
        assert reg.get_setting("schema_version") == str(registry_schema.SCHEMA_VERSION)
        assert reg.list_audit()[-1].detail == {"from": 1, "to": registry_schema.SCHEMA_VERSION}
        (old_copy,) = reg.list_copies()
        assert old_copy.code is None and old_copy.output_name == "old.png"
        reg.record_copy(Copy("asset-1", "bob", _sha("new"), "new.png", code=_code(3)))
        assert reg.recipient_codes("asset-1") == (["alice", "bob"], [None, _code(3)])
        reg.add_asset(_asset(2))  # the asset revision counter works after the upgrade
        assert reg.hash_table()[0] == ["asset-1", "asset-2"]
        assert reg.verify_audit().ok
    columns = _copy_columns(registry_location)
    assert columns[-3:] == ["code", "key_id", "commitment"]
    if not _is_pg(registry_location):  # a new registry has exactly an upgraded one's columns
        _init(str(tmp_path / "fresh"), tmp_path).close()
        assert _copy_columns(str(tmp_path / "fresh")) == columns


def test_add_assets_in_one_batch(registry):
    first = registry.add_asset(_asset(1))
    rows = registry.verify_audit().rows
    doc = _asset(10, kind="pdf")
    batch = [
        _asset(1, id="renamed"),  # the same file again: the registered asset comes back
        doc,
        _asset(11, kind="pdf-page", parent_id=doc.id, page=0),  # its parent is in the batch
        _asset(2),
        _asset(2, id="asset-2-again"),  # the same file twice in the batch
    ]
    added = registry.add_assets(batch)
    assert added[0] == first and added[4] == added[3] and added[3].id == "asset-2"
    assert [a.id for a in registry.list_assets()] == ["asset-1", "asset-10", "asset-11", "asset-2"]
    assert registry.verify_audit().rows == rows + 3
    revision = registry.get_setting("assets_revision")
    for bad, error in (
        ([_asset(3), _asset(4, id="asset-1")], RegistryError),  # id taken by another file
        ([_asset(3), _asset(4, id="asset-3")], RegistryError),  # one id for two files
        ([_asset(3), _asset(5, kind="pdf-page", parent_id="nope", page=1)], UnknownAssetError),
    ):
        with pytest.raises(error):
            registry.add_assets(bad)
    assert len(registry.list_assets()) == 4  # all or nothing
    assert registry.get_setting("assets_revision") == revision
    assert registry.add_assets([]) == []


def test_get_assets_reads_only_the_rows_asked_for_in_the_order_asked(registry):
    registry.add_assets([_asset(k) for k in (1, 2, 3)])
    found = registry.get_assets(["asset-3", "missing", "asset-1", "asset-3"])
    assert [a.id for a in found] == ["asset-3", "asset-1"]
    assert found[0] == registry.get_asset("asset-3")
    assert registry.get_assets([]) == []
