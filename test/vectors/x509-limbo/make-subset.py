#!/usr/bin/env python3
"""
Builds limbo-subset.json: the x509-limbo testcases that exercise what Warden's chain verification
covers, plus the list (with reasons) of every generated testcase that was left out.

x509-limbo's compiled limbo.json is a generated file; this script runs x509-limbo's own generator
instead (its Python testcase registry), so the certificates are freshly generated but the cases,
their topology and their expected results are upstream's. Usage:

    git clone https://github.com/C2SP/x509-limbo && git -C x509-limbo checkout <UPSTREAM_COMMIT>
    pip install 'cryptography>=46' 'pydantic~=2.13'
    python3 make-subset.py x509-limbo > limbo-subset.json

The bettertls and online suites are not generated (they need limbo/_assets/bettertls.json and
network-cached chains; they test name constraints and hostnames, which Warden does not implement).
Whatever upstream adds later lands in neither list until this script classifies it: unclassified
ids make the script fail, so a refresh forces a decision.
"""
import fnmatch
import json
import sys

UPSTREAM_COMMIT = "8a2e6f41023b1716dc16fe63335e4bb972e4c3f6"

# (glob over testcase ids, reason) — first match wins. Everything not skipped must be in INCLUDE.
SKIP = [
    ("crl::*", "revocation (CRLs): Warden does not check revocation; Dapr has none"),
    ("*::nc::*", "name constraints: Warden does not implement them (Dapr CAs do not issue them)"),
    ("pathological::nc-dos-*", "name constraints: Warden does not implement them"),
    ("cve::cve-2025-61727*", "name constraints: Warden does not implement them"),
    ("rfc5280::pc::*", "policy constraints: Warden does not implement certificate policies"),
    ("pathlen::max-chain-depth-*", "max_chain_depth is a verifier knob Warden has no equivalent of"),
    ("webpki::cn::*", "peer-name (hostname/IP) matching: Dapr peers are SPIFFE IDs, matched by the caller"),
    ("webpki::san::*", "peer-name (hostname/IP) matching: Dapr peers are SPIFFE IDs, matched by the caller"),
    ("rfc5280::san::underscore-dns", "peer-name (hostname) matching"),
    ("rfc5280::san::ip-in-dns", "peer-name (IP) matching"),
    ("rfc5280::ca-as-leaf-wrong-san", "peer-name (hostname) matching"),
    ("rfc5280::aki::*", "AKI presence/criticality profile rules: not enforced (nor by Go's verifier, which Dapr uses)"),
    ("webpki::aki::*", "AKI profile rules of the Web PKI (CA/B Forum): not enforced"),
    ("rfc5280::ski::*", "SKI presence/criticality profile rules: not enforced (nor by Go's verifier, which Dapr uses)"),
    ("rfc5280::serial::*", "serial-number profile rules (pedantic): Warden reads any DER INTEGER serial"),
    ("webpki::eku::*", "Web PKI EKU profile rules (pedantic): not a Dapr requirement"),
    ("webpki::ee-basicconstraints-ca", "Web PKI subscriber profile rule: not a Dapr requirement"),
    ("webpki::ca-as-leaf", "Web PKI subscriber profile rule (conflicts with rfc5280::ca-as-leaf)"),
    ("webpki::malformed-aia", "AIA is not read by Warden"),
    ("rfc5280::ee-aia", "AIA is not read by Warden"),
    ("rfc5280::ee-critical-aia-invalid", "AIA is not read by Warden"),
    ("webpki::forbidden-*-leaf", "Web PKI subscriber key rules: leaf keys are judged by the CSR path, not here"),
    ("webpki::forbidden-rsa-key-not-divisible-by-8-in-leaf", "Web PKI subscriber key rules"),
    ("webpki::forbidden-weak-rsa-in-leaf", "Web PKI subscriber key rules"),
]

INCLUDE = [
    "pathlen::*",
    "pathological::*",
    "cve::cve-2024-0567",
    "invalid::*",
    "rfc5280::validity::*",
    "rfc5280::eku::*",
    "rfc5280::san::malformed",
    "rfc5280::san::noncritical-with-empty-subject",
    "rfc5280::*",
    "webpki::forbidden-*",
    "webpki::explicit-curve",
    "webpki::v1-cert",
    "webpki::cryptographydotio-chain*",
]

KEEP_FIELDS = [
    "id", "description", "features", "validation_kind", "trusted_certs", "untrusted_intermediates",
    "peer_certificate", "validation_time", "extended_key_usage", "expected_result", "max_chain_depth",
]


def classify(tc_id):
    for pattern, reason in SKIP:
        if fnmatch.fnmatchcase(tc_id, pattern):
            return "skip", reason
    for pattern in INCLUDE:
        if fnmatch.fnmatchcase(tc_id, pattern):
            return "include", None
    return "unclassified", None


def main():
    sys.path.insert(0, sys.argv[1])
    from limbo import testcases  # noqa: E402  (x509-limbo's generator)

    included, skipped, failed, unclassified = [], [], [], []
    for tc_id, build in sorted(testcases.registry.items()):
        kind, reason = classify(tc_id)
        if kind == "unclassified":
            unclassified.append(tc_id)
            continue
        if kind == "skip":
            skipped.append({"id": tc_id, "reason": reason})
            continue
        try:
            tc = json.loads(build().model_dump_json())
        except Exception as err:  # an upstream generator incompatible with this cryptography
            failed.append({"id": tc_id, "reason": f"generator failed: {err}"})
            continue
        included.append({k: tc[k] for k in KEEP_FIELDS})
    if unclassified:
        sys.exit("unclassified testcases (add them to SKIP or INCLUDE): " + ", ".join(unclassified))
    json.dump({
        "upstream": "https://github.com/C2SP/x509-limbo",
        "upstream_commit": UPSTREAM_COMMIT,
        "generated_by": "test/vectors/x509-limbo/make-subset.py",
        "skipped": skipped,
        "not_generated": failed,
        "testcases": included,
    }, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
