#!/usr/bin/env python3
"""Instructions agentd spends per run, counted by callgrind: repeatable on a
busy box where wall-clock figures are not.

Starts a mock OpenAI-compatible upstream (10 streamed tokens, no delay),
runs `agentd serve` under `valgrind --tool=callgrind` pointed at it, sends
N runs one after another, stops agentd and prints the instructions its
process executed. Run it twice with different N: the difference divided by
the difference in runs is the cost of one run, start-up and shutdown cancel
out. Start-up alone varies by ~10 M instructions between runs, so the
default N are far apart (100 and 700): one build then reads within ~1%
from run to run; compare builds three times each.

    python3 bench/count_instructions.py target/release/agentd --runs 100 700
    python3 bench/count_instructions.py target/release/agentd --kind sse --store memory

`--kind json` posts AgentOS JSON runs, `sse` AgentOS streaming runs (read
whole), `acp` ACP sync runs, `agui` AG-UI runs (each with new random thread
and run ids, as frontends send). Needs valgrind; uses only the Python standard library.
"""

import argparse
import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time


class Mock(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    tokens = 10

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        def send(obj):
            data = f"data: {obj}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

        for i in range(self.tokens):
            chunk = {
                "id": "c",
                "object": "chat.completion.chunk",
                "model": "mock-model",
                "choices": [{"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}],
            }
            send(json.dumps(chunk))
        send(json.dumps({"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
        send("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(message, stream):
    b = "agentdcountboundary"
    body = (
        f"--{b}\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n{message}\r\n"
        f"--{b}\r\nContent-Disposition: form-data; name=\"stream\"\r\n\r\n{stream}\r\n--{b}--\r\n"
    )
    return f"multipart/form-data; boundary={b}", body.encode()


def one_run(conn, kind):
    if kind == "acp":
        body = json.dumps({"agent_name": "bench", "mode": "sync", "input": [
            {"role": "user", "parts": [{"content_type": "text/plain", "content": "hello"}]}]})
        conn.request("POST", "/acp/runs", body=body, headers={"content-type": "application/json"})
        done = '"status":"completed"'
    elif kind == "agui":
        # A fresh thread and run id each time, as a frontend sends them.
        ids = os.urandom(8).hex()
        body = json.dumps({"threadId": f"t-{ids}", "runId": f"r-{ids}", "state": {},
                           "messages": [{"id": "m1", "role": "user", "content": "hello"}],
                           "tools": [], "context": [], "forwardedProps": {}})
        conn.request("POST", "/agui", body=body, headers={"content-type": "application/json"})
        done = "RUN_FINISHED"
    else:
        ct, body = multipart("hello", "true" if kind == "sse" else "false")
        conn.request("POST", "/agents/bench/runs", body=body, headers={"content-type": ct})
        done = "RunCompleted" if kind == "sse" else ""
    resp = conn.getresponse()
    text = resp.read().decode()
    if resp.status != 200:
        raise SystemExit(f"run failed: {resp.status} {text[:200]}")
    if done not in text:
        raise SystemExit(f"{kind} run without {done}: {text[-300:]}")


def count(agentd, runs, kind, store, mock_port, keep=None):
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        config = os.path.join(tmp, "agentd.toml")
        with open(config, "w") as f:
            f.write(
                f"""
[store]
kind = "{store}"
path = '{tmp}/agentd.db'

[models.mock]
provider = "openai"
model = "mock-model"
base_url = "http://127.0.0.1:{mock_port}/v1"
api_key = "k"

[[agents]]
id = "bench"
name = "Bench"
model = "mock"
"""
            )
        out = os.path.join(tmp, "callgrind.out")
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", agentd,
             "serve", "--config", config, "--bind", f"127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        deadline = time.time() + 120
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("agentd under callgrind did not start")
            time.sleep(0.2)
        # One kept-alive connection, as a load generator's pool would.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(runs):
            one_run(conn, kind)
        conn.close()
        proc.terminate()
        proc.wait(timeout=120)
        with open(out) as f:
            text = f.read()
        if keep:
            with open(keep, "w") as f:
                f.write(text)
        m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if not m:
            raise SystemExit("no totals in the callgrind output")
        return int(m.group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("agentd")
    p.add_argument("--runs", type=int, nargs=2, default=[100, 700])
    p.add_argument("--kind", choices=["json", "sse", "acp", "agui"], default="json")
    p.add_argument("--store", choices=["sqlite", "memory"], default="sqlite")
    p.add_argument("--tokens", type=int, default=10)
    p.add_argument("--keep", help="save the larger run's callgrind output here (for callgrind_annotate)")
    a = p.parse_args()
    Mock.tokens = a.tokens
    mock_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", mock_port), Mock)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    low, high = a.runs
    lo = count(a.agentd, low, a.kind, a.store, mock_port)
    hi = count(a.agentd, high, a.kind, a.store, mock_port, a.keep)
    per_run = (hi - lo) / (high - low)
    print(f"{a.kind} runs, {a.store} store, {a.tokens} tokens: {lo} Ir for {low} runs, "
          f"{hi} Ir for {high}: {per_run:,.0f} instructions per run")


if __name__ == "__main__":
    sys.exit(main())
