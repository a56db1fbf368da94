"""One alert per account per period, and acknowledge / snooze marks kept per user (riskcore.inbox)."""

import json
import multiprocessing
from datetime import date

import pytest

from riskcore.inbox import AlertMarks, MarksError, combine_alerts, marks_folder

FOUND = [  # what history.evaluate_alerts returns, oldest first
    {"account_id": "A", "alert": "score_jump", "kind": "score_rise", "date": "2025-01-07", "cause": "customer"},
    {"account_id": "B", "alert": "new_save", "kind": "entered_quadrant", "date": "2025-01-07", "cause": "customer"},
    {"account_id": "A", "alert": "tier_worse", "kind": "tier_worse", "date": "2025-01-14", "cause": "rule_set"},
    {"account_id": "A", "alert": "score_jump", "kind": "score_rise", "date": "2025-01-14", "cause": "customer"},
    {"account_id": "C", "alert": "score_jump", "kind": "score_rise", "date": "2025-01-14", "cause": "rule_set"},
]


def test_one_entry_per_account_newest_first():
    entries = combine_alerts(FOUND)
    assert [(e["account_id"], e["date"]) for e in entries] == [("A", "2025-01-14"), ("C", "2025-01-14"),
                                                                ("B", "2025-01-07")]
    a = entries[0]
    assert [(x["date"], x["alert"]) for x in a["alerts"]] == [("2025-01-14", "tier_worse"),
                                                              ("2025-01-14", "score_jump"),
                                                              ("2025-01-07", "score_jump")]
    assert a["kinds"] == ["score_jump", "tier_worse"] and a["causes"] == ["customer", "rule_set"]
    assert a["cause"] == "both" and entries[1]["cause"] == "rule_set" and entries[2]["cause"] == "customer"
    assert all(e["period_start"] == "2025-01-07" for e in entries)


def test_weekly_periods_split_an_account():
    entries = combine_alerts(FOUND, period_days=7)  # periods (01-07 .. 01-14]: 01-08..01-14 and 01-01..01-07
    assert [(e["account_id"], e["period_start"], len(e["alerts"])) for e in entries] == [
        ("A", "2025-01-08", 2), ("C", "2025-01-08", 1), ("A", "2025-01-01", 1), ("B", "2025-01-01", 1)]
    assert combine_alerts([]) == []
    with pytest.raises(ValueError, match="period_days"):
        combine_alerts(FOUND, period_days=0)


def test_acknowledge_and_snooze_survive_a_new_object(tmp_path):
    entries = combine_alerts(FOUND)
    marks = AlertMarks(tmp_path, user="ann@example.com")
    today = date(2025, 1, 15)
    assert marks.unread(entries, today) == 3
    marks.acknowledge("A", through=date(2025, 1, 14))
    marks.snooze("B", until=date(2025, 1, 20))
    again = AlertMarks(tmp_path, user="ann@example.com")  # a restart: read back from the file
    assert [e["status"] for e in again.with_status(entries, today)] == ["acknowledged", "new", "snoozed"]
    assert again.unread(entries, today) == 1
    assert again.status(entries[2], date(2025, 1, 20)) == "new"  # the snooze is over
    # a newer alert for A is new again
    later = combine_alerts(FOUND + [{"account_id": "A", "alert": "new_save", "date": "2025-01-21"}])
    assert again.status(later[0], date(2025, 1, 22)) == "new"
    again.clear("A")
    assert again.status(entries[0], today) == "new"


def test_acknowledge_never_moves_back(tmp_path):
    marks = AlertMarks(tmp_path)
    marks.acknowledge("A", date(2025, 1, 14))
    marks.acknowledge("A", date(2025, 1, 7))
    assert marks.load()["A"].acknowledged == date(2025, 1, 14)


def test_marks_are_per_user(tmp_path):
    ann, bob = AlertMarks(tmp_path, "ann@example.com"), AlertMarks(tmp_path, "bob@example.com")
    ann.acknowledge("A", date(2025, 1, 14))
    assert bob.load() == {} and ann.path != bob.path
    bob.path.write_bytes(ann.path.read_bytes())  # a file copied over another user's
    with pytest.raises(MarksError, match="belong to another user"):
        bob.load()


@pytest.mark.parametrize("content, words", [
    ("not json", "not the JSON this app writes"),
    (json.dumps({"format": 99, "owner": "", "marks": {}}), "not in a format"),
    (json.dumps({"format": 1, "owner": "", "marks": {"A": {"acknowledged": "../../etc"}}}), "not a date"),
    (json.dumps({"format": 1, "owner": "", "marks": ["A"]}), "not a table"),
])
def test_a_tampered_file_is_named_never_used(tmp_path, content, words):
    marks = AlertMarks(tmp_path)
    marks.path.write_text(content)
    with pytest.raises(MarksError, match=words):
        marks.load()


def test_marks_folder_checks_the_dataset_id(tmp_path):
    assert marks_folder(tmp_path, "sample") == tmp_path / "datasets" / "sample" / "alert_marks"
    with pytest.raises(MarksError, match="not a dataset id"):
        marks_folder(tmp_path, "../../etc")


def _ack_many(folder: str, start: int) -> None:
    marks = AlertMarks(folder, "ann@example.com")
    for i in range(start, start + 20):
        marks.acknowledge(f"ACC-{i:03d}", date(2025, 1, 14))


def test_two_sessions_writing_at_once_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_ack_many, args=(str(tmp_path), k * 20)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert len(AlertMarks(tmp_path, "ann@example.com").load()) == 60
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left behind


def test_doctests():
    import doctest

    import riskcore.inbox as module
    assert doctest.testmod(module).failed == 0
