import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from riskcore.versions import Library, VersionStore


def test_save_publish_list_diff(tmp_path):
    vs = VersionStore(tmp_path)
    assert vs.versions() == [] and vs.published() is None
    a = vs.save('name = "x"\npoints = 1\n', note="first", author="ana")
    b = vs.save('name = "x"\npoints = 2\n', note="second")
    assert (a, b) == (1, 2)
    assert [v.note for v in vs.versions()] == ["first", "second"]
    vs.publish(2)
    assert VersionStore(tmp_path).published() == 2
    d = vs.diff(1, 2)
    assert "-points = 1" in d and "+points = 2" in d
    with pytest.raises(KeyError):
        vs.publish(7)
    with pytest.raises(KeyError):
        vs.text(3)


@pytest.mark.parametrize("where", ["", "datasets/telco_csv-0123456789ab"])  # a single store; one dataset's
def test_kill_mid_save_leaves_previous_versions(tmp_path, where):
    tmp_path = tmp_path / where
    vs = VersionStore(tmp_path)
    vs.save('name = "keep"\n', note="v1")
    vs.publish(1)
    # A writer that saves huge versions in a loop; SIGKILL it while it writes.
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {os.getcwd()!r})
        from riskcore.versions import Library, VersionStore
        vs = VersionStore({str(tmp_path)!r})
        print("ready", flush=True)
        while True:
            vs.save("x = '" + "a" * 20_000_000 + "'\\n", note="big")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    import time
    time.sleep(0.6)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    again = VersionStore(tmp_path)
    index = json.loads((tmp_path / "index.json").read_text())
    assert again.published() == 1
    assert again.text(1) == 'name = "keep"\n'
    for v in index["versions"]:  # every indexed version is whole
        assert again.text(v["number"]).endswith("\n")


