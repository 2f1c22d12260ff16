"""kithctl: every command, both through a running kithd (admin socket) and
on the stopped database, with their error cases."""

import os
import socket
import stat
import struct

import pytest

from conftest import parse_communities, parse_users, run_ctl, write_config


def ok(r, *want):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    for w in want:
        assert w in r.stdout, f"{w!r} not in stdout:\n{r.stdout}"
    return r.stdout


def fails(r, *want):
    assert r.returncode == 1, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    for w in want:
        assert w in r.stderr, f"{w!r} not in stderr:\n{r.stderr}"
    return r.stderr


@pytest.fixture(params=["running", "stopped"])
def instance(request, make_kithd):
    """An initialised instance, with kithd running or not."""
    k = make_kithd()
    if request.param == "running":
        k.start()
        assert k.admin_sock.exists()
    else:
        out = ok(k.ctl("init"), "admin account: admin", "password: ")
        assert str(k.data_dir) in out
        assert not k.admin_sock.exists()
    k.mode = request.param
    return k


def test_every_command(instance):
    k = instance
    running = k.mode == "running"

    out = ok(k.ctl("stats"), "users:           1 (0 pending, 0 suspended, 1 admins)",
             "communities:     0")
    assert ("kithd:           running" in out) == running
    assert ("kithd:           not running" in out) == (not running)
    assert ("writer:" in out) == running  # only kithd's own writer has statistics

    # ---- user add
    out = ok(k.ctl("user", "add", "alice", "--password-stdin", input="correct horse\n"),
             "added user 'alice'")
    assert "password:" not in out
    out = ok(k.ctl("user", "add", "bob"), "added user 'bob'\n", "password: ")
    generated = out.split("password: ")[1].strip()
    assert len(generated) >= 16
    ok(k.ctl("user", "add", "Carol_2", "--admin", "--password-stdin", input="pw-carol-123\r\n"),
       "added user 'Carol_2' (admin)")
    fails(k.ctl("user", "add", "ALICE"), "name 'ALICE' is already taken by a user")
    fails(k.ctl("user", "add", "bad-name"), "invalid name 'bad-name'")
    fails(k.ctl("user", "add", "x" * 31), "invalid name", "longer than 30")
    ok(k.ctl("user", "add", "y" * 30), "added user")
    fails(k.ctl("user", "add", "actor"), "reserved")
    fails(k.ctl("user", "add", "dave", "--password-stdin", input="short\n"),
          "password is shorter than 8 characters")
    fails(k.ctl("user", "add", "dave", "--password-stdin", input=""),
          "no password on standard input")
    fails(k.ctl("user", "add", "dave", "--password-stdin", input="p" * 257 + "\n"),
          "password is longer than 256 characters")
    ok(k.ctl("user", "add", "dave", "--password-stdin", input="p" * 256 + "\n"), "added user")
    fails(k.ctl("user", "add", "erin", "--bogus"), "unknown option")
    fails(k.ctl("user"), "user needs a subcommand")
    fails(k.ctl("user", "add"), "needs a NAME")

    users = parse_users(ok(k.ctl("user", "list")))
    assert users == {
        "admin": ("admin", "active"),
        "alice": ("user", "active"),
        "bob": ("user", "active"),
        "Carol_2": ("admin", "active"),
        "y" * 30: ("user", "active"),
        "dave": ("user", "active"),
    }
    fails(k.ctl("user", "list", "extra"), "takes no arguments")

    # ---- user password
    ok(k.ctl("user", "password", "alice", "--password-stdin", input="another secret\n"),
       "changed the password of 'alice'")
    out = ok(k.ctl("user", "password", "bob"), "changed the password of 'bob'", "password: ")
    assert out.split("password: ")[1].strip() != generated
    fails(k.ctl("user", "password", "nobody", "--password-stdin", input="long enough\n"),
          "unknown user 'nobody'")
    fails(k.ctl("user", "password", "alice", "--password-stdin", input="short\n"),
          "shorter than 8")

    # ---- user role
    ok(k.ctl("user", "role", "alice", "moderator"), "role: done for 'alice'")
    fails(k.ctl("user", "role", "alice", "king"), "role must be admin, moderator or user")
    fails(k.ctl("user", "role", "ghost", "admin"), "unknown user 'ghost'")
    fails(k.ctl("user", "role", "alice"), "user role takes NAME")

    # ---- suspend / unsuspend
    ok(k.ctl("user", "suspend", "alice"), "suspend: done for 'alice'")
    assert parse_users(ok(k.ctl("user", "list")))["alice"] == ("moderator", "suspended")
    fails(k.ctl("user", "suspend", "alice"), "user 'alice' is already suspended")
    fails(k.ctl("community", "add", "nope", "--owner", "alice"), "user 'alice' is not active")
    ok(k.ctl("user", "unsuspend", "ALICE"), "unsuspend: done for 'ALICE'")
    fails(k.ctl("user", "unsuspend", "alice"), "user 'alice' is not suspended")
    fails(k.ctl("user", "suspend", "ghost"), "unknown user 'ghost'")
    fails(k.ctl("user", "unsuspend", "ghost"), "unknown user 'ghost'")

    # ---- approve / reject: only pending users (the CLI creates active ones)
    fails(k.ctl("user", "approve", "bob"), "user 'bob' is not awaiting approval")
    fails(k.ctl("user", "reject", "bob"), "user 'bob' is not awaiting approval")
    fails(k.ctl("user", "approve", "ghost"), "unknown user 'ghost'")
    fails(k.ctl("user", "reject", "ghost"), "unknown user 'ghost'")
    fails(k.ctl("user", "approve", "bob", "extra"), "too many arguments")
    fails(k.ctl("user", "frobnicate", "bob"), "unknown user subcommand")

    # ---- community add / list
    ok(k.ctl("community", "add", "Lobby", "--owner", "alice", "--title", "The Lobby"),
       "added community 'Lobby' owned by 'alice'")
    ok(k.ctl("community", "add", "c4", "--owner=bob", "--title=Title four"),
       "added community 'c4' owned by 'bob'")
    ok(k.ctl("community", "add", "c5", "--owner", "Carol_2"), "added community 'c5'")
    ok(k.ctl("community", "add", "utf8", "--owner", "bob", "--title", "Café ☕ — ünïcode"))
    fails(k.ctl("community", "add", "lobby", "--owner", "bob"),
          "name 'lobby' is already taken by a community")
    fails(k.ctl("community", "add", "Alice", "--owner", "bob"),
          "name 'Alice' is already taken by a user")
    fails(k.ctl("user", "add", "LOBBY"), "name 'LOBBY' is already taken by a community")
    fails(k.ctl("community", "add", "c6", "--owner", "ghost"), "unknown user 'ghost'")
    fails(k.ctl("community", "add", "c6"), "needs --owner USER")
    fails(k.ctl("community", "add", "bad.name", "--owner", "bob"), "invalid name 'bad.name'")
    fails(k.ctl("community", "add", "c6", "--owner", "bob", "--title", "x" * 101),
          "title is longer than 100")
    fails(k.ctl("community", "add", "c6", "--owner", "bob", "--title", "a\tb"),
          "control character")
    fails(k.ctl("community", "add", "c6", "--owner", "bob", "--frob"), "unknown option")
    fails(k.ctl("community", "frob"), "unknown community subcommand")
    fails(k.ctl("community", "list", "extra"), "takes no arguments")

    comms = parse_communities(ok(k.ctl("community", "list")))
    assert comms == {
        "Lobby": ("alice", "The Lobby"),
        "c4": ("bob", "Title four"),
        "c5": ("Carol_2", "c5"),  # no --title: the name
        "utf8": ("bob", "Café ☕ — ünïcode"),
    }

    out = ok(k.ctl("stats"), "users:           6 (0 pending, 0 suspended, 2 admins)",
             "communities:     4", "schema version 1")

    # ---- general errors
    fails(k.ctl("frobnicate"), "unknown command 'frobnicate'", "usage:")
    fails(k.ctl(), "no command given")
    fails(k.ctl("stats", "extra"), "stats takes no arguments")
    fails(k.ctl("backup"), "backup takes one DEST")
    r = k.ctl("--bogus-option", "stats")
    assert r.returncode == 1 and "unknown option '--bogus-option'" in r.stderr

    # ---- commands that need kithd stopped
    if running:
        fails(k.ctl("migrate"), "stop it first")
        fails(k.ctl("init"), "stop it first")
        fails(k.ctl("restore", str(k.root / "whatever")), "stop it first")
    else:
        ok(k.ctl("migrate"), "schema is at version 1: nothing to do")
        fails(k.ctl("init"), "already initialised")
        fails(k.ctl("migrate", "extra"), "migrate takes no arguments")
        fails(k.ctl("restore"), "restore takes one SRC")

    # ---- backup (absolute and relative DEST) and its error case
    dest = k.root / "bk-abs"
    ok(k.ctl("backup", str(dest)), f"backup written to '{dest}'")
    assert (dest / "db" / "data.mdb").is_file()
    assert "kith backup" in (dest / "kith-backup.txt").read_text()
    # Backups hold password hashes: private like the data directory.
    for path, mode in ((dest, 0o700), (dest / "db", 0o700), (dest / "db" / "data.mdb", 0o600),
                       (dest / "kith-backup.txt", 0o600)):
        assert stat.S_IMODE(os.stat(path).st_mode) == mode, path
    ok(k.ctl("backup", "bk-rel", cwd=k.root), "backup written to")
    assert (k.root / "bk-rel" / "db" / "data.mdb").is_file()
    fails(k.ctl("backup", str(dest)), "cannot create backup directory", "File exists")

    if running:
        assert "stopped cleanly" not in k.stderr()
        k.stop()
        assert "stopped cleanly" in k.stderr()


