#!/usr/bin/env python3
"""Conformance checks for the ow-python-runtime image (and a smoke check of ow-blackbox).

Starts containers with the arguments the invoker uses, talks to <container ip>:8080 like the invoker
does, and checks the runtime protocol: /init + /run round trip, error shapes, __OW_* environment,
log sentinels on both streams (in `docker logs` and in the json-file log the invoker tails), a 2 MiB
result, zip actions with a virtualenv. Standard library only; needs a running Docker engine.

usage: conformance.py [-v] [IMAGE]     (default IMAGE: ow-python-runtime:latest)
Ends with the line "N passed, M failed"; exits 1 if anything failed. Removes the containers it started.
"""
import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
import uuid
import zipfile

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
LABEL = "org.openwhisk.tests.conformance"
VERBOSE = "-v" in sys.argv[1:]
ARGS = [a for a in sys.argv[1:] if a != "-v"]
IMAGE = ARGS[0] if ARGS else "ow-python-runtime:latest"
BLACKBOX = "ow-blackbox:latest"


def docker(*args, check=True):
    proc = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {proc.stderr.strip()}")
    return proc


class Container:
    """A runtime container started like the invoker's DockerContainerFactory does."""

    def __init__(self, image=IMAGE):
        self.name = f"owconf_{uuid.uuid4().hex[:10]}"
        self.id = docker(
            "run", "-d", "--name", self.name, "--label", LABEL,
            "--cpu-shares", "256", "--memory", "256m", "--memory-swap", "256m", "--network", "bridge",
            "-e", "__OW_API_HOST=http://172.17.0.1:3233",
            "--cap-drop", "NET_RAW", "--cap-drop", "NET_ADMIN", "--ulimit", "nofile=1024:1024",
            "--pids-limit", "1024", "--log-driver", "json-file", image,
        ).stdout.strip()
        self.ip = docker(
            "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", self.id
        ).stdout.strip()
        if not self.ip:
            raise RuntimeError(f"container {self.name} has no IP address")

    def post(self, path, payload, timeout=30.0, retry_refused=False):
        """POST JSON; returns (status, parsed body or raw text). /init retries refused connections every
        50 ms, as the invoker does, while the proxy starts."""
        data = json.dumps(payload).encode()
        deadline = time.monotonic() + timeout
        while True:
            req = urllib.request.Request(f"http://{self.ip}:8080{path}", data=data, method="POST")
            req.add_header("Content-Type", "application/json")
            req.add_header("Accept", "application/json")
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    return resp.status, decode(resp.read())
            except urllib.error.HTTPError as e:
                return e.code, decode(e.read())
            except (urllib.error.URLError, ConnectionError) as e:
                if not retry_refused or time.monotonic() > deadline:
                    raise
                reason = getattr(e, "reason", e)
                if not isinstance(reason, (ConnectionRefusedError, ConnectionResetError, OSError)):
                    raise
                time.sleep(0.05)

    def wait_ready(self, timeout=10.0):
        """Wait until the proxy accepts connections (without sending it anything)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection((self.ip, 8080), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def init(self, code, main="main", binary=False, env=None):
        value = {"name": "conformance", "main": main, "code": code, "binary": binary, "env": env or {}}
        return self.post("/init", {"value": value}, retry_refused=True)

    def run(self, value, **meta):
        body = {
            "value": value,
            "action_name": "/guest/conformance",
            "action_version": "0.0.1",
            "activation_id": uuid.uuid4().hex,
            "api_key": "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP",
            "deadline": str(int(time.time() * 1000) + 60000),
            "namespace": "guest",
            "transaction_id": "conformance-tid",
        }
        body.update(meta)
        return self.post("/run", body)

    def logs(self):
        proc = docker("logs", self.id)
        return proc.stdout, proc.stderr

    def json_log_lines(self):
        path = docker("inspect", "-f", "{{.LogPath}}", self.id).stdout.strip()
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def remove(self):
        docker("rm", "-f", self.id, check=False)


def decode(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


# --- checks -----------------------------------------------------------------------------------------

HELLO = """
import os, sys
def main(args):
    print("hello from stdout")
    print("hello from stderr", file=sys.stderr)
    return {"greeting": "Hello, " + args.get("name", "stranger") + "!"}
"""

ENV_ACTION = """
import os
KEYS = ["__OW_ACTIVATION_ID", "__OW_ACTION_NAME", "__OW_ACTION_VERSION", "__OW_API_KEY", "__OW_DEADLINE",
        "__OW_NAMESPACE", "__OW_TRANSACTION_ID", "__OW_API_HOST", "INIT_PARAM", "INIT_JSON"]
def main(args):
    return {k: os.environ.get(k) for k in KEYS}
