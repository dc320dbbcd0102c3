"""The case history file: one case per content, results per model and profile, confirmations,
filters, deletion; damaged, foreign and newer files; never an identifier, never a pixel.
Every test works on a real SQLite file."""

import sqlite3

import pytest

from desktop.cases.store import (
    SCHEMA_VERSION,
    CaseRecord,
    Filters,
    HistoryStore,
    default_db_path,
    local_days,
    local_time,
)
from desktop.engine.results import Result
from desktop.engine.session import Session


def record(sha="a" * 64, *, name="a.png", verdict="PNEUMONIA", p=0.9, profile="",
           model="m" * 64, scope="in_scope", created=None, uids=None):
    return CaseRecord(sha256=sha, file_name=name, path=f"/x/{name}", size=10, model_sha256=model,
                      model_version="1", profile=profile, p_model=p, p=p, threshold=0.5,
                      verdict=verdict, scope=scope, scope_reason=None, origin="predict",
                      uids=uids or {}, created=created)


def test_the_history_lives_in_the_data_folder_and_is_wal_at_the_current_schema(tmp_path):
    store = HistoryStore.open()
    assert store.path == default_db_path() == tmp_path / "data" / "history.db"
    assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.notice is None and not store.read_only
    store.close()


def test_the_same_content_is_one_case_and_a_new_model_or_profile_a_new_result(tmp_path):
    store = HistoryStore.open(tmp_path / "h.db")
    first = store.record(record(name="a.png"))
    again = store.record(record(name="copy of a.png", p=0.8))
    assert first == again and store.case_count() == 1
    rows = store.rows()
    assert len(rows) == 1 and rows[0].file_name == "copy of a.png" and rows[0].p == 0.8
    store.record(record(profile="clinic"))
    store.record(record(model="n" * 64))
    assert store.case_count() == 1 and store.count() == 3


def test_confirming_a_selection_gives_agreement_and_filters_select_it(tmp_path):
    store = HistoryStore.open(tmp_path / "h.db")
    ids = [store.record(record(sha=c * 64, name=f"{c}.png", verdict=v,
                               created=f"2026-11-0{i + 1}T10:00:00Z"))
           for i, (c, v) in enumerate([("a", "PNEUMONIA"), ("b", "NORMAL"), ("c", "NORMAL")])]
    assert store.confirm(ids[:2], "PNEUMONIA", how="culture", by="Dr Ana") == 2
    assert store.count(Filters(confirmed=True)) == 2
    assert store.count(Filters(confirmed=False)) == 1
    assert [r.file_name for r in store.rows(Filters(agreement="agree"))] == ["a.png"]
    assert [r.file_name for r in store.rows(Filters(agreement="disagree"))] == ["b.png"]
    assert [r.file_name for r in store.rows(Filters(since="2026-11-02", until="2026-11-03"))] \
        == ["b.png"]
    assert store.count(Filters(search="C.PN")) == 1  # file names match in any letter case
    assert store.count(Filters(search="%")) == 0  # a wildcard is a character here
    row = store.rows(Filters(search="a.png"))[0]
    assert (row.confirmed, row.confirmed_how, row.confirmed_by) == ("PNEUMONIA", "culture",
                                                                    "Dr Ana")
    with pytest.raises(ValueError):
        store.confirm(ids, "MAYBE")


def test_date_filters_mean_the_users_local_days_and_dates_show_in_local_time(
        tmp_path, sao_paulo):
    store = HistoryStore.open(tmp_path / "h.db")
    for i, (name, created) in enumerate([
            ("late on the 3rd.png", "2026-12-04T02:30:00Z"),  # 23:30 on the 3rd
            ("early on the 4th.png", "2026-12-04T03:30:00Z"),  # 00:30 on the 4th
            ("late on the 4th.png", "2026-12-05T02:30:00Z"),  # 23:30 on the 4th
            ("early on the 5th.png", "2026-12-05T03:30:00Z")]):
        store.record(record(sha=f"{i:064d}", name=name, created=created))
    on_the_4th = store.rows(Filters(*local_days("2026-12-04", "2026-12-04")))
    assert sorted(r.file_name for r in on_the_4th) == ["early on the 4th.png",
                                                       "late on the 4th.png"]
    assert store.count(Filters(*local_days("2026-12-04", None))) == 3
    assert store.count(Filters(*local_days(None, "2026-12-03"))) == 1
    assert local_time("2026-12-04T02:30:00Z") == "2026-12-03 23:30"
    with pytest.raises(ValueError):
        local_days("4/12/2026", None)