def test_writes_cross_between_online_and_offline(make_kithd):
    k = make_kithd()
    k.start()
    ok(k.ctl("user", "add", "online_user", "--password-stdin", input="password-1\n"))
    ok(k.ctl("community", "add", "online_c", "--owner", "online_user", "--title", "Online"))
    ok(k.ctl("user", "suspend", "online_user"))
    k.stop()

    # Written through kithd, read from the database directly.
    assert "not running" in ok(k.ctl("stats"))
    assert parse_users(ok(k.ctl("user", "list")))["online_user"] == ("user", "suspended")
    assert parse_communities(ok(k.ctl("community", "list"))) == {
        "online_c": ("online_user", "Online")}

    ok(k.ctl("user", "unsuspend", "online_user"))
    ok(k.ctl("user", "add", "offline_user", "--admin", "--password-stdin", input="password-2\n"))
    ok(k.ctl("community", "add", "offline_c", "--owner", "offline_user", "--title", "Offline"))

    # Written offline, read through kithd.
    k.start()
    assert "kithd:           running" in ok(k.ctl("stats"))
    users = parse_users(ok(k.ctl("user", "list")))
    assert users["online_user"] == ("user", "active")
    assert users["offline_user"] == ("admin", "active")
    assert parse_communities(ok(k.ctl("community", "list"))) == {
        "online_c": ("online_user", "Online"),
        "offline_c": ("offline_user", "Offline"),
    }
    # The same through the raw admin socket protocol.
    st, out, err = k.admin("community", "list")
    assert st == 0 and err == ""
    assert set(parse_communities(out)) == {"online_c", "offline_c"}
    k.stop()


