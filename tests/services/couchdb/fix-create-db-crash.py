#!/usr/bin/env python3
"""Patch express-pouchdb 4.2.0 so that `PUT /<db>` by a non-admin answers 401 instead of killing the server.

Once a server admin exists, pouchdb-security wraps `PouchDB.new` so that for a non-admin it returns a
rejected promise instead of a database object. The create-database route calls `db.info(...)` on that
promise and the whole process dies with "TypeError: db.info is not a function" (the crash reported in
shared/research/services-notes.md; it is not a transitive-version issue: any unauthenticated `PUT /<db>`
after `PUT /_config/admins/<user>` triggers it). CouchDB answers 401 there, which this patch restores.

usage: fix-create-db-crash.py <node_modules dir>     (idempotent)
"""
import pathlib
import sys

MARK = "/* ow-tests: non-admin create */"
NEEDLE = "      var db = req.PouchDB.new(name, utils.makeOpts(req));\n      db.info(function (err) {\n"
PATCH = (
    "      var db = req.PouchDB.new(name, utils.makeOpts(req));\n"
    f"      {MARK}\n"
    "      if (typeof db.info !== 'function') {\n"
    "        return Promise.resolve(db).then(function () {\n"
    "          utils.sendError(res, {status: 500, name: 'error', message: 'cannot create database'});\n"
    "        }, function (err) {\n"
    "          utils.sendError(res, err);\n"
    "        });\n"
    "      }\n"
    "      db.info(function (err) {\n"
)


def main():
    route = pathlib.Path(sys.argv[1]) / "express-pouchdb" / "lib" / "routes" / "db.js"
    text = route.read_text()
    if MARK in text:
        return 0
    if text.count(NEEDLE) != 1:
        print(f"{route}: create-database code not found; express-pouchdb changed?", file=sys.stderr)
        return 1
    route.write_text(text.replace(NEEDLE, PATCH))
    print(f"patched {route}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
