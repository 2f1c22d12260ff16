"""Crash safety: kill -9 under concurrent writes loses nothing that was
acknowledged."""

import time

from conftest import AdminLoad, parse_communities

CLIENTS = 16
ACKS_BEFORE_KILL = 300


def test_kill9_under_load_keeps_every_acknowledged_write(make_kithd):
    k = make_kithd()
    k.start()
    load = AdminLoad(k.admin_sock, threads=CLIENTS, prefix="c").start()
    try:
        deadline = time.monotonic() + 60
        while load.count_acked() < ACKS_BEFORE_KILL:
            assert time.monotonic() < deadline, f"only {load.count_acked()} acks in 60 s"
            assert k.running(), k.stderr()
            time.sleep(0.002)
        with load.lock:
            # Requests sent and not answered yet: in flight when the kill lands.
            in_flight = {n for n in load.sent_at if n not in load.results}
        k.kill9()
        killed_at = time.monotonic()
    finally:
        load.stop()
    assert k.proc.returncode == -9

    acked = load.acked()
    assert all(st == 0 for st, _, _ in load.results.values()), \
        [(n, r) for n, r in load.results.items() if r[0] != 0][:5]
    assert all(t <= killed_at + 0.5 for _, t, _ in load.results.values())
    assert len(acked) >= ACKS_BEFORE_KILL
    sent = set(load.sent_at)
    unacked = sent - acked
    assert in_flight, "nothing was in flight at the kill: the test proves little"

    # Straight after the crash, before any restart: the offline path ignores
    # the stale admin.sock (nothing listens) and the lock (died with kithd).
    assert k.admin_sock.exists()
    r = k.ctl("stats")
    assert r.returncode == 0 and "kithd:           not running" in r.stdout, r.stderr
    r = k.ctl("community", "list")
    assert r.returncode == 0, r.stderr
    at_crash = parse_communities(r.stdout)
    assert not sorted(acked - set(at_crash))[:1], "acknowledged communities lost"

    # Nor do they stop a restart.
    k.start()
    st, out, err = k.admin("community", "list")
    assert st == 0, err
    online = parse_communities(out)
    k.stop()

    r = k.ctl("community", "list")
    assert r.returncode == 0, r.stderr
    offline = parse_communities(r.stdout)
    assert offline == online == at_crash

    missing = sorted(acked - set(offline))
    assert not missing, f"{len(missing)} acknowledged communities lost: {missing[:20]}"
    for name, (owner, title) in offline.items():
        assert name in sent, f"{name} was never sent"
        assert (owner, title) == ("admin", load.title(name)), (name, owner, title)
    committed_unacked = sorted(set(offline) & unacked)
    print(f"\ncrash test: {len(sent)} sent, {len(acked)} acknowledged, "
          f"{len(in_flight)} in flight at the kill, {len(unacked)} unacknowledged, "
          f"{len(committed_unacked)} of those committed anyway, "
          f"{len(load.errors)} ended without a reply")

    # The database is healthy: it takes new writes and counts them.
    r = k.ctl("community", "add", "after_crash", "--owner", "admin", "--title", "after")
    assert r.returncode == 0, r.stderr
    r = k.ctl("stats")
    assert r.returncode == 0 and f"communities:     {len(offline) + 1}\n" in r.stdout, r.stdout
