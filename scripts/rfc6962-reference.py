#!/usr/bin/env python3
"""Independent RFC 6962 reference values for the fedlab transparency log's known-answer tests.

A deliberately naive implementation of MTH, PATH and PROOF written straight from RFC 6962 section 2.1
(recursion over leaf lists, hashlib only, no shared code with libs/domain/transparency). It writes
test/fixtures/rfc6962/reference.json with, for each leaf set, the root for every size 0..n, the inclusion
proof for every (index, size) and the consistency proof for every 1 <= old <= new <= n.

Before writing, it checks its own output against values published with the Certificate Transparency
reference implementations (transparency-dev/merkle testonly/constants.go and proof/verify_test.go) for the
eight CT test leaves, and exits non-zero on any disagreement.

Usage (from the repository root): python3 scripts/rfc6962-reference.py
"""

import hashlib
import json
import os
import sys


def sha256(data):
    return hashlib.sha256(data).digest()


def largest_power_of_two_below(n):
    """k in RFC 6962 section 2.1: the largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d):
    """MTH(D[n]), RFC 6962 section 2.1."""
    n = len(d)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return sha256(b"\x00" + d[0])
    k = largest_power_of_two_below(n)
    return sha256(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m, d):
    """PATH(m, D[n]), RFC 6962 section 2.1.1."""
    n = len(d)
    if n == 1:
        return []
    k = largest_power_of_two_below(n)
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):
    """SUBPROOF(m, D[n], b), RFC 6962 section 2.1.2."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = largest_power_of_two_below(n)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def proof(m, d):
    """PROOF(m, D[n]), RFC 6962 section 2.1.2."""
    return subproof(m, d, True)


def hexes(hashes):
    return [h.hex() for h in hashes]


def leaf_set(name, leaves):
    n = len(leaves)
    return {
        "name": name,
        "leaves": [leaf.hex() for leaf in leaves],
        "roots": [mth(leaves[:size]).hex() for size in range(n + 1)],
        "inclusionProofs": [
            {"index": index, "size": size, "proof": hexes(path(index, leaves[:size]))}
            for size in range(1, n + 1)
            for index in range(size)
        ],
        "consistencyProofs": [
            {"oldSize": old, "newSize": new, "proof": hexes(proof(old, leaves[:new]))}
            for new in range(1, n + 1)
            for old in range(1, new + 1)
        ],
    }


CT_LEAVES = [bytes.fromhex(h) for h in [
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
]]

# Published with the CT reference implementations for CT_LEAVES (transparency-dev/merkle,
# testonly/constants.go RootHashes and proof/verify_test.go; leaf indices here are 0-based).
PUBLISHED = {
    "roots": [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ],
    "inclusionProofs": [
        {"index": 0, "size": 8, "proof": [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]},
        {"index": 5, "size": 8, "proof": [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]},
        {"index": 2, "size": 3, "proof": [
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        ]},
        {"index": 1, "size": 5, "proof": [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ]},
    ],
    "consistencyProofs": [
        {"oldSize": 1, "newSize": 8, "proof": [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ]},
        {"oldSize": 6, "newSize": 8, "proof": [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]},
        {"oldSize": 2, "newSize": 5, "proof": [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ]},
        {"oldSize": 6, "newSize": 7, "proof": [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ]},
    ],
}


def check_published(ct):
    """Exits unless this implementation reproduces every published value."""
    errors = []
    if ct["roots"] != PUBLISHED["roots"]:
        errors.append("roots")
    for kind, keys in (("inclusionProofs", ("index", "size")), ("consistencyProofs", ("oldSize", "newSize"))):
        ours = {tuple(p[k] for k in keys): p["proof"] for p in ct[kind]}
        for published in PUBLISHED[kind]:
            key = tuple(published[k] for k in keys)
            if ours[key] != published["proof"]:
                errors.append(f"{kind} {key}")
    if errors:
        sys.exit("disagrees with the published RFC 6962 values: " + ", ".join(errors))


def main():
    ct = leaf_set("ct-test-leaves", CT_LEAVES)
    check_published(ct)
    numbered = leaf_set("leaf-i", [f"leaf-{i}".encode("utf-8") for i in range(33)])
    out = {
        "description": "RFC 6962 section 2.1 MTH, PATH and PROOF (SHA-256), generated by scripts/rfc6962-reference.py; "
        "do not edit. Leaves and hashes are hex; roots[size] is MTH of the first size leaves.",
        "published": PUBLISHED,
        "sets": [ct, numbered],
    }
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "rfc6962", "reference.json")
    with open(target, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
