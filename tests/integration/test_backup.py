"""Online backup under concurrent writes, restore into a fresh and into an
existing data directory, and the error cases."""

import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import AdminLoad, KITHCTL, parse_communities, parse_users, write_config


def communities_offline(k):
    r = k.ctl("community", "list")
    assert r.returncode == 0, r.stderr
    return parse_communities(r.stdout)


def test_online_backup_under_writes_then_restore(make_kithd):
    src = make_kithd("src")
    src.start()
    for i in range(20):
        st, _, err = src.admin("community", "add", f"seed{i:02d}", "--owner", "admin",
                               "--title", f"Seed {i}")
        assert st == 0, err

    load = AdminLoad(src.admin_sock, threads=6, prefix="w", extra_users_every=25).start()
    try:
        # Let the writes get going, then back up in the middle of them.
        deadline = time.monotonic() + 20
        while load.count_acked() < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert load.count_acked() >= 40, "the load did not get going"
        dest = src.root / "backup-1"
        backup_started = time.monotonic()
        r = subprocess.run([str(KITHCTL), "-c", str(src.config), "backup", str(dest)],
                           capture_output=True, text=True, timeout=120)
        backup_done = time.monotonic()
        assert r.returncode == 0, r.stderr
        assert f"backup written to '{dest}'" in r.stdout
        time.sleep(0.2)  # some writes after the backup too
    finally:
        load.stop()

    acked_before = load.acked(before=backup_started)
    acked_all = load.acked()
    assert not load.errors, load.errors
    assert len(acked_before) >= 40
    assert len(acked_all) > len(acked_before)  # writes went on during and after
    assert all(st == 0 for st, _, _ in load.results.values()), \
        [(n, e) for n, (st, _, e) in load.results.items() if st != 0][:5]
    manifest = (dest / "kith-backup.txt").read_text()
    assert manifest.startswith("kith backup\n") and "schema_version = 1" in manifest

    src.stop()
    final_src = communities_offline(src)

    # ---- restore into a fresh data directory
    fresh = make_kithd("fresh")
    assert not fresh.data_dir.exists()
    r = fresh.ctl("restore", str(dest))
    assert r.returncode == 0, r.stderr
    assert f"restored '{dest}' into '{fresh.data_dir}'" in r.stdout
    assert "kept in" not in r.stdout
    fresh.start()
    assert "password" not in fresh.stdout()  # not a new instance
    restored = parse_communities(fresh.admin("community", "list")[1])
    users = parse_users(fresh.admin("user", "list")[1])
    # The restored instance takes new writes; they do not collide with old ids.
    st, _, err = fresh.admin("community", "add", "post_restore", "--owner", "admin")
    assert st == 0, err
    assert len(parse_communities(fresh.admin("community", "list")[1])) == len(restored) + 1
    fresh.stop()

    names = set(restored)
    for i in range(20):
        assert restored[f"seed{i:02d}"] == ("admin", f"Seed {i}")
    acked_comms = {n for n in acked_before if n.startswith("w")}
    acked_users = {n for n in acked_before if n.startswith("u")}
    missing = sorted(acked_comms - names)
    assert not missing, f"{len(missing)} communities acknowledged before the backup are " \
                        f"missing from it: {missing[:10]}"
    assert acked_users <= set(users)
    # Nothing invented; titles intact; nothing acknowledged only after the
    # backup had finished can be in it.
    for n, (owner, title) in restored.items():
        if n.startswith("w"):
            assert (owner, title) == ("admin", load.title(n)), n
    after = {n for n, (st, t, _) in load.results.items() if st == 0 and
             load.sent_at[n] > backup_done and n.startswith("w")}
    assert not (after & names)
    assert names <= set(final_src)

    # ---- restore over the existing (newer) data directory
    r = src.ctl("restore", str(dest))
    assert r.returncode == 0, r.stderr
    assert "the database it replaced is kept in" in r.stdout
    kept = sorted(src.data_dir.glob("db.before-restore-*"))
    assert len(kept) == 1 and (kept[0] / "data.mdb").is_file()
    assert kept[0].name in r.stdout
    assert not (src.data_dir / "db.restoring").exists()
    assert communities_offline(src) == restored
    src.start()
    assert parse_communities(src.admin("community", "list")[1]) == restored
    src.stop()

    # The database that was replaced is intact: open a copy of it.
    old = make_kithd("old")
    (old.data_dir / "db").mkdir(parents=True)
    shutil.copy(kept[0] / "data.mdb", old.data_dir / "db" / "data.mdb")
    assert communities_offline(old) == final_src


