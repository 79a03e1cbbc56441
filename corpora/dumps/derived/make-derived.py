#!/usr/bin/env python3
"""Derives the dumps in corpora/dumps/derived/ from real captures (see README.md).
Run from this folder: python3 make-derived.py"""
import json
import re

src = open("../flows/flows.json").read()
entries = json.loads(src)

# 1. A walk that restarted: bpftool printed entries 0..2 again after the last
#    one, as it does when the current key is deleted during get_next_key.
dup = entries + entries[:2]
with open("flows.duplicate.json", "w") as f:
    f.write(json.dumps(dup, separators=(",", ":")))

# 2. A corrupted byte inside the 3rd entry's key array ("0xzz"): unparseable.
parts = [json.dumps(e, separators=(",", ":")) for e in entries]
parts[2] = re.sub(r'^\{"key":\["0x[0-9a-f]{2}"', '{"key":["0xzz"', parts[2])
with open("flows.badhex.json", "w") as f:
    f.write("[" + ",".join(parts) + "]")

# 3. The text hex dump of rawflows with bpftool's error line in the middle and
#    the trailer count left as captured (5): what a dump that hit an error
#    part way looks like with stderr merged.
lines = open("../raw/rawflows.txt").read().splitlines(keepends=True)
cut = 2 * 5  # after two entries of five lines each
with open("rawflows.error.txt", "w") as f:
    f.write("".join(lines[:cut]))
    f.write("Error: can't lookup element with key: \n")
    f.write("".join(lines[cut + 5:]))
