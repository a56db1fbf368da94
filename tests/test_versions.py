import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from riskcore.versions import VersionStore


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


def test_kill_mid_save_leaves_previous_versions(tmp_path):
    vs = VersionStore(tmp_path)
    vs.save('name = "keep"\n', note="v1")
    vs.publish(1)
    # A writer that saves huge versions in a loop; SIGKILL it while it writes.
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {os.getcwd()!r})
        from riskcore.versions import VersionStore
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
