"""Run scenarios_objects.py against one KMIP server and print one JSON object:
{scenario name: {"ok": summary} | {"error": "ExceptionType: message"}}.

Usage: run_objects.py HOST PORT CERT KEY CA KMIP_VERSION (1.2, 1.4 ...)
A stand-in for the shared differential harness (run.py), with the same ctx shape.
"""
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from kmip import enums  # noqa: E402
from kmip.pie import client  # noqa: E402

import scenarios_objects  # noqa: E402

VERSIONS = {"1.0": enums.KMIPVersion.KMIP_1_0, "1.1": enums.KMIPVersion.KMIP_1_1, "1.2": enums.KMIPVersion.KMIP_1_2,
            "1.3": enums.KMIPVersion.KMIP_1_3, "1.4": enums.KMIPVersion.KMIP_1_4, "2.0": enums.KMIPVersion.KMIP_2_0}


class Ctx(object):
    def __init__(self, c, version):
        self.client = c
        self.proxy = c.proxy
        self.version = version


def main():
    host, port, cert, key, ca, version = sys.argv[1:7]
    only = set(sys.argv[7:])
    results = {}
    for name, fn in scenarios_objects.SCENARIOS:
        if only and name not in only:
            continue
        # A fresh connection per scenario: a failed one must not poison the next.
        with client.ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca,
                                    ssl_version="PROTOCOL_SSLv23", kmip_version=VERSIONS[version]) as c:
            try:
                results[name] = {"ok": fn(Ctx(c, VERSIONS[version]))}
            except Exception as e:  # noqa: BLE001 - every failure is a result to compare
                results[name] = {"error": "%s: %s" % (type(e).__name__, e)}
                if os.environ.get("PYKMIP_DIFF_TRACE"):
                    traceback.print_exc()
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
