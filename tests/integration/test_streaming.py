"""The streaming API (issue 8): WebSocket on /api/v1/streaming (the token
by header, Sec-WebSocket-Protocol or query; streams by ?stream= or
subscribe messages) and server-sent events on /api/v1/streaming/user and
friends; update and notification events for the home timeline, public,
hashtag and list streams, each payload a full entity."""

import json
import socket
import time

import pytest
import websocket

from entities import check
from test_statuses import signup


@pytest.fixture
def k(kithd):
    return kithd


def ws_open(k, query="", token=None, header=True, protocol=None):
    url = f"ws://127.0.0.1:{k.port}/api/v1/streaming{query}"
    headers = [f"Authorization: Bearer {token}"] if token and header else []
    kw = {"subprotocols": [protocol]} if protocol else {}
    return websocket.create_connection(url, header=headers, timeout=10, **kw)


def next_event(ws, event=None, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        ws.settimeout(max(0.1, end - time.time()))
        msg = json.loads(ws.recv())
        if event is None or msg.get("event") == event:
            return msg
    raise AssertionError(f"no {event} event in {timeout}s")


def test_websocket_user_stream(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    bob_id = alice.req("GET", "/api/v1/accounts/lookup?acct=bob").json()["id"]
    alice.req("POST", f"/api/v1/accounts/{bob_id}/follow")
    ws = ws_open(k, "?stream=user", alice.token)
    s = bob.post("hello from bob")
    msg = next_event(ws, "update")
    assert msg["stream"] == ["user"]
    status = json.loads(msg["payload"])
    check("Status", status)
    assert status["id"] == s["id"]
    bob.post("@alice a mention")
    msg = next_event(ws, "notification")
    note = json.loads(msg["payload"])
    check("Notification", note)
    assert note["type"] == "mention" and note["account"]["username"] == "bob"
    ws.close()


def test_websocket_subscribe_messages_and_token_ways(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    # The token as the subprotocol, echoed back (as Mastodon's clients send it).
    ws = ws_open(k, token=alice.token, header=False, protocol=alice.token)
    assert ws.getsubprotocol().lower() == alice.token.lower()  # the library lowercases
    ws.send(json.dumps({"type": "subscribe", "stream": "public:local"}))
    ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "cats"}))
    time.sleep(0.3)
    s = bob.post("a #cats post")
    seen = {tuple(next_event(ws, "update")["stream"]) for _ in range(2)}
    assert seen == {("public:local",), ("hashtag", "cats")}
    ws.send(json.dumps({"type": "unsubscribe", "stream": "public:local"}))
    ws.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
    err = next_event(ws)
    assert "error" in err or err.get("event") == "error"
    ws.close()
    # The token in the query.
    ws = ws_open(k, f"?stream=public&access_token={alice.token}")
    bob.post("public again")
    assert json.loads(next_event(ws, "update")["payload"])["content"]
    ws.close()
    # No token, a bad one: refused before the upgrade.
    for bad in (None, "nope"):
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            ws_open(k, "?stream=public", bad)
        assert e.value.status_code == 401
    assert k.http("GET", "/api/v1/streaming/health").body == b"OK"


def test_deletions_are_streamed(k):
    """A deleted status, or an undone boost, comes as "delete" with the
    status id as the payload, on the streams that may have shown it."""
    alice, bob, carol = signup(k, "alice"), signup(k, "bob"), signup(k, "carol")
    bob_id = alice.req("GET", "/api/v1/accounts/lookup?acct=bob").json()["id"]
    alice.req("POST", f"/api/v1/accounts/{bob_id}/follow")
    home = ws_open(k, "?stream=user", alice.token)
    local = ws_open(k, "?stream=public:local", alice.token)
    s = bob.post("soon gone")
    assert json.loads(next_event(home, "update")["payload"])["id"] == s["id"]
    assert json.loads(next_event(local, "update")["payload"])["id"] == s["id"]
    # An edit: status.update with the status as it is now.
    assert bob.req("PUT", f"/api/v1/statuses/{s['id']}", {"status": "soon gone, edited"}).status == 200
    for ws in (home, local):
        msg = next_event(ws, "status.update")
        st = json.loads(msg["payload"])
        check("Status", st)
        assert st["id"] == s["id"] and "edited" in st["content"] and st["edited_at"], st
    bob.req("DELETE", f"/api/v1/statuses/{s['id']}")
    for ws, stream in ((home, ["user"]), (local, ["public:local"])):
        msg = next_event(ws, "delete")
        assert msg["stream"] == stream and msg["payload"] == s["id"], msg
    # An undone boost: its own id.
    c = carol.post("boost me")
    boost = bob.req("POST", f"/api/v1/statuses/{c['id']}/reblog").json()
    assert json.loads(next_event(home, "update")["payload"])["id"] == boost["id"]
    bob.req("POST", f"/api/v1/statuses/{c['id']}/unreblog")
    assert next_event(home, "delete")["payload"] == boost["id"]
    # Carol's followers-only status: nothing for alice, who does not follow her.
    hidden = carol.post("for my followers", visibility="private")
    carol.req("DELETE", f"/api/v1/statuses/{hidden['id']}")
    last = bob.post("last")
    bob.req("DELETE", f"/api/v1/statuses/{last['id']}")
    assert next_event(home, "delete")["payload"] == last["id"]
    home.close()
    local.close()


