#!/usr/bin/env python3
"""Create the CouchDB server admin on a running pouchdb-server and smoke-test the API with it.

Steps (each fails loudly):
  1. `PUT /_config/admins/<user>` unless that admin already exists (then basic auth must already work);
  2. basic auth: the right password is accepted, a wrong one gets 401;
  3. create a database, PUT a document, PUT an attachment, GET both back, delete the database.
All bodies are sent as `Content-Type: application/json` (pouchdb-server reads other bodies as form data).

usage: setup.py URL USER PASSWORD
"""
import base64
import json
import sys
import urllib.error
import urllib.request


class Client:
    def __init__(self, url, user=None, password=None):
        self.url = url.rstrip("/")
        self.auth = None
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self.auth = f"Basic {token}"

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json")
        if self.auth:
            req.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def expect(what, got, *statuses):
    status, body = got
    if status not in statuses:
        raise SystemExit(f"couchdb setup: {what}: HTTP {status} {body}")
    return body


def main():
    url, user, password = sys.argv[1:4]
    anon = Client(url)
    admin = Client(url, user, password)

    # 1. admin: in "admin party" mode (no admin yet) anyone may create one
    status, _ = admin.call("GET", "/_all_dbs")
    if status == 401:
        # an admin exists but not with this password, or the server has no admin yet and rejects unknown users
        expect("create admin", anon.call("PUT", f"/_config/admins/{user}", password), 200)

    # 2. basic auth
    expect("basic auth with the admin password", admin.call("GET", "/_all_dbs"), 200)
    expect("basic auth with a wrong password", Client(url, user, password + "x").call("GET", "/_all_dbs"), 401)
    expect("anonymous create database (must be refused, not crash)", anon.call("PUT", "/ow_smoke_anon"), 401)

    # 3. database, document, attachment
    db = "/ow_services_smoke"
    admin.call("DELETE", db)
    expect("create database", admin.call("PUT", db), 201)
    doc = {"kind": "smoke", "n": 1}
    rev = expect("put document", admin.call("PUT", f"{db}/doc1", doc), 201)["rev"]
    got = expect("get document", admin.call("GET", f"{db}/doc1"), 200)
    if got.get("kind") != "smoke" or got.get("n") != 1:
        raise SystemExit(f"couchdb setup: document read back differs: {got}")
    attachment = {"code": "def main(args): return args"}
    expect("put attachment", admin.call("PUT", f"{db}/doc1/codefile?rev={rev}", attachment), 201)
    got = expect("get attachment", admin.call("GET", f"{db}/doc1/codefile"), 200)
    if got != attachment:
        raise SystemExit(f"couchdb setup: attachment read back differs: {got}")
    expect("delete database", admin.call("DELETE", db), 200)
    print(f"couchdb {url}: admin '{user}' ok, database/document/attachment round trip ok")


if __name__ == "__main__":
    main()
