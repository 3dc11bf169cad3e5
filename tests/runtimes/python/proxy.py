#!/usr/bin/env python3
"""Action proxy for OpenWhisk Python 3 actions, written for this project's tests (standard library only).

Serves the invoker <-> action container protocol on 0.0.0.0:8080 (unless told otherwise, see below):

  POST /init  {"value": {"name", "main", "code", "binary", "env"}}
      code is Python source, or (binary=true) a base64 zip holding __main__.py and optionally virtualenv/;
      main names the entry function (default "main"); env entries are exported to os.environ.
  POST /run   {"value": <args>, "action_name", "action_version", "activation_id", "api_key", "deadline",
               "namespace", "transaction_id"}
      every key but "value" is exported as __OW_<KEY>; then main(value) is called.

Status codes and error texts follow the stock Python runtime of OpenWhisk (apache/openwhisk-runtime-python,
which runs the actionloop proxy of apache/openwhisk-runtime-go) because the invoker derives the activation
status from them:
  /init twice                       403 {"error": "Cannot initialize the action more than once."}
  /init without code                403 {"error": "Missing main/no code to execute."}
  /init with code that won't load   502 {"error": "..."}            (syntax error, missing main, bad zip)
  /run before a successful /init    500 {"error": "no action defined yet"}
  main returns a dict or a list     200 <result>
  main returns None                 200 null                        (stock answers this too)
  main returns anything else        502 {"error": "The action did not return a dictionary or array."}
  main raises                       200 {"error": str(exception)}   (an application error; traceback on stderr)
  main calls sys.exit()             400 {"error": "command exited"} (stock: the launcher process is gone)
After every /run, and after a failed /init, the line XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX is written to
stdout and to stderr, before the HTTP response, so the invoker finds both sentinels once it has the result.

Design choice: the action runs inside this process, imported as the module `main__`. The stock runtime
starts a separate launcher process and talks to it over pipes. A container here only ever holds one
action, which the container already isolates, so a second process would add a fork/exec and a
handshake to every cold start and a JSON re-encoding to every activation, and tests pay for all of it. What is
lost: a stuck action can't be killed on its own (the invoker destroys the container on timeout anyway), and
os._exit() in an action ends the proxy (the invoker then sees the connection drop, as with a dead launcher).
Activations are run one at a time, as the stock launcher does; __OW_* variables are process-wide.

Outside a container (the invoker agent's process runtime starts this file as a child process), optional
environment variables stand in for what the container engine would provide; none is set in the image:
  OW_PROXY_HOST, OW_PROXY_PORT      where to listen (default 0.0.0.0 and 8080; port 0 takes a free one)
  OW_PROXY_PORT_FILE                once listening, the port is written to this file (atomically), so the
                                    parent learns which port this very process holds
  OW_PROXY_MEMORY_LIMIT_MB          the action's memory limit: the address space is capped at what the proxy
                                    uses at start plus this much (RLIMIT_AS), and running out of memory in the
                                    action ends the process with exit status 86 and no answer, as a container
                                    killed for its memory would
  OW_PROXY_EXIT_WITH_STDIN=1        exit once stdin reaches end of file, i.e. when the parent is gone
"""

import base64
import binascii
import importlib.util
import io
import json
import os
import signal
import site
import sys
import tempfile
import threading
import traceback
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
HOST = os.environ.get("OW_PROXY_HOST", "0.0.0.0")
PORT = int(os.environ.get("OW_PROXY_PORT", "8080"))
MEMORY_LIMIT_MB = os.environ.get("OW_PROXY_MEMORY_LIMIT_MB")
# The exit status that tells the process runtime the action ran out of memory (the invoker agent checks it).
OUT_OF_MEMORY_EXIT = 86


