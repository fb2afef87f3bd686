#!/usr/bin/python3
"""peers.py -- small real TCP/TLS peers for make-pcaps.sh scenarios.

Every peer handles a bounded number of connections and gives up after a
bounded time; everything binds to loopback only.

  rst-server PORT          read the ClientHello, then reset (SO_LINGER 0)
  fin-server PORT          read the ClientHello, then close cleanly (FIN, no alert)
  silent-server PORT SECS  accept, read, never answer; close after SECS
  http400-server PORT      answer whatever arrives with an HTTP/1.1 400
  plain-client PORT        send an HTTP GET in clear text, read the answer
  slow-proxy PORT BACKEND SECS
                           relay one connection to 127.0.0.1:BACKEND, holding
                           the server's first bytes back for SECS (a tarpit or
                           an overloaded server as the client sees it)
  reuse-client PORT CPORT CAFILE KEYLOG
                           two TLS connections from 127.0.0.1:CPORT in sequence
"""
import socket
import ssl
import struct
import sys
import time


def listener(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(4)
    s.settimeout(15)
    return s


def read_some(c, timeout=5.0):
    c.settimeout(timeout)
    try:
        return c.recv(65536)
    except (socket.timeout, OSError):
        return b""


def rst_server(port):
    s = listener(port)
    c, _ = s.accept()
    read_some(c)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def fin_server(port):
    s = listener(port)
    c, _ = s.accept()
    read_some(c)
    time.sleep(0.05)
    c.shutdown(socket.SHUT_RDWR)
    read_some(c, 2.0)
    c.close()


def silent_server(port, secs):
    s = listener(port)
    c, _ = s.accept()
    end = time.time() + float(secs)
    while time.time() < end:
        if not read_some(c, max(0.1, end - time.time())):
            if time.time() < end:
                break
    c.close()


def http400_server(port):
    s = listener(port)
    c, _ = s.accept()
    read_some(c)
    body = b"<html><body>400 Bad Request</body></html>\r\n"
    c.sendall(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    time.sleep(0.05)
    c.close()


def slow_proxy(port, backend, secs):
    import select
    s = listener(port)
    c, _ = s.accept()
    b = socket.create_connection(("127.0.0.1", backend), timeout=5)
    release = time.time() + float(secs)
    held = b""
    open_c, open_b = True, True
    end = time.time() + float(secs) + 15
    while (open_c or open_b) and time.time() < end:
        r, _, _ = select.select([x for x, o in ((c, open_c), (b, open_b)) if o], [], [], 0.1)
        if c in r:
            d = c.recv(65536)
            if d:
                b.sendall(d)
            else:
                open_c = False
                b.shutdown(socket.SHUT_WR)
        if b in r:
            d = b.recv(65536)
            if d:
                held += d
            else:
                open_b = False
        if held and time.time() >= release:
            c.sendall(held)
            held = b""
        if not open_b and not held:
            break
    if held:
        c.sendall(held)
    c.close()
    b.close()


def plain_client(port):
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"GET / HTTP/1.1\r\nHost: server.example\r\nUser-Agent: curl/7.88.1\r\n"
              b"Accept: */*\r\n\r\n")
    while read_some(c, 3.0):
        pass
    c.close()


def reuse_client(port, cport, cafile, keylog):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.keylog_filename = keylog
    for i in range(2):
        raw = None
        for attempt in range(20):
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                raw.bind(("127.0.0.1", cport))
                raw.settimeout(5)
                raw.connect(("127.0.0.1", port))
                break
            except OSError as e:
                print("connect %d attempt %d: %s" % (i, attempt, e), file=sys.stderr)
                raw.close()
                raw = None
                time.sleep(0.25)
        if raw is None:
            raise SystemExit("could not reuse the client port")
        t = ctx.wrap_socket(raw, server_hostname="server.example")
        t.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\n")
        while True:
            try:
                d = t.recv(4096)
            except (ssl.SSLError, OSError):
                break
            if not d:
                break
        # answer the server's close_notify, then close with SO_LINGER 0 so
        # this side holds no TIME_WAIT state and can bind the port again
        t.settimeout(1.0)
        try:
            t = t.unwrap()
        except (ssl.SSLError, OSError):
            pass
        t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        t.close()
        time.sleep(0.3)


def main():
    a = sys.argv[1:]
    if not a:
        raise SystemExit(__doc__)
    cmd = a[0]
    if cmd == "rst-server":
        rst_server(int(a[1]))
    elif cmd == "fin-server":
        fin_server(int(a[1]))
    elif cmd == "silent-server":
        silent_server(int(a[1]), a[2])
    elif cmd == "http400-server":
        http400_server(int(a[1]))
    elif cmd == "slow-proxy":
        slow_proxy(int(a[1]), int(a[2]), a[3])
    elif cmd == "plain-client":
        plain_client(int(a[1]))
    elif cmd == "reuse-client":
        reuse_client(int(a[1]), int(a[2]), a[3], a[4])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
