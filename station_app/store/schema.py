"""Versioned schema migrations. Never edit an applied migration: add the next one.

Tables fall in three groups:
- the log (``ledger``, ``checkpoint``, ``checkpoint_use``): INSERT only, guarded by triggers;
- local secrets (``person_key``, ``credential``): per-person keys, the one place a DELETE is
  legitimate, since deleting a key is how a person's data is erased (PIPL) while the log stays
  intact; and PIN hashes, which never leave the PC;
- projections (everything else): derived from the log and rebuildable at any time.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("station")

APPEND_ONLY_TABLES = ("ledger", "checkpoint", "checkpoint_use")
PROJECTION_TABLES = (
    "station", "setting", "catalog_item", "holiday_year", "holiday_day", "person",
    "cases", "case_events", "proxies", "proxy_events", "agent", "document", "document_copy",
    "app_user", "evaluation", "published_template", "revoked_station", "relay_inbox",
    "bad_review", "bad_review_events", "seven_check", "evidence_photo",
    "county_notice", "qr_rating_inbox", "notice_board_version",
)


def _guard_append_only(db: Database, table: str) -> None:
    for op in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'the station log is append-only ({table})'); END")


@migrations()
def m001_log_vault_projections(db: Database) -> None:
    db.executescript("""
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

    CREATE TABLE ledger (
        idx INTEGER PRIMARY KEY,
        entry BLOB NOT NULL,
        leaf_hash BLOB NOT NULL
    );
    CREATE TABLE checkpoint (
        size INTEGER PRIMARY KEY,
        note TEXT NOT NULL,
        peaks BLOB NOT NULL
    );
    CREATE TABLE checkpoint_use (
        size INTEGER NOT NULL,
        purpose TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX checkpoint_use_size ON checkpoint_use (size);

    CREATE TABLE person_key (person TEXT PRIMARY KEY, wrapped BLOB NOT NULL);

    CREATE TABLE station (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        code TEXT NOT NULL, name TEXT NOT NULL, region TEXT NOT NULL, level TEXT NOT NULL,
        origin TEXT NOT NULL, public_key TEXT NOT NULL, created_at TEXT NOT NULL,
        demo INTEGER NOT NULL
    );
    CREATE TABLE setting (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE catalog_item (
        code TEXT PRIMARY KEY, name TEXT NOT NULL, case_type TEXT NOT NULL,
        proxy_allowed INTEGER NOT NULL, data TEXT NOT NULL
    );
    CREATE TABLE holiday_year (year INTEGER PRIMARY KEY, source TEXT NOT NULL, idx INTEGER);
    CREATE TABLE holiday_day (
        day TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, year INTEGER NOT NULL
    );
    CREATE INDEX holiday_day_year ON holiday_day (year);
    CREATE TABLE person (
        person TEXT PRIMARY KEY, cert_type TEXT NOT NULL,
        name_masked TEXT NOT NULL, cert_masked TEXT NOT NULL,
        phone_masked TEXT NOT NULL, address_masked TEXT NOT NULL,
        name_key TEXT, cert_key TEXT, erased INTEGER NOT NULL DEFAULT 0, idx INTEGER NOT NULL
    );
    CREATE INDEX person_name_key ON person (name_key);
    CREATE INDEX person_cert_key ON person (cert_key);

    CREATE TABLE cases (
        case_no TEXT PRIMARY KEY, day TEXT NOT NULL, seq INTEGER NOT NULL,
        item_code TEXT NOT NULL, item_name TEXT NOT NULL, case_type TEXT NOT NULL,
        channel TEXT NOT NULL, state TEXT NOT NULL, applicant TEXT NOT NULL,
        agent TEXT NOT NULL, proxy_no TEXT NOT NULL,
        received_at TEXT NOT NULL, accepted_at TEXT, closed_at TEXT,
        deadline TEXT, deadline_ts INTEGER, deadline_kind TEXT, estimated INTEGER NOT NULL,
        due_key INTEGER NOT NULL, search_text TEXT NOT NULL,
        promised_deadline TEXT, legal_deadline TEXT, on_time INTEGER,
        visits INTEGER NOT NULL, created_idx INTEGER NOT NULL, updated_idx INTEGER NOT NULL,
        UNIQUE (day, seq)
    );
    CREATE INDEX cases_worklist ON cases (due_key, case_no);
    CREATE INDEX cases_state_due ON cases (state, due_key, case_no);
    CREATE INDEX cases_state_received ON cases (state, received_at);
    CREATE INDEX cases_item ON cases (item_code, received_at);
    CREATE INDEX cases_received ON cases (received_at);
    CREATE INDEX cases_applicant ON cases (applicant);
    CREATE INDEX cases_proxy ON cases (proxy_no);
    CREATE TABLE case_events (
        case_no TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (case_no, idx)
    );

    CREATE TABLE proxies (
        proxy_no TEXT PRIMARY KEY, year INTEGER NOT NULL, seq INTEGER NOT NULL,
        item_code TEXT NOT NULL, item_name TEXT NOT NULL, villager TEXT NOT NULL,
        agent TEXT NOT NULL, village_group TEXT NOT NULL, state TEXT NOT NULL,
        registered_at TEXT NOT NULL, submit_due TEXT NOT NULL, submit_due_ts INTEGER NOT NULL,
        submitted_at TEXT, case_no TEXT NOT NULL, estimated INTEGER NOT NULL,
        created_idx INTEGER NOT NULL, updated_idx INTEGER NOT NULL,
        UNIQUE (year, seq)
    );
    CREATE INDEX proxies_state ON proxies (state, submit_due_ts);
    CREATE INDEX proxies_registered ON proxies (registered_at);
    CREATE TABLE proxy_events (
        proxy_no TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (proxy_no, idx)
    );
    """)
    for table in APPEND_ONLY_TABLES:
        _guard_append_only(db, table)


@migrations()
def m002_agents_and_documents(db: Database) -> None:
    """Agents for the public notice; issued documents and every printed copy (issue 3)."""
    db.executescript("""
    CREATE TABLE agent (
        agent_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
        phone TEXT NOT NULL, village TEXT NOT NULL, active INTEGER NOT NULL, idx INTEGER NOT NULL
    );
    CREATE TABLE document (
        doc_id TEXT PRIMARY KEY, doc_no TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
        subject TEXT NOT NULL, year INTEGER NOT NULL, seq INTEGER NOT NULL,
        issued_on TEXT NOT NULL, issued_by TEXT NOT NULL, facts_key TEXT NOT NULL,
        content_sha256 TEXT NOT NULL, template TEXT NOT NULL,
        copies INTEGER NOT NULL, idx INTEGER NOT NULL,
        UNIQUE (kind, year, seq)
    );
    CREATE INDEX document_subject ON document (subject, kind, facts_key);
    CREATE TABLE document_copy (
        doc_id TEXT NOT NULL, copy INTEGER NOT NULL, reprint INTEGER NOT NULL,
        printed_at TEXT NOT NULL, actor TEXT NOT NULL, paper TEXT NOT NULL,
        output TEXT NOT NULL, printer TEXT NOT NULL, file TEXT NOT NULL,
        pdf_sha256 TEXT NOT NULL, idx INTEGER NOT NULL,
        PRIMARY KEY (doc_id, copy)
    );
    CREATE INDEX document_copy_pdf ON document_copy (pdf_sha256);
    """)


@migrations()
def m003_users(db: Database) -> None:
    """Users (a projection of user.* entries) and their PIN hashes.

    ``credential`` is local like the key vault: PIN hashes never go into the log (which
    leaves the PC), and a wrong-PIN counter is not history.
    """
    db.executescript("""
    CREATE TABLE app_user (
        user_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
        active INTEGER NOT NULL, idx INTEGER NOT NULL
    );
    CREATE TABLE credential (
        user_id TEXT PRIMARY KEY, pin_hash TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER NOT NULL DEFAULT 0
    );
    """)


@migrations()
def m004_evaluations(db: Database) -> None:
    db.executescript("""
    CREATE TABLE evaluation (
        subject TEXT NOT NULL, idx INTEGER NOT NULL, subject_kind TEXT NOT NULL,
        level TEXT NOT NULL, channel TEXT NOT NULL, assess_number INTEGER NOT NULL,
        at TEXT NOT NULL, actor TEXT NOT NULL, PRIMARY KEY (subject, idx)
    );
    """)


@migrations()
def m005_sync(db: Database) -> None:
    """Sync state: local, not projections (a rebuild leaves them alone).

    ``sync_config`` holds the enrollment (server, pinned county root, key set, certificate)
    and the relay cursor; ``sync_receipt`` the county's receipts, INSERT only like the log:
    the largest receipted size is how far the county has acknowledged the log.
    ``sync_publication`` keeps the highest version applied per county collection, so an
    older one (a rollback) is refused.
    """
    db.executescript("""
    CREATE TABLE sync_config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE sync_receipt (
        size INTEGER PRIMARY KEY, note TEXT NOT NULL, county_time INTEGER NOT NULL,
        received_at TEXT NOT NULL
    );
    CREATE TABLE sync_publication (
        collection TEXT PRIMARY KEY, version INTEGER NOT NULL, digest TEXT NOT NULL,
        issued TEXT NOT NULL, expires TEXT NOT NULL, applied_at TEXT NOT NULL
    );
    """)
    _guard_append_only(db, "sync_receipt")


@migrations()
def m006_publications(db: Database) -> None:
    """What the county published, as projections of the log entries that applied it.

    ``published_template`` holds the county's templates (``template.published``), which the
    station prints with in preference to the bundled ones; ``revoked_station`` the county's
    list of revoked station keys (``revocations.published``), so what those keys sign after
    their revocation can be refused.
    """
    db.executescript("""
    CREATE TABLE published_template (
        name TEXT PRIMARY KEY, version TEXT NOT NULL, toml TEXT NOT NULL,
        sha256 TEXT NOT NULL, publication INTEGER NOT NULL, idx INTEGER NOT NULL
    );
    CREATE TABLE revoked_station (
        origin TEXT PRIMARY KEY, station TEXT NOT NULL, revoked_at TEXT NOT NULL,
        size INTEGER NOT NULL, reason TEXT NOT NULL, publication INTEGER NOT NULL
    );
    CREATE INDEX revoked_station_code ON revoked_station (station);
    """)


@migrations()
def m007_relay(db: Database) -> None:
    """Messages relayed between stations through the county (docs/sync.md).

    ``relay_outbox`` is local state like the sync tables: what this station still has to
    send (a handover when a proxy entry is marked 已报送, a case's status back to the
    station that handed it over), queued in the transaction that made the change and sent
    by the next sync. It holds references only: the payload is built, and personal details
    opened from the vault, at send time. ``relay_inbox`` is a projection of the
    ``relay.received`` / ``relay.handled`` entries: messages taken in, and which handovers
    still wait for the clerk's 收件.
    """
    db.executescript("""
    CREATE TABLE relay_outbox (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, to_station TEXT NOT NULL,
        subject TEXT NOT NULL, ref INTEGER NOT NULL, queued_at TEXT NOT NULL,
        state TEXT NOT NULL, sent_at TEXT, attempts INTEGER NOT NULL DEFAULT 0,
        problem TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX relay_outbox_state ON relay_outbox (state, queued_at);
    CREATE TABLE relay_inbox (
        sender TEXT NOT NULL, message_id TEXT NOT NULL, kind TEXT NOT NULL,
        from_station TEXT NOT NULL, from_name TEXT NOT NULL, sent_at TEXT NOT NULL,
        proxy_no TEXT NOT NULL, item_code TEXT NOT NULL, item_name TEXT NOT NULL,
        agent TEXT NOT NULL, agent_phone TEXT NOT NULL, village_group TEXT NOT NULL,
        villager TEXT NOT NULL, materials TEXT NOT NULL, status TEXT NOT NULL,
        state TEXT NOT NULL, case_no TEXT NOT NULL, idx INTEGER NOT NULL,
        handled_idx INTEGER, PRIMARY KEY (sender, message_id)
    );
    CREATE INDEX relay_inbox_state ON relay_inbox (kind, state, idx);
    CREATE INDEX relay_inbox_case ON relay_inbox (case_no);
    """)


@migrations()
def m008_bad_reviews(db: Database) -> None:
    """好差评 in full (issue 7): an evaluation's reasons and comment, and the 差评整改 loop.

    ``bad_review`` is one row per loop (folded from its entries by the pure domain, like a
    case), with the current step's due day and its end-of-day timestamp so "overdue now" is a
    plain range query; ``bad_review_events`` keeps the loop's own entries for the fold.
    """
    db.executescript("""
    ALTER TABLE evaluation ADD COLUMN reasons TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE evaluation ADD COLUMN comment TEXT NOT NULL DEFAULT '';
    CREATE TABLE bad_review (
        review_no TEXT PRIMARY KEY, subject TEXT NOT NULL, subject_kind TEXT NOT NULL,
        level TEXT NOT NULL, assess_number INTEGER NOT NULL, step TEXT NOT NULL,
        owner TEXT NOT NULL, opened_at TEXT NOT NULL, clock_start TEXT NOT NULL,
        due TEXT, due_ts INTEGER, estimated INTEGER NOT NULL, appeal TEXT NOT NULL,
        overturned INTEGER NOT NULL, closed_at TEXT, created_idx INTEGER NOT NULL,
        updated_idx INTEGER NOT NULL
    );
    CREATE INDEX bad_review_subject ON bad_review (subject, created_idx);
    CREATE INDEX bad_review_due ON bad_review (step, due_ts);
    CREATE TABLE bad_review_events (
        review_no TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (review_no, idx)
    );
    """)


@migrations()
def m009_seven_haves(db: Database) -> None:
    """七有 self-checks (issue 7): one row per ``sevenhaves.checked`` entry (the newest of a
    month is the one in force), and the index of ``evidence.photo`` entries by content hash.
    The photo bytes are not copied here: they stay in the log entry ``idx`` points at."""
    db.executescript("""
    CREATE TABLE seven_check (
        idx INTEGER PRIMARY KEY, month TEXT NOT NULL, at TEXT NOT NULL,
        checked_by TEXT NOT NULL, actor TEXT NOT NULL, body TEXT NOT NULL
    );
    CREATE INDEX seven_check_month ON seven_check (month, idx);
    CREATE TABLE evidence_photo (
        sha256 TEXT PRIMARY KEY, idx INTEGER NOT NULL, mime TEXT NOT NULL,
        width INTEGER NOT NULL, height INTEGER NOT NULL, size INTEGER NOT NULL,
        taken_at TEXT, note TEXT NOT NULL
    );
    """)


@migrations()
def m010_county_notices(db: Database) -> None:
    """County notices (issue 7): one row per ``county.notice_received`` entry — an
    inspection's or spot check's result, a 整改通知 when an item failed — with the station's
    answer (``rectification.done`` / ``rectification.disputed``) folded in."""
    db.executescript("""
    CREATE TABLE county_notice (
        notice TEXT PRIMARY KEY, state TEXT NOT NULL, deadline TEXT,
        received_idx INTEGER NOT NULL, received_at TEXT NOT NULL, body TEXT NOT NULL,
        answer_kind TEXT, answer_idx INTEGER, answered_at TEXT, answer TEXT
    );
    CREATE INDEX county_notice_state ON county_notice (state, deadline);
    """)


@migrations()
def m012_log_epochs(db: Database) -> None:
    """Earlier key epochs of this station's log (issue 8, recovery from a lost PC): the
    acknowledged history a replacement PC fetched from the county, verified against the
    county's receipt and kept read-only. Not projections: like ``ledger``, they are the
    source a rebuild replays (epochs in ``seq`` order, then the current log)."""
    db.executescript("""
    CREATE TABLE log_epoch (
        seq INTEGER PRIMARY KEY, origin TEXT NOT NULL UNIQUE, public_key TEXT NOT NULL,
        size INTEGER NOT NULL, root BLOB NOT NULL, receipt TEXT NOT NULL,
        county_time INTEGER NOT NULL, recovered_at TEXT NOT NULL
    );
    CREATE TABLE epoch_entry (
        seq INTEGER NOT NULL, idx INTEGER NOT NULL, entry BLOB NOT NULL,
        leaf_hash BLOB NOT NULL, PRIMARY KEY (seq, idx)
    );
    """)
    for table in ("log_epoch", "epoch_entry"):
        _guard_append_only(db, table)


def known_migrations() -> tuple[str, ...]:
    """Names of every migration this version of the program knows, in order."""
    return tuple(m.name for m in migrations.pending(Database(memory=True)))


@migrations()
def m013_backup_runs(db: Database) -> None:
    """Encrypted backups written from this station and the restore that made this copy
    (docs/backup.md). Local state like the sync tables, not a projection: a backup is a
    fact about this PC's disk, not about the services, and a log entry written after the
    snapshot would make every backup older than what the county acknowledges."""
    db.executescript("""
    CREATE TABLE backup_run (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, at TEXT NOT NULL,
        entries INTEGER NOT NULL, root TEXT NOT NULL, size INTEGER NOT NULL,
        sha256 TEXT NOT NULL, file TEXT NOT NULL, seconds REAL NOT NULL
    );
    """)


@migrations()
def m011_qr_ratings_and_notice_board(db: Database) -> None:
    """Issue 7: ratings relayed from the county's QR page (docs/evaluation-qr.md), one row per
    ``rating.received`` entry with what became of it; and the versions of the 公示栏 poster,
    one row per ``notice.regenerated`` entry (docs/notice-board.md). Both are projections."""
    db.executescript("""
    CREATE TABLE qr_rating_inbox (
        sender TEXT NOT NULL, message_id TEXT NOT NULL, rating_id TEXT NOT NULL,
        case_no TEXT NOT NULL, assess INTEGER NOT NULL, level TEXT NOT NULL,
        received_at TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT NOT NULL,
        idx INTEGER NOT NULL, PRIMARY KEY (sender, message_id)
    );
    CREATE INDEX qr_rating_inbox_case ON qr_rating_inbox (case_no, idx);
    CREATE TABLE notice_board_version (
        version INTEGER PRIMARY KEY, idx INTEGER NOT NULL, at TEXT NOT NULL,
        origin TEXT NOT NULL, doc_id TEXT NOT NULL, doc_no TEXT NOT NULL,
        copy INTEGER NOT NULL, pdf_sha256 TEXT NOT NULL,
        facts_key TEXT NOT NULL, file TEXT NOT NULL, published TEXT NOT NULL,
        changed TEXT NOT NULL
    );
    CREATE INDEX notice_board_version_doc ON notice_board_version (doc_id, version);
    """)
