#!/usr/bin/python3
"""make deps-check: fail when a module includes a layer above it (DESIGN.md).

Layers, bottom to top:
  src/base  <  storage  <  src/core  <  src/http  <  federation, src/api, web  <  src/main.c, src/ctl.c
A file may include kith headers of its own layer or below. Among the edges,
src/api and web may include only federation/federation.h from federation,
and never each other; federation includes neither. Library headers are
confined too: only storage/ includes lmdb.h; storage/, src/core/ and
src/base/ never include event2/, cjson/ or libxml/; src/base and storage
never include openssl/ or argon2.h.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYER = {"src/base": 0, "storage": 1, "src/core": 2, "src/http": 3,
         "federation": 4, "src/api": 4, "web": 4, "main": 5}
FORBIDDEN_LIBS = {
    "src/base": ["lmdb.h", "event2/", "cjson/", "libxml/", "openssl/", "argon2.h"],
    "storage": ["event2/", "cjson/", "libxml/", "openssl/", "argon2.h"],
    "src/core": ["lmdb.h", "event2/", "cjson/", "libxml/"],
    "src/http": ["lmdb.h"],
    "federation": ["lmdb.h"],
    "src/api": ["lmdb.h"],
    "web": ["lmdb.h"],
    "main": ["lmdb.h"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def module_of(rel):
    if rel in ("src/main.c", "src/ctl.c"):
        return "main"
    for m in ("src/base", "src/core", "src/http", "src/api", "storage", "federation", "web"):
        if rel.startswith(m + "/"):
            return m
    return None


def main():
    errors = []
    checked = 0
    for top in ("src", "storage", "federation", "web"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in sorted(files):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, ROOT)
                mod = module_of(rel)
                if mod is None:
                    errors.append(f"{rel}: not in any module of DESIGN.md")
                    continue
                checked += 1
                with open(path, encoding="utf-8") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        kind, target = m.groups()
                        where = f"{rel}:{lineno}"
                        if kind == "<":
                            for lib in FORBIDDEN_LIBS[mod]:
                                if target == lib or (lib.endswith("/") and target.startswith(lib)):
                                    errors.append(f"{where}: {mod} must not include <{target}>")
                            continue
                        inc = os.path.relpath(os.path.normpath(os.path.join(dirpath, target)), ROOT)
                        imod = module_of(inc)
                        if imod is None:
                            errors.append(f"{where}: includes \"{target}\" outside the modules")
                        elif imod == mod:
                            continue
                        elif imod == "main":
                            errors.append(f"{where}: nothing may include {inc}")
                        elif LAYER[imod] > LAYER[mod]:
                            errors.append(f"{where}: {mod} (layer {LAYER[mod]}) includes {inc} "
                                          f"from {imod} (layer {LAYER[imod]}) above it")
                        elif LAYER[imod] == LAYER[mod]:
                            ok = mod in ("src/api", "web") and inc == "federation/federation.h"
                            if not ok:
                                errors.append(f"{where}: {mod} may not include {inc} from {imod}")
    for e in errors:
        print("deps-check:", e, file=sys.stderr)
    if errors:
        return 1
    print(f"deps-check: ok ({checked} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