def test_deleting_forgets_cases_and_their_results_but_never_a_file(tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(b"kept")
    store = HistoryStore.open(tmp_path / "h.db")
    ids = [store.record(record(sha=c * 64, created=f"2026-11-0{i + 1}T10:00:00Z"))
           for i, c in enumerate("abc")]
    store.record(record(sha="a" * 64, profile="clinic"))
    assert store.delete_cases([ids[0]]) == 1 and store.count() == 2
    assert store.delete_matching(Filters(since="2026-11-02", until="2026-11-03")) == 1
    assert store.delete_matching(Filters()) == 1
    assert store.case_count() == 0 and store.count() == 0
    assert image.read_bytes() == b"kept"


def foreign_sqlite(path):
    """Another program's database, with its own data, in rollback-journal mode."""
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
    connection.execute("INSERT INTO contacts VALUES ('Ana', '555')")
    connection.commit()
    connection.close()


def clobbered_header(path):
    """A history of ours whose first bytes were overwritten."""
    HistoryStore.open(path).close()
    data = bytearray(path.read_bytes())
    data[:16] = b"\x00" * 16
    path.write_bytes(bytes(data))


FOREIGN = {
    "notes": lambda path: path.write_text("these are somebody's notes, not a database\n" * 50),
    "jpeg": lambda path: path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(5000)),
    "another program's SQLite": foreign_sqlite,
    "a history with a damaged header": clobbered_header,
}


@pytest.mark.parametrize("kind", FOREIGN)
@pytest.mark.parametrize("read_only", [False, True])
def test_a_file_that_is_not_a_history_of_ours_is_refused_and_left_untouched(tmp_path, kind,
                                                                            read_only):
    from desktop.cases.store import NotAHistoryError

    path = tmp_path / "h.db"
    FOREIGN[kind](path)
    before = path.read_bytes()
    with pytest.raises(NotAHistoryError) as refused:
        HistoryStore.open(path, read_only=read_only, verify=True)
    assert "h.db is not a case history" in refused.value.user_message()
    assert path.read_bytes() == before  # not adopted, not switched to WAL, not renamed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.db"]


def test_a_new_history_carries_our_mark_and_an_unmarked_one_of_ours_is_recognised(tmp_path):
    from desktop.cases.store import APPLICATION_ID, MIGRATIONS

    store = HistoryStore.open(tmp_path / "new.db")
    assert store.connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    store.close()
    old = tmp_path / "old.db"  # as the versions before the mark made it
    connection = sqlite3.connect(old)
    connection.executescript(MIGRATIONS[0])
    connection.execute("PRAGMA user_version = 1")
    connection.close()
    reading = HistoryStore.open(old, read_only=True)  # read: recognised, not marked
    assert reading.count() == 0
    reading.close()
    assert sqlite3.connect(old).execute("PRAGMA application_id").fetchone()[0] == 0
    store = HistoryStore.open(old)  # written: marked, and records
    store.record(record())
    assert store.connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    store.close()


def test_a_reading_open_creates_nothing_and_never_moves_a_damaged_history(tmp_path):
    from desktop.cases.store import HistoryDamagedError, NoHistoryError

    with pytest.raises(NoHistoryError):
        HistoryStore.open(tmp_path / "mistyped.db", read_only=True)
    assert list(tmp_path.iterdir()) == []
    path = tmp_path / "h.db"
    damaged_history(path)
    before = path.read_bytes()
    with pytest.raises(HistoryDamagedError) as refused:
        HistoryStore.open(path, read_only=True, verify=True)
    assert "h.db is damaged" in refused.value.user_message()
    assert path.read_bytes() == before and not list(tmp_path.glob("*damaged*"))


def damaged_history(path):
    store = HistoryStore.open(path)
    for i in range(300):
        store.record(record(sha=f"{i:064d}", name=f"{i}.png"))
    store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, page):  # every page past the first two
        data[start:start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))


def test_a_damaged_database_is_found_by_the_verifying_open_kept_aside_and_begun_anew(tmp_path):
    path = tmp_path / "h.db"
    damaged_history(path)
    store = HistoryStore.open(path, verify=True)
    assert store.notice is not None and "damaged" in store.notice.user_message()
    assert store.count() == 0 and store.integrity() == "ok"
    assert len(list(tmp_path.glob("h.damaged-*.db"))) == 1


def test_damage_met_while_recording_keeps_the_file_and_records_into_a_new_one(tmp_path):
    from desktop.cases.recorder import Recorder

    path = tmp_path / "h.db"
    damaged_history(path)
    told = []
    recorder = Recorder(path, notify=told.append)
    assert recorder.open().notice is None  # the cheap open: header and schema are fine
    image = tmp_path / "a.png"
    image.write_bytes(b"an image's bytes")
    session = Session()
    result = session.add(Result(image, 0.7))
    assert recorder.record(session, result, model_sha256="m" * 64, model_version="1",
                           origin="window") is True
    assert len(told) == 1 and "damaged" in told[0].user_message()
    assert len(list(tmp_path.glob("h.damaged-*.db"))) == 1
    assert recorder.store.count() == 1 and recorder.store.integrity() == "ok"


def newer_history(path):
    """A history of one case, as a newer version of the app wrote it (its schema ahead)."""
    store = HistoryStore.open(path)
    store.record(record())
    store.connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store.close()


