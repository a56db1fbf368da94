"""URL parameters (riskcore.urlstate) and server-side drafts (riskcore.drafts): a query parameter is user
input, read against what is allowed now; a stored record is data, checked field by field."""

from __future__ import annotations

import doctest
import json
import os
import time
from datetime import date
from pathlib import Path

import pytest

from riskcore import drafts, urlstate as us
from riskcore.db import Mapping
from riskcore.drafts import Dataset, DraftError, DraftStore, Record


def test_doctests():
    assert doctest.testmod(us).failed == 0


HOSTILE = ["<script>alert(1)</script>", "../../etc/passwd", "", " ", "\x00", "v1; DROP TABLE x", "1e309",
           "-1", "9" * 40, "%00", "[x](http://e.com)", "é" * 5000]


@pytest.mark.parametrize("param", [
    us.One("dim", "churn", ("churn", "payment")),
    us.Many("tier", (), ("low", "medium", "high")),
    us.Day("as_of", None, date(2026, 1, 1), date(2026, 6, 30)),
    us.Whole("renews", None, 0, 3650),
    us.Flag("parents", False),
    us.RuleSet("rules", us.PUBLISHED, (1, 2)),
], ids=lambda p: p.name)
def test_hostile_values_are_ignored(param):
    for v in HOSTILE:
        assert param.read([v]) is None, v
    assert param.read([]) is None


def test_values_round_trip_through_the_url():
    cases = [(us.One("dim", "churn", ("churn", "payment")), "payment"),
             (us.Many("tier", (), ("low", "medium", "high")), ("high", "low")),
             (us.Day("as_of", None, date(2026, 1, 1), date(2026, 6, 30)), date(2026, 2, 28)),
             (us.Whole("renews", None, 0, 3650), 90), (us.Flag("parents", False), True),
             (us.RuleSet("rules", us.PUBLISHED, (1, 2)), 2), (us.RuleSet("rules", us.PUBLISHED, (1, 2)), us.DRAFT),
             (us.Text("q", ""), "Acme & Söhne <GmbH>")]
    for param, value in cases:
        assert param.read(param.write(value)) == value, param.name
        assert param.check(value) == value


def test_defaults_are_not_written():
    assert us.One("dim", "churn", ("churn", "payment")).write("churn") is None
    assert us.RuleSet("rules", us.PUBLISHED, (1, 2)).write(us.PUBLISHED) is None
    assert us.Many("tier", (), ("high",)).write(()) is None
    assert us.Text("q", "").write("") is None and us.Flag("p", False).write(False) is None


def test_kept_values_are_checked_against_what_is_allowed_now():
    assert us.Many("owner", (), ("Ann", "Bo")).check(("Ann", "Cy")) == ("Ann",)  # Cy is not in this data
    assert us.RuleSet("rules", us.PUBLISHED, (1,)).check(3) is None               # v3 does not exist here
    assert us.Day("as_of", None, date(2026, 1, 1), date(2026, 6, 30)).check(date(2027, 1, 1)) is None
    assert us.One("dim", "churn", ("churn",)).check("fraud") is None


def test_text_loses_control_characters_and_length():
    assert us.Text("q", "").read(["a\x00b\nc"]) == "abc"
    assert len(us.Text("q", "").read(["x" * 10_000])) == us.MAX_TEXT


def test_dataset_names_only_an_upload_copy_or_a_checked_path(tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    copy = uploads / "telco-0123456789abcdef.csv"
    copy.write_text("a,b\n1,2\n")
    allowed = tmp_path / "data"
    allowed.mkdir()
    (allowed / "x.csv").write_text("a\n1\n")

    def check(text):  # the Data page's check: inside the allowed root, else None
        p = Path(text).resolve()
        return p if p.is_relative_to(allowed) else None

    assert us.read_dataset([f"upload:{copy.name}"], uploads, check) == str(copy)
    assert us.read_dataset([f"path:{allowed / 'x.csv'}"], uploads, check) == str(allowed / "x.csv")
    for bad in ("upload:../uploads/telco-0123456789abcdef.csv", "upload:telco.csv", "upload:missing-0123456789abcdef.csv",
                "path:/etc/passwd", f"path:{allowed / 'missing.csv'}", f"path:{allowed}/../uploads/{copy.name}",
                "/etc/passwd", "upload:", "path:", "sample\x00"):
        assert us.read_dataset([bad], uploads, check) is None, bad
    assert us.read_dataset(["sample"], uploads, check) == ""
    assert us.dataset_param(str(copy), "", uploads) == [f"upload:{copy.name}"]
    assert us.read_dataset(us.dataset_param(str(allowed / "x.csv"), "", uploads), uploads, check) == \
        str(allowed / "x.csv")


# ---- drafts ----------------------------------------------------------------------------------

DID = "A" * 22


def test_a_draft_record_round_trips(tmp_path):
    store = DraftStore(tmp_path)
    record = Record(owner="", draft="name = 'x'\n", datasets={
        "upload:t-0123456789abcdef.csv": Dataset("t.csv", Mapping(id_column="customerID", outcome_column="Churn",
                                                                  outcome_positive=("Yes",)))})
    store.save(DID, record)
    assert store.load(DID) == record
    assert store.load("B" * 22) is None  # an unknown id is nothing, not an error


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 21, "A" * 23, "AAAA.json", "", None, "A" * 21 + "/"])
def test_a_draft_id_never_forms_a_path(tmp_path, bad):
    with pytest.raises(DraftError):
        DraftStore(tmp_path).load(bad)


@pytest.mark.parametrize("content, words", [
    ("not json", "not the JSON"),
    (json.dumps({"format": 99}), "format"),
    (json.dumps([1, 2]), "format"),
    (json.dumps({"format": 1, "draft": {"rules": []}}), "rule set is not text"),
    (json.dumps({"format": 1, "datasets": {"x": {"label": "x", "mapping": {"id_column": ["a"]}}}}), "column 'id_column'"),
    (json.dumps({"format": 1, "datasets": {"x": {"label": "x", "mapping": {"outcome_positive": "Yes"}}}}),
     "outcome values"),
    (json.dumps({"format": 1, "datasets": {"x": "y"}}), "datasets"),
    (json.dumps({"format": 1, "owner": "eve@example.com"}), "another user"),
])
def test_a_malformed_or_foreign_record_is_refused_with_a_reason(tmp_path, content, words):
    (tmp_path / f"{DID}.json").write_text(content)
    with pytest.raises(DraftError, match=words) as e:
        DraftStore(tmp_path).load(DID, owner="")
    assert "Error" not in str(e.value) and "Traceback" not in str(e.value)


def test_a_huge_record_is_not_read(tmp_path):
    (tmp_path / f"{DID}.json").write_text(" " * (drafts.MAX_BYTES + 1))
    with pytest.raises(DraftError, match="larger"):
        DraftStore(tmp_path).load(DID)


def test_old_records_are_pruned_when_a_new_one_is_made(tmp_path):
    store = DraftStore(tmp_path)
    store.save(DID, Record(draft="a"))
    old = time.time() - (drafts.MAX_AGE_DAYS + 1) * 86400
    os.utime(tmp_path / f"{DID}.json", (old, old))
    store.save("C" * 22, Record(draft="b"))
    assert not (tmp_path / f"{DID}.json").exists() and store.load("C" * 22).draft == "b"
