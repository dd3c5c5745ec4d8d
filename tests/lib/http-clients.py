#!/usr/bin/env python3
"""http-clients.py: misbehaving and long-lived HTTP clients for the limit
tests (tests/integration/http-limits.sh), over plain TCP or TLS (the test
servers' certificates are self-signed, so TLS here does not verify).

  trickle HOST PORT N SECONDS [--tls]
      N clients, each starts a request and then sends one more header byte
      every second (slowloris), never finishing it; prints one line per
      client, "closed AFTER" (seconds from its connect until the server
      closed it) or "open" if it was still open after SECONDS.
  hold HOST PORT N [--tls]
      opens N connections that send nothing, prints "held N", then keeps
      them until a line arrives on stdin, closes one, prints "released",
      and keeps the rest until stdin ends.
  keepalive HOST PORT PATH COUNT GAP [--tls]
      one connection, COUNT GET requests GAP seconds apart; prints "ok N"
      when every answer was 200 on that same connection.
  sized HOST PORT line|headers BYTES [--tls]
      one GET /healthz whose head is BYTES long as evhttp counts it (the
      request line and each header line without their CRLF): "line", a
      request line of BYTES and no header; "headers", a short request line
      plus header lines filling BYTES. Prints the status code, or "closed"
      when the server closed the connection before answering.
  head HOST PORT PATH NEXT [--tls]
      on one kept-alive connection: GET PATH, HEAD PATH, GET NEXT, HEAD
      NEXT, GET NEXT. Each HEAD must be 200 with the Content-Type its GET
      had and a Content-Length (equal to the GET body's length for NEXT,
      whose body is fixed) and no body; the GETs after a HEAD must parse
      (a body left over from the HEAD would be read as their status line)
      and be 200 with a body of their Content-Length. Prints "ok" or what
      went wrong; exit 1 then.
  latency HOST PORT PATH COUNT [--tls]
      COUNT GET requests on one kept-alive connection; prints the mean and
      the largest latency in milliseconds (information, not a check).
"""
import http.client
import socket
import ssl
import sys
import time


def connect(host, port, tls):
    s = socket.create_connection((host, port), timeout=30)
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname=host)
    return s


def closed_by_peer(s):
    """True when the server has closed s (EOF or reset)."""
    s.setblocking(False)
    try:
        return s.recv(4096) == b""
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


def trickle(host, port, n, seconds, tls):
    conns = []
    for _ in range(n):
        s = connect(host, port, tls)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        conns.append([s, time.monotonic(), None])
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(c[2] is None for c in conns):
        for c in conns:
            if c[2] is not None:
                continue
            if closed_by_peer(c[0]):
                c[2] = time.monotonic() - c[1]
                continue
            try:
                c[0].sendall(b"X")
            except OSError:
                c[2] = time.monotonic() - c[1]
        time.sleep(1)
    for s, _, after in conns:
        print("open" if after is None else "closed %.1f" % after, flush=True)
        s.close()


def hold(host, port, n, tls):
    conns = [connect(host, port, tls) for _ in range(n)]
    print("held %d" % n, flush=True)
    sys.stdin.readline()
    conns.pop().close()
    print("released", flush=True)
    sys.stdin.read()
    for s in conns:
        s.close()


def keepalive(host, port, path, count, gap, tls):
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=10, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=10)
    sock = None
    for i in range(count):
        if i:
            time.sleep(gap)
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            print("request %d: status %d" % (i, resp.status))
            return 1
        if sock is None:
            sock = conn.sock
        elif conn.sock is not sock:
            print("request %d: the connection was replaced" % i)
            return 1
    print("ok %d" % count)
    return 0


def sized_head(kind, nbytes):
    if kind == "line":
        start, end = b"GET /healthz?", b" HTTP/1.1"
        lines = [start + b"a" * (nbytes - len(start) - len(end)) + end]
    else:
        lines = [b"GET /healthz HTTP/1.1", b"Host: x"]
        pad = b"X-Pad: "
        lines.append(pad + b"a" * (nbytes - sum(len(l) for l in lines) - len(pad)))
    assert sum(len(l) for l in lines) == nbytes
    return b"\r\n".join(lines) + b"\r\n\r\n"


