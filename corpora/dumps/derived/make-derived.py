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

# 4. A later dump of the same map for `bpfcase diff`: the last entry removed,
#    entry 0's `packets` (value bytes 0..8, little-endian __u64) raised by
#    0x0101010101010101 so all eight bytes differ, and a copy of entry 2 with
#    `sport` (key bytes 4..6, host order) set to 4321 added at the end.
later = json.loads(src)
later.pop()
v = later[0]
packets = int.from_bytes(bytes(int(b, 16) for b in v["value"][0:8]), "little")
packets += 0x0101010101010101
v["value"][0:8] = ["0x%02x" % b for b in packets.to_bytes(8, "little")]
v["formatted"]["value"]["packets"] = packets
added = json.loads(json.dumps(entries[2]))
added["key"][4:6] = ["0x%02x" % b for b in (4321).to_bytes(2, "little")]
added["formatted"]["key"]["sport"] = 4321
later.append(added)
with open("flows.changed.json", "w") as f:
    f.write(json.dumps(later, separators=(",", ":")))

# 5. A later dump of the per-CPU map cpu_stats for `bpfcase diff`: entry 0's
#    `count` (value bytes 0..8) on CPU 1 only raised from 100 to 101.
stats = json.loads(open("../stats/cpu_stats.json").read())
cpu1 = stats[0]["values"][1]
count = int.from_bytes(bytes(int(b, 16) for b in cpu1["value"][0:8]), "little") + 1
cpu1["value"][0:8] = ["0x%02x" % b for b in count.to_bytes(8, "little")]
stats[0]["formatted"]["values"][1]["value"]["count"] = count
with open("cpu_stats.changed.json", "w") as f:
    f.write(json.dumps(stats, separators=(",", ":")))
