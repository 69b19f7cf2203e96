#!/usr/bin/env python3
"""Converts the load generator's messages into Kafka Connect records for the
peer (bench/peer.sh): reads voltpay-loadgen's manifest (--manifest
--manifest-payloads, one JSON line per acknowledged message) on stdin and
writes, for each message in the order sent, one line "KEY<TAB>VALUE" for
kcat -P -K '\\t', where VALUE is JsonConverter's JSON with schema
(schemas.enable=true): {"schema": a flat struct, "payload": the flat row}.

The nested parties become flat columns (debtor_name, debtor_iban, ...);
every field is a string, as the message has it (the peer's table types
message_id, payment_id, amount and created_at, and the JDBC URL's
stringtype=unspecified lets PostgreSQL cast them).  Exact re-sends stay
re-sends: the same message id with the same row.
"""
import json
import sys

FIELDS = [
    ("message_id", False), ("payment_id", False), ("account_id", False),
    ("amount", False), ("currency", False),
    ("debtor_name", True), ("debtor_iban", True), ("debtor_bic", True),
    ("creditor_name", True), ("creditor_iban", True), ("creditor_bic", True),
    ("remittance_info", True), ("customer_email", True), ("created_at", False),
]
SCHEMA = {
    "type": "struct", "name": "voltpay.bench.Payment", "optional": False,
    "fields": [{"field": f, "type": "string", "optional": opt} for f, opt in FIELDS],
}


def flat(msg):
    row = {}
    for f, _ in FIELDS:
        if f.startswith(("debtor_", "creditor_")):
            party, _, attr = f.partition("_")
            v = (msg.get(party) or {}).get(attr)
        else:
            v = msg.get(f)
        row[f] = None if v is None else str(v)
    return row


def main():
    schema = json.dumps(SCHEMA, separators=(",", ":"))
    n = 0
    out = sys.stdout
    for line in sys.stdin:
        m = json.loads(line)
        payload = m.get("payload")
        if payload is None:
            sys.exit("convert: a manifest line without payload (run voltpay-loadgen with --manifest-payloads)")
        key = m.get("key") or ""
        value = json.dumps(flat(json.loads(payload)), separators=(",", ":"))
        out.write('%s\t{"schema":%s,"payload":%s}\n' % (key, schema, value))
        n += 1
    print("convert: %d records" % n, file=sys.stderr)


if __name__ == "__main__":
    main()
