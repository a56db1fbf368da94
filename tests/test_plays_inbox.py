"""The inbox helpers the Overview draws with (riskcore.inbox.status_counts, entry_text), on a hand-made
list of alerts as history.evaluate_alerts returns them."""

from __future__ import annotations

from datetime import date

from riskcore.inbox import AlertMarks, combine_alerts, entry_text, status_counts

FOUND = [
    {"account_id": "A", "alert": "score_jump", "date": "2025-01-07", "from": 10, "to": 40, "cause": "customer"},
    {"account_id": "B", "alert": "new_save", "date": "2025-01-07", "from": "Expand", "to": "Save"},
    {"account_id": "A", "alert": "tier_worse", "date": "2025-01-14", "from": "low", "to": "high", "cause": "rule_set"},
    {"account_id": "C", "alert": "score_jump", "date": "2025-01-14", "from": 20.0, "to": 47.5, "label": "Jumped"},
]


def test_status_counts_follow_the_marks(tmp_path):
    entries = combine_alerts(FOUND)  # A (01-14), C (01-14), B (01-07)
    marks = AlertMarks(tmp_path, user="lee@example.com")
    today = date(2025, 1, 15)
    assert status_counts(marks.with_status(entries, today)) == {"new": 3, "acknowledged": 0, "snoozed": 0}
    marks.acknowledge("A", through=date(2025, 1, 14))
    marks.snooze("B", until=date(2025, 1, 22))
    counted = status_counts(marks.with_status(entries, today))
    assert counted == {"new": 1, "acknowledged": 1, "snoozed": 1}
    assert counted["new"] == marks.unread(entries, today)
    assert status_counts(marks.with_status(entries, date(2025, 1, 22))) == {"new": 2, "acknowledged": 1,
                                                                             "snoozed": 0}
    assert status_counts([]) == {"new": 0, "acknowledged": 0, "snoozed": 0}


def test_entry_text_lists_each_alert_newest_first():
    a, c, b = combine_alerts(FOUND)
    labels = {"score_jump": "Score rose", "tier_worse": "Tier worse"}
    # A's newest alert is the entry's date (no date repeated); the older one carries its date
    assert entry_text(a, labels) == "Tier worse low → high (rule-set change); Score rose 10 → 40 (2025-01-07)"
    assert entry_text(b) == "new save Expand → Save"  # no label given: the id in words
    assert entry_text(c, {}) == "Jumped 20 → 47.5"     # the alert's own label; 20.0 shown as 20