def test_backup_errors(make_kithd):
    k = make_kithd()
    k.start()
    dest = k.root / "exists"
    dest.mkdir()
    r = k.ctl("backup", str(dest))
    assert r.returncode == 1
    assert "cannot create backup directory" in r.stderr and "File exists" in r.stderr
    # DEST's parent missing.
    r = k.ctl("backup", str(k.root / "no" / "such" / "dir"))
    assert r.returncode == 1 and "cannot create backup directory" in r.stderr
    k.stop()
    r = k.ctl("backup", str(dest))
    assert r.returncode == 1 and "File exists" in r.stderr


def test_restore_errors(make_kithd):
    k = make_kithd()
    k.start()
    st, _, _ = k.admin("community", "add", "keepme", "--owner", "admin")
    assert st == 0
    good = k.root / "good-backup"
    assert k.ctl("backup", str(good)).returncode == 0
    r = k.ctl("restore", str(good))
    assert r.returncode == 1 and "stop it first" in r.stderr
    k.stop()

    before = sorted(p.name for p in k.data_dir.iterdir())
    not_backup = k.root / "not-a-backup"
    not_backup.mkdir()
    (not_backup / "hello.txt").write_text("hi")
    r = k.ctl("restore", str(not_backup))
    assert r.returncode == 1
    assert "is not a kith backup" in r.stderr

    r = k.ctl("restore", str(k.root / "does-not-exist"))
    assert r.returncode == 1 and "is not a kith backup" in r.stderr

    garbage = k.root / "garbage-backup"
    (garbage / "db").mkdir(parents=True)
    (garbage / "db" / "data.mdb").write_bytes(b"\0junk" * 5000)
    r = k.ctl("restore", str(garbage))
    assert r.returncode == 1
    assert "not a readable kith database" in r.stderr

    # Failed restores leave the data directory as it was.
    assert sorted(p.name for p in k.data_dir.iterdir()) == before
    assert "keepme" in communities_offline(k)


def test_two_restores_in_the_same_second(make_kithd):
    k = make_kithd()
    assert k.ctl("init").returncode == 0
    bk = k.root / "bk"
    assert k.ctl("backup", str(bk)).returncode == 0
    # Occupy the names a restore in the next few seconds would pick, as an
    # earlier restore in the same second would have.
    # (Both with and without the final Z: see test_replaced_db_name_has_utc_suffix.)
    now = datetime.now(timezone.utc)
    for s in range(4):
        stamp = (now + timedelta(seconds=s)).strftime("%Y%m%dT%H%M%S")
        for name in (f"db.before-restore-{stamp}", f"db.before-restore-{stamp}Z"):
            d = k.data_dir / name
            d.mkdir()
            (d / "data.mdb").write_bytes(b"earlier")
    r = k.ctl("restore", str(bk))
    assert r.returncode == 0, r.stderr


def test_replaced_db_name_has_utc_suffix(make_kithd):
    k = make_kithd()
    assert k.ctl("init").returncode == 0
    bk = k.root / "bk"
    assert k.ctl("backup", str(bk)).returncode == 0
    r = k.ctl("restore", str(bk))
    assert r.returncode == 0, r.stderr
    kept = [p.name for p in k.data_dir.glob("db.before-restore-*")]
    assert len(kept) == 1
    assert re.fullmatch(r"db\.before-restore-\d{8}T\d{6}Z", kept[0]), kept[0]


def test_restore_with_relative_config_paths(tmp_path):
    """data_dir relative to the config file, kithctl run from elsewhere."""
    (tmp_path / "conf").mkdir()
    cfg = write_config(tmp_path / "conf" / "kith.conf", ["data_dir = ../rel-data"])
    r = subprocess.run([str(KITHCTL), "-c", str(cfg), "init"], capture_output=True, text=True,
                       cwd="/")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rel-data" / "db" / "data.mdb").is_file()
    r = subprocess.run([str(KITHCTL), "-c", str(cfg), "backup", "bk"], capture_output=True,
                       text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "bk" / "db" / "data.mdb").is_file()