"""

SHAPES = """
def main(args):
    kind = args["kind"]
    if kind == "raise":
        raise ValueError("something went wrong")
    if kind == "string":
        return "not a dictionary"
    if kind == "list":
        return [1, "two", {"three": 3}]
    if kind == "none":
        return None
    if kind == "big":
        return {"payload": "x" * (2 * 1024 * 1024)}
    if kind == "echo-size":
        return {"size": len(args["payload"])}
    if kind == "exit":
        raise SystemExit(3)
    if kind == "partial-line":
        print("no newline at the end", end="")
        return {"ok": True}
    return {"kind": kind}
"""


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def expect_error(status, body, want_status, contains=None):
    check(status == want_status, f"want HTTP {want_status}, got {status} {body!r}")
    check(isinstance(body, dict) and isinstance(body.get("error"), str), f"want {{'error': str}}, got {body!r}")
    if contains:
        check(contains in body["error"], f"error {body['error']!r} should contain {contains!r}")


def t_round_trip(c):
    check(c.init(HELLO) == (200, {"ok": True}), "init of a good action should answer 200 {ok: true}")
    status, body = c.run({"name": "Alice"})
    check((status, body) == (200, {"greeting": "Hello, Alice!"}), f"run: got {status} {body!r}")
    status, body = c.run({})
    check((status, body) == (200, {"greeting": "Hello, stranger!"}), f"second run: got {status} {body!r}")


def t_init_twice(c):
    check(c.init(HELLO)[0] == 200, "first init")
    status, body = c.init(HELLO)
    check((status, body) == (403, {"error": "Cannot initialize the action more than once."}),
          f"second init: got {status} {body!r}")


def t_run_before_init(c):
    status, body = c.run({"name": "x"})
    expect_error(status, body, 500, "no action defined yet")


def t_init_without_code(c):
    status, body = c.post("/init", {"value": {"name": "x", "main": "main", "binary": False}})
    expect_error(status, body, 403, "Missing main/no code to execute.")


def t_syntax_error(c):
    status, body = c.init("def main(args)\n    return {}\n")
    expect_error(status, body, 502, "SyntaxError")
    status, body = c.run({})
    expect_error(status, body, 500, "no action defined yet")


def t_missing_main(c):
    status, body = c.init("def other(args):\n    return {}\n")
    expect_error(status, body, 502, "main")


def t_import_error(c):
    status, body = c.init("import no_such_module_here\ndef main(args):\n    return {}\n")
    expect_error(status, body, 502, "no_such_module_here")


def t_custom_main(c):
    check(c.init("def entry(args):\n    return {'via': 'entry'}\n", main="entry")[0] == 200, "init")
    check(c.run({}) == (200, {"via": "entry"}), "main=entry should call entry()")


def t_result_shapes(c):
    check(c.init(SHAPES)[0] == 200, "init")
    status, body = c.run({"kind": "raise"})
    check((status, body) == (200, {"error": "something went wrong"}), f"raise: got {status} {body!r}")
    status, body = c.run({"kind": "string"})
    expect_error(status, body, 502, "The action did not return a dictionary or array.")
    status, body = c.run({"kind": "list"})
    check((status, body) == (200, [1, "two", {"three": 3}]), f"list: got {status} {body!r}")
    status, body = c.run({"kind": "none"})
    check((status, body) == (200, None), f"None: got {status} {body!r}")
    status, body = c.run({"kind": "exit"})
    expect_error(status, body, 400, "command exited")
    check(c.run({"kind": "after"}) == (200, {"kind": "after"}), "the proxy should survive all of the above")
    _, err = c.logs()
    check("ValueError: something went wrong" in err, "the traceback of the raise should be on stderr")


def t_env(c):
    env = {"INIT_PARAM": "from-init", "INIT_JSON": {"a": [1, 2]}}
    check(c.init(ENV_ACTION, env=env)[0] == 200, "init")
    aid = uuid.uuid4().hex
    status, body = c.run({}, activation_id=aid, namespace="ns1", action_name="/ns1/pkg/act", deadline="1700000000000")
    check(status == 200, f"run: {status} {body!r}")
    want = {
        "__OW_ACTIVATION_ID": aid, "__OW_ACTION_NAME": "/ns1/pkg/act", "__OW_ACTION_VERSION": "0.0.1",
        "__OW_NAMESPACE": "ns1", "__OW_DEADLINE": "1700000000000", "__OW_TRANSACTION_ID": "conformance-tid",
        "__OW_API_HOST": "http://172.17.0.1:3233", "INIT_PARAM": "from-init", "INIT_JSON": '{"a":[1,2]}',
    }
    for key, val in want.items():
        check(body.get(key) == val, f"{key}: want {val!r}, got {body.get(key)!r}")
    check(body.get("__OW_API_KEY", "").startswith("23bc46b1-"), f"__OW_API_KEY: got {body.get('__OW_API_KEY')!r}")
    status, body = c.run({}, action_version=None)
    check(body.get("__OW_ACTION_VERSION") == "", f"null action_version should export '', got {body!r}")


def t_log_sentinels(c):
    check(c.init(HELLO)[0] == 200, "init")
    for _ in range(2):
        check(c.run({"name": "Bob"})[0] == 200, "run")
    out, err = c.logs()
    check(out.splitlines() == ["hello from stdout", SENTINEL] * 2, f"stdout log: {out!r}")
    check(err.splitlines() == ["hello from stderr", SENTINEL] * 2, f"stderr log: {err!r}")
    # what the invoker reads: the json-file log, one {"log","stream","time"} object per line
    lines = c.json_log_lines()
    sentinels = [(entry["stream"], entry["log"]) for entry in lines if entry["log"].rstrip("\n") == SENTINEL]
    check(sentinels.count(("stdout", SENTINEL + "\n")) == 2 and sentinels.count(("stderr", SENTINEL + "\n")) == 2,
          f"json-file log sentinels: {sentinels!r}")


def t_partial_line(c):
    check(c.init(SHAPES)[0] == 200, "init")
    check(c.run({"kind": "partial-line"})[0] == 200, "run")
    out, _ = c.logs()
    check(out.splitlines() == ["no newline at the end", SENTINEL], f"sentinel must be on its own line: {out!r}")


def t_large_result(c):
    check(c.init(SHAPES)[0] == 200, "init")
    status, body = c.run({"kind": "big"})
    check(status == 200 and isinstance(body, dict), f"big: got {status}")
    check(body.get("payload") == "x" * (2 * 1024 * 1024), "2 MiB result should come back intact")
    status, body = c.run({"kind": "echo-size", "payload": "y" * (2 * 1024 * 1024)})
    check((status, body) == (200, {"size": 2 * 1024 * 1024}), f"2 MiB argument: got {status} {body!r}")


def make_zip(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return base64.b64encode(buf.getvalue()).decode()


def t_zip_action(c):
    code = make_zip({
        "__main__.py": "import helper, vendored\n"
                       "def main(args):\n"
                       "    return {'msg': helper.shout(args.get('w', 'zip')), 'vendored': vendored.VERSION}\n",
        "helper.py": "def shout(s):\n    return s.upper() + '!'\n",
        "virtualenv/lib/python3.11/site-packages/vendored/__init__.py": "VERSION = '1.2.3'\n",
    })
    status, body = c.init(code, binary=True)
    check(status == 200, f"zip init: {status} {body!r}")
    status, body = c.run({"w": "packed"})
    check((status, body) == (200, {"msg": "PACKED!", "vendored": "1.2.3"}), f"zip run: {status} {body!r}")


def t_zip_without_main(c):
    status, body = c.init(make_zip({"helper.py": "x = 1\n"}), binary=True)
    expect_error(status, body, 502, "__main__.py")


def t_docker_stop(c):
    t0 = time.monotonic()
    docker("stop", "-t", "10", c.id)
    took = time.monotonic() - t0
    check(took < 3, f"docker stop took {took:.1f}s; the proxy should exit on SIGTERM")


def t_blackbox(c):
    check(c.init("ignored")[0] == 200, "blackbox init")
    status, body = c.run({"echo": [1, 2]})
    check((status, body) == (200, {"echo": [1, 2]}), f"blackbox run: {status} {body!r}")
    out, err = c.logs()
    check(SENTINEL in out and SENTINEL in err, "blackbox writes sentinels on both streams")


CHECKS = [
    ("init + run round trip", t_round_trip, IMAGE),
    ("second /init is refused with 403", t_init_twice, IMAGE),
    ("/run before /init is an error", t_run_before_init, IMAGE),
    ("/init without code is refused", t_init_without_code, IMAGE),
    ("syntax error at /init gives 502 {error}", t_syntax_error, IMAGE),
    ("missing main at /init gives 502 {error}", t_missing_main, IMAGE),
    ("import error at /init gives 502 {error}", t_import_error, IMAGE),
    ("main selects the entry function", t_custom_main, IMAGE),
    ("result shapes: raise, non-dict, list, None, exit", t_result_shapes, IMAGE),
    ("__OW_* and init env visible to the action", t_env, IMAGE),
    ("log sentinels on stdout and stderr", t_log_sentinels, IMAGE),
    ("sentinel after an unterminated line", t_partial_line, IMAGE),
    ("2 MiB result and argument", t_large_result, IMAGE),
    ("binary zip action with virtualenv", t_zip_action, IMAGE),
    ("zip without __main__.py gives 502", t_zip_without_main, IMAGE),
    ("docker stop is immediate", t_docker_stop, IMAGE),
    ("blackbox image answers /init and echoes /run", t_blackbox, BLACKBOX),
]


def main():
    passed = failed = 0
    containers = []
    try:
        for title, fn, image in CHECKS:
            t0 = time.monotonic()
            try:
                c = Container(image)
                containers.append(c)
                c.wait_ready()
                fn(c)
            except Exception as e:  # report and go on with the next check
                failed += 1
                print(f"FAIL  {title}: {e}")
                if VERBOSE:
                    traceback.print_exc()
            else:
                passed += 1
                print(f"ok    {title} ({time.monotonic() - t0:.2f}s)")
    finally:
        for c in containers:
            c.remove()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