def apply_memory_limit():
    """Caps the address space at the current size plus the action's limit, so that the action's allocations
    fail with MemoryError where a container would have been killed."""
    import resource
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            baseline = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        baseline = 0
    limit = baseline + int(MEMORY_LIMIT_MB) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def exit_if_memory_limited():
    """With a memory limit, a MemoryError ends the process without an answer; without one the caller goes on
    as before."""
    if MEMORY_LIMIT_MB is not None:
        os._exit(OUT_OF_MEMORY_EXIT)


def exit_with_stdin():
    """Waits for end of file on stdin (the parent closed it or died), then ends the process."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


class LineTrackingStream:
    """Wraps sys.stdout/sys.stderr to know whether the action left a line unterminated, so that the
    sentinel always lands on a line of its own."""

    def __init__(self, inner):
        self._inner = inner
        self.at_line_start = True

    def write(self, text):
        if text:
            self.at_line_start = text.endswith("\n")
        return self._inner.write(text)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def env_text(value):
    """Environment values are strings: strings as is, null as empty, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def print_action_traceback(exc):
    """Traceback to stderr without this proxy's own frames: the action's developer reads it in the logs."""
    tb = exc.__traceback__
    while tb is not None and (tb.tb_frame.f_code.co_filename in (__file__, "<string>")
                              or tb.tb_frame.f_code.co_filename.startswith("<frozen")):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb, file=sys.stderr)


class LoadError(Exception):
    """The action code can't be loaded; the message goes to the invoker as the /init error."""


class Action:
    def __init__(self):
        self.main = None
        self.init_lock = threading.Lock()
        self.run_lock = threading.Lock()

    def load(self, value):
        """Install the code of an /init request and return its entry function."""
        code = value.get("code")
        main_name = value.get("main") or "main"
        workdir = tempfile.mkdtemp(prefix="action-")
        source = os.path.join(workdir, "main__.py")
        if value.get("binary"):
            try:
                archive = base64.b64decode(code, validate=False)
            except (binascii.Error, ValueError, TypeError) as e:
                raise LoadError(f"cannot decode the request: {e}") from None
            try:
                with zipfile.ZipFile(io.BytesIO(archive)) as zf:
                    zf.extractall(workdir)
            except (zipfile.BadZipFile, OSError, ValueError) as e:
                raise LoadError(f"invalid action: {e}") from None
            for candidate in ("__main__.py", "exec"):
                if os.path.isfile(os.path.join(workdir, candidate)):
                    os.rename(os.path.join(workdir, candidate), source)
                    break
            else:
                raise LoadError("Zip file does not include __main__.py")
            self._activate_virtualenv(os.path.join(workdir, "virtualenv"))
        else:
            with open(source, "w", encoding="utf-8") as f:
                f.write(code)

        # the action sees its own directory as cwd and can import its sibling modules
        os.chdir(workdir)
        sys.path.insert(0, workdir)
        spec = importlib.util.spec_from_file_location("main__", source)
        module = importlib.util.module_from_spec(spec)
        sys.modules["main__"] = module
        try:
            spec.loader.exec_module(module)
        except MemoryError as e:
            exit_if_memory_limited()
            print_action_traceback(e)
            raise LoadError(f"{type(e).__name__}: {e}") from None
        except BaseException as e:  # noqa: B036 - SyntaxError, ImportError, SystemExit... all fail the init
            print_action_traceback(e)
            raise LoadError(f"{type(e).__name__}: {e}") from None
        entry = getattr(module, main_name, None)
        if not callable(entry):
            raise LoadError(f"cannot start action: the code defines no function '{main_name}'")
        return entry

    @staticmethod
    def _activate_virtualenv(venv):
        if not os.path.isdir(venv):
            return
        activate_this = os.path.join(venv, "bin", "activate_this.py")
        if os.path.isfile(activate_this):
            with open(activate_this, encoding="utf-8") as f:
                exec(compile(f.read(), activate_this, "exec"), {"__file__": activate_this})
            return
        # a bare site-packages tree (no activate_this.py): put it on the path
        lib = os.path.join(venv, "lib")
        for entry in sorted(os.listdir(lib)) if os.path.isdir(lib) else []:
            packages = os.path.join(lib, entry, "site-packages")
            if os.path.isdir(packages):
                site.addsitedir(packages)
                sys.path.remove(packages)
                sys.path.insert(0, packages)


