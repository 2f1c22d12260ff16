"""Uploads through the Mastodon API (issue 8): images (JPEG, PNG, WebP,
GIF) decoded by libvips, their metadata (EXIF, GPS) gone, a preview and a
BlurHash made (python3-blurhash is the oracle); audio and video kept as
sent after sniffing; a forged type and oversized files refused; files
served by content hash with nosniff and a script-free CSP; attachments on
statuses, and in what federates."""

import io
import json
import uuid

import blurhash
import pytest
from PIL import Image

from entities import check
from test_statuses import signup

AP = "application/activity+json"


def multipart(fields, files):
    b = uuid.uuid4().hex
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(f"--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode())
    for k, (name, ctype, data) in files.items():
        out.write(f"--{b}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\n"
                  f"Content-Type: {ctype}\r\n\r\n".encode())
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{b}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={b}"


def upload(c, data, name="x.bin", ctype="application/octet-stream", **fields):
    body, ct = multipart(fields, {"file": (name, ctype, data)})
    return c.k.http("POST", "/api/v2/media", body=body, timeout=30,
                    headers={"Authorization": f"Bearer {c.token}", "Content-Type": ct})


def picture(fmt, size=(64, 48), exif=False, **kw):
    im = Image.new("RGB", size, (200, 40, 40))
    for x in range(size[0] // 2):  # a blue left half
        for y in range(size[1]):
            im.putpixel((x, y), (30, 60, 220))
    buf = io.BytesIO()
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "SecretCam"  # Make
        ex[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPS
        kw["exif"] = ex.tobytes()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def k(make_kithd):
    k = make_kithd(extra=["media_max_image_bytes = 200K", "media_max_video_bytes = 300K",
                          "media_max_image_pixels = 4000000"])
    k.start()
    return k


def fetch(k, url):
    path = url[url.index("/media/"):]
    return k.http("GET", path, timeout=10)


def test_images_are_stripped_previewed_and_hashed(k):
    alice = signup(k, "alice")
    for fmt, mime in [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"),
                      ("GIF", "image/gif")]:
        data = picture(fmt, exif=fmt in ("JPEG", "PNG", "WEBP"))
        if fmt != "GIF":
            assert b"SecretCam" in data  # the test image does carry the metadata
        r = upload(alice, data, f"p.{fmt.lower()}", "application/octet-stream",
                   description="a two-tone picture", focus="0.5,-0.25")
        assert r.status == 200, (fmt, r)
        m = r.json()
        check("MediaAttachment", m)
        assert m["type"] == "image" and m["description"] == "a two-tone picture"
        assert m["meta"]["original"]["width"] == 64 and m["meta"]["original"]["height"] == 48
        assert m["meta"]["small"]["width"] <= 400 and m["meta"]["focus"] == {"x": 0.5, "y": -0.25}
        assert blurhash.is_valid_blurhash(m["blurhash"])
        # The hash shows the picture: blue on the left, red on the right.
        px = blurhash.decode(m["blurhash"], 4, 1)
        left, right = px.getpixel((0, 0)), px.getpixel((3, 0))
        assert left[2] > left[0] and right[0] > right[2], (fmt, px)
        f = fetch(k, m["url"])
        assert f.status == 200 and f.headers["content-type"] == mime
        assert f.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in f.headers["content-security-policy"]
        assert b"SecretCam" not in f.body and b"GPS" not in f.body.upper().replace(b"GPSINFO", b"")
        if fmt in ("JPEG", "WEBP", "PNG"):
            assert not dict(Image.open(io.BytesIO(f.body)).getexif()), fmt
        assert Image.open(io.BytesIO(f.body)).size == (64, 48)
        p = fetch(k, m["preview_url"])
        assert p.status == 200 and p.headers["content-type"] == "image/jpeg"
        # Named by content: the same bytes again are the same file.
        again = upload(alice, data, "again.bin").json()
        assert again["url"] == m["url"] and again["id"] != m["id"]
        got = alice.req("GET", f"/api/v1/media/{m['id']}")
        assert got.status == 200 and got.json()["url"] == m["url"]


def test_refusals(k):
    alice, bob = signup(k, "alice"), signup(k, "bob")
    # A forged type: text sent as a JPEG.
    r = upload(alice, b"<script>alert(1)</script>" * 10, "evil.jpg", "image/jpeg")
    assert r.status == 422 and "not an image" in r.json()["error"]
    # A JPEG header on garbage does not decode.
    r = upload(alice, b"\xff\xd8\xff\xe0" + b"\x00" * 500, "broken.jpg", "image/jpeg")
    assert r.status == 422 and r.json()["error"]
    # Too many bytes; too many pixels.
    noisy = Image.effect_noise((400, 400), 100).convert("RGB")
    buf = io.BytesIO()
    noisy.save(buf, "PNG")
    assert len(buf.getvalue()) > 200 * 1024
    r = upload(alice, buf.getvalue(), "big.png", "image/png")
    assert r.status == 413 and "at most" in r.json()["error"]
    r = upload(alice, picture("PNG", size=(2100, 2000)), "wide.png", "image/png")
    assert r.status == 413 and "pixels" in r.json()["error"]
    # No file; not one's own; not a number.
    body, ct = multipart({"description": "x"}, {})
    r = k.http("POST", "/api/v2/media", body=body,
               headers={"Authorization": f"Bearer {alice.token}", "Content-Type": ct})
    assert r.status == 422
    m = upload(alice, picture("PNG"), "ok.png").json()
    assert bob.req("GET", f"/api/v1/media/{m['id']}").status == 404
    assert alice.req("PUT", f"/api/v1/media/{m['id']}", {"focus": "2,0"}).status == 422
    r = alice.req("PUT", f"/api/v1/media/{m['id']}", {"description": "new words"})
    assert r.status == 200 and r.json()["description"] == "new words"
    # Someone else's upload cannot be attached.
    r = bob.req("POST", "/api/v1/statuses", {"status": "mine", "media_ids[]": m["id"]})
    assert r.status == 422
    # Files outside the naming scheme are not served.
    assert k.http("GET", "/media/..%2Fdb%2Fdata.mdb").status == 404
    assert k.http("GET", "/media/" + "0" * 64 + ".jpg").status == 404
    reader = signup(k, "reader", scope="read")
    assert upload(reader, picture("PNG")).status == 403


def test_audio_and_video_are_kept_as_sent(k):
    alice = signup(k, "alice")
    wav = b"RIFF" + (36).to_bytes(4, "little") + b"WAVEfmt " + b"\x10\x00\x00\x00" + \
        b"\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00" + b"data" + \
        b"\x00\x00\x00\x00"
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
    for data, kind, mime in [(wav, "audio", "audio/wav"), (mp4, "video", "video/mp4")]:
        r = upload(alice, data, "clip.bin", "image/png")  # the claimed type does not count
        assert r.status == 200, r
        m = r.json()
        assert m["type"] == kind and m["preview_url"] is None
        f = fetch(k, m["url"])
        assert f.status == 200 and f.headers["content-type"] == mime and f.body == data
    r = upload(alice, mp4 + b"\x00" * (300 * 1024), "long.mp4", "video/mp4")
    assert r.status == 413


def test_attachments_on_statuses_and_in_federation(k):
    alice = signup(k, "alice")
    m = upload(alice, picture("JPEG"), "p.jpg", description="red and blue").json()
    r = alice.req("POST", "/api/v1/statuses", {"status": "", "media_ids[]": m["id"]})
    assert r.status == 200, r
    s = r.json()
    check("Status", s)
    assert [x["id"] for x in s["media_attachments"]] == [m["id"]]
    check("MediaAttachment", s["media_attachments"][0])
    note = k.http("GET", s["uri"][s["uri"].index("/note/"):], headers={"Accept": AP}).json()
    att = note["attachment"]
    assert att[0]["type"] == "Document" and att[0]["mediaType"] == "image/jpeg"
    assert att[0]["url"] == m["url"] and att[0]["name"] == "red and blue"
    assert att[0]["blurhash"] == m["blurhash"] and att[0]["width"] == 64
    # Attached once: not again to another status.
    r = alice.req("POST", "/api/v1/statuses", {"status": "again", "media_ids[]": m["id"]})
    assert r.status == 422
    # An edit without media_ids keeps them.
    r = alice.req("PUT", f"/api/v1/statuses/{s['id']}", {"status": "now with words"})
    assert [x["id"] for x in r.json()["media_attachments"]] == [m["id"]]
    assert alice.req("GET", "/api/v1/timelines/public?only_media=true").json()[0]["id"] == s["id"]


def test_profile_edit_with_avatar_and_header(k):
    alice = signup(k, "alice")
    body, ct = multipart({"display_name": "Alice A.", "note": "I like cats\nand dogs",
                          "locked": "true", "source[privacy]": "unlisted",
                          "source[language]": "en",
                          "fields_attributes[0][name]": "Web",
                          "fields_attributes[0][value]": "https://example.org/<b>"},
                         {"avatar": ("a.png", "image/png", picture("PNG", size=(800, 600))),
                          "header": ("h.jpg", "image/jpeg", picture("JPEG", size=(300, 300),
                                                                   exif=True))})
    r = k.http("PATCH", "/api/v1/accounts/update_credentials", body=body, timeout=30,
               headers={"Authorization": f"Bearer {alice.token}", "Content-Type": ct})
    assert r.status == 200, r
    me = r.json()
    check("Account", me)
    check("CredentialAccountSource", me["source"])
    assert me["display_name"] == "Alice A." and me["locked"] is True
    assert me["note"] == "<p>I like cats<br>and dogs</p>"
    assert me["source"]["note"] == "I like cats\nand dogs"
    assert me["source"]["privacy"] == "unlisted" and me["source"]["language"] == "en"
    assert me["fields"][0]["name"] == "Web" and "&lt;b&gt;" in me["fields"][0]["value"]
    assert me["source"]["fields"][0]["value"] == "https://example.org/<b>"
    av = fetch(k, me["avatar"])
    assert av.status == 200 and Image.open(io.BytesIO(av.body)).size == (400, 400)
    hd = fetch(k, me["header"])
    assert Image.open(io.BytesIO(hd.body)).size == (1500, 500) and b"SecretCam" not in hd.body
    # The defaults apply to new statuses; preferences show them.
    assert alice.post("quiet")["visibility"] == "unlisted"
    assert alice.req("GET", "/api/v1/preferences").json()["posting:default:visibility"] == \
        "unlisted"
    # JSON bodies work too; the actor document carries the new profile.
    r = alice.req("PATCH", "/api/v1/accounts/update_credentials",
                  {"display_name": "Alice", "fields_attributes": [{"name": "Pronouns",
                                                                  "value": "she/her"}]},
                  as_json=True)
    assert r.status == 200 and [f["name"] for f in r.json()["fields"]] == ["Pronouns"]
    actor = k.http("GET", "/u/alice", headers={"Accept": AP}).json()
    assert actor["name"] == "Alice" and actor["manuallyApprovesFollowers"] is True
    assert actor["icon"]["url"] == me["avatar"] and actor["attachment"][0]["name"] == "Pronouns"
    assert actor["source"] == {"content": "I like cats\nand dogs", "mediaType": "text/plain"}
    assert actor["summary"] == me["note"]
    # Refusals; removing the avatar brings the default back.
    r = alice.req("PATCH", "/api/v1/accounts/update_credentials", {"display_name": "x" * 31})
    assert r.status == 422
    r = alice.req("PATCH", "/api/v1/accounts/update_credentials", {"source[privacy]": "direct"})
    assert r.status == 422
    body, ct = multipart({}, {"avatar": ("a.png", "image/png", b"not an image at all")})
    r = k.http("PATCH", "/api/v1/accounts/update_credentials", body=body,
               headers={"Authorization": f"Bearer {alice.token}", "Content-Type": ct})
    assert r.status == 422
    r = alice.req("DELETE", "/api/v1/profile/avatar")
    assert r.status == 200 and r.json()["avatar"].endswith("/static/avatar.png")


def test_unneeded_uploads_are_removed(make_kithd):
    """After media_keep, an upload never attached, and the uploads of a
    deleted status, are removed with their files, unless a file is still
    used by another upload or by a profile image; an upload of a deleted
    status may be attached again meanwhile (delete and redraft)."""
    import time

    from conftest import wait_for
    k = make_kithd(extra=["media_keep = 2s"])
    k.start()
    alice = signup(k, "alice")
    same = picture("PNG")
    a = upload(alice, same, "a.png", "image/png").json()
    b = upload(alice, same, "b.png", "image/png").json()  # the same file as a
    c = upload(alice, picture("PNG", size=(40, 30)), "c.png", "image/png").json()
    d = upload(alice, picture("PNG", size=(30, 20)), "d.png", "image/png").json()
    e = upload(alice, picture("PNG", size=(20, 10)), "e.png", "image/png").json()
    assert a["url"] == b["url"]
    alice.post("keeps b", **{"media_ids[]": [b["id"]]})
    gone = alice.post("to delete", **{"media_ids[]": [c["id"]]})
    redraft = alice.post("to redraft", **{"media_ids[]": [e["id"]]})
    assert alice.req("DELETE", f"/api/v1/statuses/{gone['id']}").status == 200
    assert alice.req("DELETE", f"/api/v1/statuses/{redraft['id']}").status == 200
    r = alice.req("POST", "/api/v1/statuses", {"status": "redrafted", "media_ids[]": [e["id"]]})
    assert r.status == 200, r
    got = lambda m: alice.req("GET", f"/api/v1/media/{m['id']}").status
    wait_for(lambda: got(a) == 404 and got(c) == 404 and got(d) == 404, 20,
             what="the unneeded uploads removed")
    time.sleep(1)
    assert got(b) == 200 and got(e) == 200
    assert fetch(k, b["url"]).status == 200  # shared with a, still used by b
    assert fetch(k, e["url"]).status == 200
    for m in (c, d):
        assert fetch(k, m["url"]).status == 404, m["url"]
        assert fetch(k, m["preview_url"]).status == 404
