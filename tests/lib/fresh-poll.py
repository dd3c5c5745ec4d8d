#!/usr/bin/env python3
"""fresh-poll.py: times how fast cadet-aggregator serves a pod that was just
started or removed, on one kept-alive HTTPS connection with a client
certificate (aggregator-fresh.sh, bench/fresh-bench.sh).

  fresh-poll.py DIR PORT served NS NAME CONTAINER START_NS [LIMIT_S]
      polls .../namespaces/NS/pods/NAME every 20 ms until it is served with
      CONTAINER; prints "<ms since START_NS> <window>" (window in seconds,
      parsed from the Go duration the aggregator serves)
  fresh-poll.py DIR PORT gone NS NAME START_NS [LIMIT_S]
      polls until the pod is 404 NotFound; prints the ms since START_NS
  fresh-poll.py DIR PORT reports
      prints cadet_aggregator_reports_total{result="accepted"} from /metrics

START_NS is CLOCK_REALTIME in ns (date +%s%N). DIR holds ca.crt,
client.crt and client.key. Exits 1 with the reason when LIMIT_S (default
20) passes first or a response is not what the API promises."""
import http.client
import json
import re
import ssl
import sys
import time

GO_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns))+$")
UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def go_duration_s(text):
    if text == "0s" or text == "0":
        return 0.0
    if not GO_DURATION.match(text):
        raise ValueError("not a Go duration: %r" % text)
    return sum(float(n) * UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)", text))


class Client:
    def __init__(self, d, port):
        ctx = ssl.create_default_context(cafile=d + "/ca.crt")
        ctx.load_cert_chain(d + "/client.crt", d + "/client.key")
        self.conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=5)

    def get(self, path):
        try:
            self.conn.request("GET", path)
            r = self.conn.getresponse()
            return r.status, r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()  # reconnects on the next request
            raise


def main(argv):
    d, port, what = argv[1], argv[2], argv[3]
    c = Client(d, port)
    if what == "reports":
        status, body = c.get("/metrics")
        assert status == 200, (status, body[:200])
        m = re.search(rb'^cadet_aggregator_reports_total\{result="accepted"\} (\d+)$', body, re.M)
        assert m, "no accepted reports counter in /metrics"
        print(int(m.group(1)))
        return 0
    ns, name = argv[4], argv[5]
    path = "/apis/metrics.k8s.io/v1beta1/namespaces/%s/pods/%s" % (ns, name)
    if what == "served":
        container, start_ns = argv[6], int(argv[7])
        limit = float(argv[8]) if len(argv) > 8 else 20.0
    else:
        container, start_ns = None, int(argv[6])
        limit = float(argv[7]) if len(argv) > 7 else 20.0
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        status, body = c.get(path)
        now_ns = time.time_ns()
        if status == 200:
            pod = json.loads(body)
            if what == "served" and any(x["name"] == container for x in pod["containers"]):
                assert pod["kind"] == "PodMetrics" and pod["metadata"]["name"] == name, pod
                window = go_duration_s(pod["window"])
                print("%d %.3f" % ((now_ns - start_ns) // 1000000, window))
                return 0
        elif status == 404:
            st = json.loads(body)
            assert st["kind"] == "Status" and st["reason"] == "NotFound", st
            if what == "gone":
                print((now_ns - start_ns) // 1000000)
                return 0
        else:
            raise AssertionError("HTTP %d: %r" % (status, body[:200]))
        last = (status, body[:300])
        time.sleep(0.02)
    print("%s/%s not %s within %.0f s; last answer %r" % (ns, name, what, limit, last))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