def test_admin_socket_mode_and_lifetime(make_kithd):
    k = make_kithd()
    k.start()
    st = os.stat(k.admin_sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.getuid()
    k.stop()
    assert not k.admin_sock.exists(), "admin.sock left behind after a clean stop"
    # Nothing listening: kithctl works offline.
    assert "not running" in ok(k.ctl("stats"))


def test_admin_socket_rejects_malformed_requests(kithd):
    def raw(payload):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(15)
            s.connect(str(kithd.admin_sock))
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:  # closed with our bytes unread
                    return data
                if not chunk:
                    return data
                data += chunk

    u32 = lambda n: struct.pack(">I", n)  # noqa: E731
    assert raw(b"NOTKITH!" + u32(1) + u32(5) + b"stats" + u32(0)) == b""
    assert raw(b"KITHADM1" + u32(0) + u32(0)) == b""
    assert raw(b"KITHADM1" + u32(65)) == b""  # more than 64 arguments
    assert raw(b"KITHADM1" + u32(1) + u32(5) + b"st\0ts" + u32(0)) == b""  # NUL in an argument
    assert raw(b"KITHADM1" + u32(1) + u32(5000) + b"x" * 5000 + u32(0)) == b""  # > 4 KiB
    assert raw(b"KITHADM1" + u32(1) + u32(5) + b"sta") == b""  # truncated
    # A well-formed one still works, and so does the server.
    data = raw(b"KITHADM1" + u32(1) + u32(5) + b"stats" + u32(0))
    status, n = struct.unpack(">II", data[:8])
    assert status == 0 and b"kithd:           running" in data[8:8 + n]
    assert kithd.http("GET", "/health").status == 200
    kithd.stop()


def test_kithctl_without_instance_or_with_bad_config(tmp_path):
    cfg = write_config(tmp_path / "kith.conf", ["data_dir = nothing-here"])
    for args in (["stats"], ["user", "list"], ["community", "list"], ["migrate"]):
        r = run_ctl(cfg, *args)
        assert r.returncode == 1, (args, r.stderr)
        assert r.stderr.startswith("kithctl: "), r.stderr
    bad = write_config(tmp_path / "bad.conf", ["nonsense = 1"])
    r = run_ctl(bad, "stats")
    assert r.returncode == 2
    assert r.stderr.strip() == f"kithctl: {bad}:1: unknown key 'nonsense'"
