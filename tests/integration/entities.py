"""Checks API responses against ../shared/fixtures/mastodon-api/entities.json
(every Mastodon entity field, its type, optional and nullable flags and the
version that added it): a field added in Mastodon 4.2.0 or earlier and not
optional must be present with the right type, null only where allowed;
later fields may be absent, and are checked when present."""

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "..", "shared", "fixtures", "mastodon-api",
                       "entities.json")
_ENTITIES = None
DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def entities():
    global _ENTITIES
    if _ENTITIES is None:
        _ENTITIES = {e["python_name"]: e for e in json.load(open(FIXTURE))}
    return _ENTITIES


def _version(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:3])


def _added(d):
    h = d.get("version_history") or []
    return _version(h[0][0]) if h and h[0] and h[0][0] else (0, 0, 0)


def check(name, obj, path=None):
    """Raises AssertionError naming the field at fault."""
    path = path or name
    ent = entities()[name]
    assert isinstance(obj, dict), f"{path}: expected an object, got {type(obj).__name__}"
    for field, d in ent["fields"].items():
        where = f"{path}.{field}"
        if field not in obj:
            assert d.get("is_optional") or _added(d) > (4, 2, 0), f"{where} is missing"
            continue
        _check_value(d, obj[field], where)


def _check_value(d, v, where):
    if v is None:
        assert d.get("is_nullable"), f"{where} is null, which Mastodon never sends"
        return
    t, sub = d.get("field_type"), d.get("field_subtype")
    if t == "str":
        assert isinstance(v, str), f"{where}: expected a string, got {v!r}"
    elif t == "bool":
        assert isinstance(v, bool), f"{where}: expected a bool, got {v!r}"
    elif t == "int":
        assert isinstance(v, int) and not isinstance(v, bool), f"{where}: expected an int, got {v!r}"
    elif t == "float":
        assert isinstance(v, (int, float)) and not isinstance(v, bool), f"{where}: {v!r}"
    elif t == "datetime":
        assert isinstance(v, str) and DATE.match(v), f"{where}: not RFC 3339 with ms: {v!r}"
    elif t in ("IdType", "MaybeSnowflakeIdType"):
        assert isinstance(v, str) and v.isdigit(), f"{where}: not a numeric string id: {v!r}"
    elif t == "NonPaginatableList":
        assert isinstance(v, list), f"{where}: expected a list, got {v!r}"
        if sub in entities():
            for i, item in enumerate(v):
                check(sub, item, f"{where}[{i}]")
    elif t in entities():
        check(t, v, where)
    else:
        assert isinstance(v, (dict, list, str, int, float, bool)), where