def test_direct_stream_sends_conversations(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    ws = ws_open(k, "?stream=direct", alice.token)
    dm = bob.post("@alice just between us", visibility="direct")
    msg = next_event(ws, "conversation")
    assert msg["stream"] == ["direct"]
    conv = json.loads(msg["payload"])
    check("Conversation", conv)
    assert conv["last_status"]["id"] == dm["id"] and conv["unread"] is True
    assert [a["username"] for a in conv["accounts"]] == ["bob"]
    # Public statuses do not come on it; the next message in the thread does.
    bob.post("@alice in public")
    again = bob.post("@alice still private", visibility="direct", in_reply_to_id=dm["id"])
    conv = json.loads(next_event(ws, "conversation")["payload"])
    assert conv["last_status"]["id"] == again["id"]
    ws.close()
    assert k.http("GET", "/api/v1/streaming/direct").status == 401


def test_websocket_close_is_answered(k):
    """RFC 6455 5.5.1: a close frame from the client gets one back, with
    its status code, before the connection ends."""
    alice = signup(k, "alice")
    for code in (1000, 4001):
        ws = ws_open(k, "?stream=user", alice.token)
        ws.send_close(websocket.STATUS_NORMAL if code == 1000 else code, b"")
        opcode, frame = ws.recv_data_frame(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(frame.data[:2], "big") == code
        ws.shutdown()


def test_server_sent_events(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    sock = socket.create_connection(("127.0.0.1", k.port), timeout=10)
    sock.sendall(f"GET /api/v1/streaming/public HTTP/1.1\r\nHost: x\r\n"
                 f"Authorization: Bearer {alice.token}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert b"200" in head.split(b"\r\n")[0] and b"text/event-stream" in head
    time.sleep(0.3)
    s = bob.post("for the event stream")
    data = head.split(b"\r\n\r\n", 1)[1]
    end = time.time() + 10
    while b"event: update" not in data and time.time() < end:
        data += sock.recv(65536)
    assert b"event: update" in data and s["id"].encode() in data
    # A deletion: the id as the data (chunked: the event is inside a chunk).
    bob.req("DELETE", f"/api/v1/statuses/{s['id']}")
    want = f"event: delete\ndata: {s['id']}\n\n".encode()
    while want not in data and time.time() < end + 10:
        data += sock.recv(65536)
    assert want in data, data[-300:]
    sock.close()
    # The stream ends cleanly when the client goes; the server keeps serving.
    time.sleep(0.3)
    assert k.http("GET", "/api/v1/streaming/health").status == 200


def test_list_stream_and_server_stop(k):
    alice, bob, carol = signup(k, "alice"), signup(k, "bob"), signup(k, "carol")
    ids = {n: alice.req("GET", f"/api/v1/accounts/lookup?acct={n}").json()["id"]
           for n in ("bob", "carol")}
    for i in ids.values():
        alice.req("POST", f"/api/v1/accounts/{i}/follow")
    lst = alice.req("POST", "/api/v1/lists", {"title": "Bob only"}).json()
    alice.req("POST", f"/api/v1/lists/{lst['id']}/accounts", {"account_ids[]": ids["bob"]})
    ws = ws_open(k, f"?stream=list&list={lst['id']}", alice.token)
    carol.post("not in the list")
    b = bob.post("in the list")
    msg = next_event(ws, "update")
    assert msg["stream"] == ["list", lst["id"]]
    assert json.loads(msg["payload"])["id"] == b["id"]
    # kithd stops cleanly with a stream open, saying so (1001 going away).
    k.stop()
    opcode, frame = None, None
    for _ in range(5):
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            break
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 1001


def test_media_streams(k):
    """public:media (and :local:media) carry only statuses with attachments;
    SSE takes only_media=true on /public and /public/local."""
    import io

    from PIL import Image

    from test_media import upload
    alice, bob = signup(k, "alice"), signup(k, "bob")
    ws = ws_open(k, "?stream=public:local:media", alice.token)
    ws.send(json.dumps({"type": "subscribe", "stream": "public:media"}))
    bob.post("no picture here")
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, "PNG")
    m = upload(bob, buf.getvalue(), "p.png", "image/png").json()
    pic = bob.post("a picture", **{"media_ids[]": [m["id"]]})
    seen = set()
    while len(seen) < 2:
        msg = next_event(ws, "update")
        assert json.loads(msg["payload"])["id"] == pic["id"], msg
        seen.add(msg["stream"][0])
    assert seen == {"public:local:media", "public:media"}
    ws.send(json.dumps({"type": "subscribe", "stream": "user:media"}))
    assert "error" in json.loads(ws.recv())
    ws.close()


def test_filters_changed(k):
    """A change of one's filters comes as filters_changed on the user stream
    (apps fetch them again)."""
    alice = signup(k, "alice")
    ws = ws_open(k, "?stream=user", alice.token)
    r = alice.req("POST", "/api/v2/filters", {"title": "Noise", "context[]": ["home"]})
    assert r.status == 200
    msg = next_event(ws, "filters_changed")
    assert msg["stream"] == ["user"]
    alice.req("DELETE", f"/api/v2/filters/{r.json()['id']}")
    assert next_event(ws, "filters_changed")["stream"] == ["user"]
    ws.close()