ACTION = Action()


def write_sentinels():
    for stream in (sys.stdout, sys.stderr):
        if not getattr(stream, "at_line_start", True):
            stream.write("\n")
        stream.write(SENTINEL + "\n")
        stream.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ow-python-proxy"

    def log_message(self, *args):
        pass  # stdout/stderr belong to the action's logs

    def do_POST(self):
        try:
            if self.path == "/init":
                self.handle_init()
            elif self.path == "/run":
                self.handle_run()
            else:
                self.reply(404, {"error": "not found"})
        except MemoryError:  # e.g. while encoding a huge result
            exit_if_memory_limited()
            raise

    def do_GET(self):
        self.reply(404, {"error": "not found"})

    def read_json(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        return json.loads(body or b"null")

    def reply(self, status, payload):
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_init(self):
        with ACTION.init_lock:
            if ACTION.main is not None:
                return self.reply(403, {"error": "Cannot initialize the action more than once."})
            try:
                message = self.read_json()
            except ValueError as e:
                return self.reply(400, {"error": f"Error unmarshaling request: {e}"})
            value = message.get("value") if isinstance(message, dict) else None
            if not isinstance(value, dict) or not value.get("code"):
                return self.reply(403, {"error": "Missing main/no code to execute."})
            for key, val in (value.get("env") or {}).items():
                os.environ[str(key)] = env_text(val)
            try:
                ACTION.main = ACTION.load(value)
            except LoadError as e:
                write_sentinels()
                return self.reply(502, {"error": str(e)})
            self.reply(200, {"ok": True})

    def handle_run(self):
        try:
            message = self.read_json()
        except ValueError as e:
            return self.reply(400, {"error": f"Error unmarshaling request: {e}"})
        if ACTION.main is None:
            write_sentinels()
            return self.reply(500, {"error": "no action defined yet"})
        if not isinstance(message, dict):
            message = {}
        with ACTION.run_lock:
            for key, val in message.items():
                if key != "value":
                    os.environ["__OW_" + key.upper()] = env_text(val)
            status, payload = self.call_main(message.get("value", {}))
            write_sentinels()
        if status == 200 and payload is None:
            body = b"null"
        else:
            try:
                body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            except (TypeError, ValueError):
                status, body = 502, b'{"error": "The action did not return a dictionary or array."}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @staticmethod
    def call_main(args):
        try:
            result = ACTION.main(args)
        except MemoryError as e:
            exit_if_memory_limited()
            print_action_traceback(e)
            return 200, {"error": str(e)}
        except Exception as e:
            print_action_traceback(e)
            return 200, {"error": str(e)}
        except BaseException as e:  # SystemExit, KeyboardInterrupt: the stock launcher would be gone
            print_action_traceback(e)
            return 400, {"error": "command exited"}
        if result is None or isinstance(result, (dict, list)):
            return 200, result
        return 502, {"error": "The action did not return a dictionary or array."}


def main():
    # line-buffered so that log lines get their own timestamps in the container log as they are printed
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        stream.reconfigure(line_buffering=True)
        setattr(sys, name, LineTrackingStream(stream))
    # PID 1 in a container gets no default signal handling: make `docker stop` immediate
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if os.environ.get("OW_PROXY_EXIT_WITH_STDIN") == "1":
        threading.Thread(target=exit_with_stdin, name="exit-with-stdin", daemon=True).start()
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    server.daemon_threads = True
    port_file = os.environ.get("OW_PROXY_PORT_FILE")
    if port_file:
        with open(port_file + ".tmp", "w") as f:
            f.write(str(server.server_address[1]))
        os.replace(port_file + ".tmp", port_file)
    if MEMORY_LIMIT_MB is not None:
        apply_memory_limit()
    server.serve_forever()


if __name__ == "__main__":
    main()