def test_concurrent_saves_get_distinct_numbers(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    vs = VersionStore(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(lambda i: VersionStore(tmp_path).save(f"v = {i}\n", note=str(i)), range(40)))
    assert sorted(numbers) == list(range(1, 41))
    assert {vs.text(n) for n in numbers} == {f"v = {i}\n" for i in range(40)}


# ---- versions per dataset (riskcore.versions.Library) ----------------------------------------------

def test_publishing_for_one_dataset_leaves_the_others(tmp_path):
    lib = Library(tmp_path)
    sample, telco = lib.versions("sample"), lib.versions("telco_csv-0123456789ab")
    sample.publish(sample.save('name = "default"\n', note="default"))
    a = telco.save('name = "starter"\n', note="starter")
    b = telco.save('name = "starter"\nx = 1\n', note="starter 2")
    telco.publish(b)
    again = Library(tmp_path)  # what another process sees
    assert again.versions("sample").published() == 1 and again.versions("sample").text(1) == 'name = "default"\n'
    assert [v.number for v in again.versions("sample").versions()] == [1]
    assert (a, b) == (1, 2) and again.versions("telco_csv-0123456789ab").published() == 2
    assert (tmp_path / "datasets" / "telco_csv-0123456789ab" / "v0002.toml").read_text() == 'name = "starter"\nx = 1\n'


def test_names_are_unique_and_kept(tmp_path):
    lib = Library(tmp_path)
    first = lib.register("telco_csv-aaaaaaaaaaaa", "telco.csv", "/up/telco-1.csv")
    second = lib.register("telco_csv-bbbbbbbbbbbb", "telco.csv", "/up/telco-2.csv")  # another file, same name
    third = lib.register("telco_csv-cccccccccccc", "telco.csv")
    assert (first.name, second.name, third.name) == ("telco.csv", "telco.csv (2)", "telco.csv (3)")
    assert lib.register("telco_csv-aaaaaaaaaaaa", "renamed.csv").name == "telco.csv"  # a known id keeps its name
    assert Library(tmp_path).dataset("telco_csv-bbbbbbbbbbbb").source == "/up/telco-2.csv"
    assert [d.id for d in Library(tmp_path).datasets()] == ["telco_csv-aaaaaaaaaaaa", "telco_csv-bbbbbbbbbbbb",
                                                            "telco_csv-cccccccccccc"]
    assert lib.dataset("nope") is None


@pytest.mark.parametrize("bad", ["", "../x", "Telco", "a/b", "x" * 81, ".hidden", None])
def test_dataset_ids_are_checked(tmp_path, bad):
    with pytest.raises(ValueError, match="dataset id"):
        Library(tmp_path).versions(bad)
    with pytest.raises(ValueError, match="dataset id"):
        Library(tmp_path).register(bad, "x")
    assert not (tmp_path / "datasets").exists() or not any((tmp_path / "datasets").iterdir())


def test_concurrent_registrations_get_distinct_names(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(lambda i: Library(tmp_path).register(f"d-{i:03d}", "export.csv").name, range(30)))
    assert sorted(names) == sorted(["export.csv"] + [f"export.csv ({n})" for n in range(2, 31)])
    assert len(Library(tmp_path).datasets()) == 30


def _legacy_root(root):
    """A rule-set home as written before datasets existed: two versions, v2 published, at the top."""
    vs = VersionStore(root)
    vs.save('name = "default"\n', note="default rule set", author="riskcore", name="default")
    vs.save('name = "default"\npoints = 33\n', note="usage matters more", author="ana")
    vs.publish(2)
    return json.loads((root / "index.json").read_text())


def test_old_versions_move_to_the_sample(tmp_path):
    index = _legacy_root(tmp_path)
    lib = Library(tmp_path)
    sample = lib.versions("sample")
    assert sample.published() == 2 and [v.note for v in sample.versions()] == ["default rule set", "usage matters more"]
    assert sample.text(2) == 'name = "default"\npoints = 33\n'
    assert json.loads((tmp_path / "datasets" / "sample" / "index.json").read_text()) == index
    assert not (tmp_path / "index.json").exists() and (tmp_path / "index.json.before-datasets").exists()
    assert lib.versions("telco_csv-0123456789ab").versions() == []  # another dataset starts empty
    sample.publish(1)
    assert Library(tmp_path).versions("sample").published() == 1  # opening again migrates nothing twice


def test_migration_interrupted_after_the_copy_keeps_the_copy(tmp_path):
    """A crash after the sample's index was written but before the old one was renamed: the next open
    keeps the sample's (possibly newer) versions and only retires the old index."""
    _legacy_root(tmp_path)
    Library(tmp_path).versions("sample").publish(1)  # the sample's versions move on after the copy
    (tmp_path / "index.json.before-datasets").replace(tmp_path / "index.json")  # as if the rename never ran
    assert Library(tmp_path).versions("sample").published() == 1  # not the old index's 2
    assert not (tmp_path / "index.json").exists()


def test_migration_interrupted_before_the_index_redoes_it(tmp_path):
    """A crash mid-copy (version files copied, no index yet): the old root is untouched and copied again."""
    _legacy_root(tmp_path)
    partial = tmp_path / "datasets" / "sample"
    partial.mkdir(parents=True)
    (partial / "v0001.toml").write_text("half")
    sample = Library(tmp_path).versions("sample")
    assert sample.published() == 2 and sample.text(1) == 'name = "default"\n'


def test_migration_skips_versions_whose_file_is_missing(tmp_path):
    _legacy_root(tmp_path)
    (tmp_path / "v0002.toml").unlink()
    sample = Library(tmp_path).versions("sample")
    assert [v.number for v in sample.versions()] == [1] and sample.published() is None


def test_dataset_ids_are_stable_and_never_shared_by_two_files(tmp_path):
    from riskcore.uploads import upload_path
    from riskcore.workspace import dataset_id, default_dataset_name
    one = upload_path("telco.csv", b"customerID,Churn\nA,Yes\n", tmp_path)
    two = upload_path("telco.csv", b"customerID,Churn\nB,No\n", tmp_path)  # same name, other content
    again = upload_path("telco.csv", b"customerID,Churn\nA,Yes\n", tmp_path)  # the same file uploaded again
    assert dataset_id(str(one)) != dataset_id(str(two)) and dataset_id(str(one)) == dataset_id(str(again))
    assert default_dataset_name(str(one)) == default_dataset_name(str(two)) == "telco.csv"
    assert dataset_id("") == "sample" and dataset_id(None) == "sample"
    for key in (str(one), "/srv/data/My Export (final).xlsx", "relative/folder", "/x/" + "é" * 90 + ".csv"):
        Library(tmp_path / "lib").versions(dataset_id(key))  # always a valid folder name