def test_a_history_from_a_newer_version_is_opened_read_only_and_never_downgraded(tmp_path):
    path = tmp_path / "h.db"
    newer_history(path)
    newer = HistoryStore.open(path)
    assert newer.read_only and "newer version" in newer.notice.user_message()
    assert newer.count() == 1  # still readable
    with pytest.raises(sqlite3.OperationalError):
        newer.record(record(sha="b" * 64))
    newer.close()
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION + 1


def test_uids_are_kept_and_no_value_is_a_blob(tmp_path):
    store = HistoryStore.open(tmp_path / "h.db")
    store.record(record(uids={"study_uid": "1.2.3", "series_uid": "1.2.3.4", "sop_uid": "1.2.5"}))
    db = store.connection
    assert db.execute("SELECT study_uid, series_uid, sop_uid FROM cases").fetchone() == \
        ("1.2.3", "1.2.3.4", "1.2.5")
    for table in ("cases", "results"):
        columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
        assert not any("patient" in c for c in columns)
        for column in columns:
            assert db.execute(f"SELECT count(*) FROM {table} WHERE typeof({column}) = 'blob'"
                              ).fetchone()[0] == 0


def test_a_referred_result_is_stored_as_refer_with_its_band_and_filters_select_it(tmp_path):
    from desktop.cases.export import history_csv_text

    store = HistoryStore.open(tmp_path / "h.db")
    referred = CaseRecord(sha256="r" * 64, file_name="r.png", path="/x/r.png", size=1,
                          model_sha256="m" * 64, model_version="1", profile="", p_model=0.45,
                          p=0.45, threshold=0.5, verdict=None, scope="in_scope",
                          scope_reason=None, origin="predict", decision="REFER", t_low=0.2,
                          t_high=0.6)
    ids = [store.record(referred), store.record(record(sha="n" * 64, name="n.png",
                                                       verdict="PNEUMONIA")),
           store.record(record(sha="w" * 64, name="w.png", verdict=None,
                               scope="not_chest_xray"))]
    store.confirm(ids[:2], "NORMAL")
    rows = {r.file_name: r for r in store.rows()}
    row = rows["r.png"]
    assert (row.verdict, row.decision, row.t_low, row.t_high) == (None, "REFER", 0.2, 0.6)
    assert row.outcome == "REFER" and row.p_text(3) == "0.450"  # P still shown when referred
    assert row.agreement is None  # no class given: neither agrees nor disagrees
    assert rows["n.png"].decision == "PNEUMONIA" and rows["n.png"].t_low is None
    assert rows["w.png"].outcome == "withheld" and rows["w.png"].p_text(3) == ""
    assert [r.file_name for r in store.rows(Filters(verdict="REFER"))] == ["r.png"]
    assert [r.file_name for r in store.rows(Filters(verdict="none"))] == ["w.png"]
    assert [r.file_name for r in store.rows(Filters(agreement="disagree"))] == ["n.png"]
    lines = history_csv_text(store.rows(Filters(verdict="REFER"))).splitlines()
    header, cells = lines[0].split(","), lines[1].split(",")
    assert header[-3:] == ["decision", "t_low", "t_high"]
    exported = dict(zip(header, cells, strict=True))
    assert {k: exported[k] for k in ("verdict", "decision", "p_pneumonia", "t_low", "t_high",
                                     "agreement")} == {
        "verdict": "", "decision": "REFER", "p_pneumonia": "0.450000", "t_low": "0.200000",
        "t_high": "0.600000", "agreement": ""}
    store.close()


def test_a_history_of_the_previous_schema_is_migrated_keeping_every_result(tmp_path):
    """A version-2 history (before the refer band), marked or not: its results keep their
    verdicts, get them as decisions, and no band; the file is recognised as ours."""
    from desktop.cases.store import APPLICATION_ID, MIGRATIONS

    for marked in (True, False):
        path = tmp_path / f"v2-{marked}.db"
        connection = sqlite3.connect(path)
        for script in MIGRATIONS[:2]:
            connection.executescript(script)
        connection.execute("PRAGMA user_version = 2")
        if marked:
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute("INSERT INTO cases (id, sha256, file_name, path, first_seen, "
                           "last_seen) VALUES (1, 'a', 'a.png', '/a', 't', 't'), "
                           "(2, 'b', 'b.png', '/b', 't', 't')")
        connection.execute("INSERT INTO results (case_id, created, model_sha256, p_model, p, "
                           "threshold, verdict, scope) VALUES "
                           "(1, '2026-11-01T10:00:00Z', 'm', 0.9, 0.9, 0.5, 'PNEUMONIA', "
                           "'in_scope'), (2, '2026-11-01T11:00:00Z', 'm', 0.9, 0.9, 0.5, NULL, "
                           "'not_chest_xray')")
        connection.commit()
        connection.close()
        store = HistoryStore.open(path)
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        rows = {r.file_name: r for r in store.rows()}
        assert (rows["a.png"].verdict, rows["a.png"].decision, rows["a.png"].t_low) == (
            "PNEUMONIA", "PNEUMONIA", None)
        assert rows["b.png"].decision is None and rows["b.png"].outcome == "withheld"
        store.close()