def sized(host, port, kind, nbytes, tls):
    s = connect(host, port, tls)
    answer = b""
    try:
        s.sendall(sized_head(kind, nbytes))
        while b"\r\n" not in answer:
            d = s.recv(4096)
            if not d:
                break
            answer += d
    except OSError:
        pass
    s.close()
    if not answer.startswith(b"HTTP/1.1 ") or b"\r\n" not in answer:
        print("closed")
    else:
        print(answer.split(b" ")[1].decode())


def open_conn(host, port, tls):
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(host, port, timeout=10, context=ctx)
    return http.client.HTTPConnection(host, port, timeout=10)


def head(host, port, path, nxt, tls):
    conn = open_conn(host, port, tls)
    sock = None
    seen = {}
    for i, (method, p) in enumerate([("GET", path), ("HEAD", path), ("GET", nxt),
                                     ("HEAD", nxt), ("GET", nxt)]):
        what = "%s %s (request %d)" % (method, p, i + 1)
        try:
            conn.request(method, p)
            resp = conn.getresponse()
            body = resp.read()
        except (http.client.HTTPException, OSError) as e:
            print("%s: %s: %s" % (what, type(e).__name__, e))
            return 1
        if sock is None:
            sock = conn.sock
        elif conn.sock is not sock:
            print("%s: the connection was replaced" % what)
            return 1
        if resp.status != 200:
            print("%s: status %d" % (what, resp.status))
            return 1
        length = resp.getheader("Content-Length")
        ctype = resp.getheader("Content-Type")
        if length is None or not length.isdigit():
            print("%s: Content-Length %r" % (what, length))
            return 1
        if method == "GET":
            if int(length) != len(body) or not body:
                print("%s: Content-Length %s, body of %d bytes" % (what, length, len(body)))
                return 1
            seen[p] = (ctype, len(body))
        else:
            gtype, glen = seen[p]
            if ctype != gtype:
                print("%s: Content-Type %r, GET had %r" % (what, ctype, gtype))
                return 1
            if int(length) == 0 or (p == nxt and int(length) != glen):
                print("%s: Content-Length %s, GET body was %d bytes" % (what, length, glen))
                return 1
    # nothing may follow the last answer: a stray body would be readable now
    sock.setblocking(False)
    try:
        extra = sock.recv(4096)
    except (BlockingIOError, ssl.SSLWantReadError):
        extra = None
    finally:
        sock.setblocking(True)
    if extra:
        print("%d stray bytes after the last answer: %r" % (len(extra), extra[:60]))
        return 1
    print("ok")
    return 0


def latency(host, port, path, count, tls):
    conn = open_conn(host, port, tls)
    times = []
    for _ in range(count):
        t0 = time.monotonic()
        conn.request("GET", path)
        conn.getresponse().read()
        times.append((time.monotonic() - t0) * 1000)
    times = times[1:] or times  # the first carries the TLS handshake
    print("mean %.2f ms, max %.2f ms over %d requests on one connection"
          % (sum(times) / len(times), max(times), len(times)))
    return 0


def main(argv):
    tls = "--tls" in argv
    args = [a for a in argv if a != "--tls"]
    cmd = args[0] if args else ""
    if cmd == "trickle" and len(args) == 5:
        trickle(args[1], int(args[2]), int(args[3]), float(args[4]), tls)
        return 0
    if cmd == "hold" and len(args) == 4:
        hold(args[1], int(args[2]), int(args[3]), tls)
        return 0
    if cmd == "keepalive" and len(args) == 6:
        return keepalive(args[1], int(args[2]), args[3], int(args[4]), float(args[5]), tls)
    if cmd == "sized" and len(args) == 5 and args[3] in ("line", "headers"):
        sized(args[1], int(args[2]), args[3], int(args[4]), tls)
        return 0
    if cmd == "head" and len(args) == 5:
        return head(args[1], int(args[2]), args[3], args[4], tls)
    if cmd == "latency" and len(args) == 5:
        return latency(args[1], int(args[2]), args[3], int(args[4]), tls)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
