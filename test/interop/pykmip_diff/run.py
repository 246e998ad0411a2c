"""Run PyKMIP client scenarios against one KMIP server and print one JSON line per scenario.

Usage: run.py HOST PORT CERT KEY CA KMIP_VERSION [MODULE...]

KMIP_VERSION is "1.2", "1.4" or "2.0". Every scenarios_*.py next to this file is imported
(or only the MODULEs named, e.g. "scenarios_protocol"); each exposes
SCENARIOS = [(name, fn)]. fn(ctx) gets a fresh connection per scenario, so one failure
cannot poison the next, and returns a JSON-able summary of what should be equal between
two servers (never UIDs or dates). Each scenario prints
{"name": ..., "ok": true, "summary": ...} or {"name": ..., "ok": false, "error": "Type: msg"}.
The runner never stops on a failing scenario; it exits 0 once every scenario has printed.
"""
import glob
import importlib
import json
import os
import sys
import traceback

from kmip import enums
from kmip.pie import client as pie_client

VERSIONS = {
    "1.0": enums.KMIPVersion.KMIP_1_0,
    "1.1": enums.KMIPVersion.KMIP_1_1,
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.3": enums.KMIPVersion.KMIP_1_3,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}


class Context:
    """What a scenario gets: a connected ProxyKmipClient, its KMIPProxy, and the version."""

    def __init__(self, client, version):
        self.client = client
        self.proxy = client.proxy
        self.version = version

    @property
    def v2(self):
        return self.version == enums.KMIPVersion.KMIP_2_0


def jsonable(value):
    """Summaries are compared as JSON: enums by name, bytes as hex, the rest as given."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if hasattr(value, "name") and hasattr(value, "value") and not isinstance(value, (int, float, str, bool)):
        return value.name
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    return str(value)


def error_text(e):
    message = str(e).strip()
    return "{}: {}".format(type(e).__name__, message.splitlines()[0] if message else "")


def load_modules(names):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    if not names:
        names = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(here, "scenarios_*.py")))
    return [importlib.import_module(n) for n in names]


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    host, port, cert, key, ca, version_text = sys.argv[1:7]
    version = VERSIONS[version_text]
    modules = load_modules(sys.argv[7:])
    for module in modules:
        for name, fn in module.SCENARIOS:
            line = {"name": name}
            try:
                with pie_client.ProxyKmipClient(hostname=host, port=int(port), cert=cert, key=key, ca=ca,
                                                ssl_version="PROTOCOL_SSLv23", kmip_version=version) as c:
                    line["summary"] = jsonable(fn(Context(c, version)))
                    line["ok"] = True
            except Exception as e:  # noqa: BLE001 - every failure is a result to report
                line["ok"] = False
                line["error"] = error_text(e)
                if os.environ.get("PYKMIP_DIFF_TRACE"):
                    traceback.print_exc(file=sys.stderr)
            print(json.dumps(line, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
