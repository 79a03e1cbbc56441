#!/bin/sh
# Derive deliberately truncated copies of committed dumps (NOT real captures).
# Run after make-dumps.sh; no root needed.  Cuts are at fixed byte offsets
# chosen to land mid-entry.
set -eu
cd "$(dirname "$0")"
# JSON dump cut inside the 3rd entry's "key" byte array
head -c 700 ../flows/flows.json > flows.truncated.json
# BTF-formatted text dump cut inside the 2nd entry's "value" object
head -n 22 ../flows/flows.txt > flows.truncated.txt
# hex (no BTF) text dump cut between a "key:" block and its "value:" block
head -n 7 ../raw/rawflows.txt > rawflows.truncated.txt
# per-CPU BTF text dump cut after CPU 0 of the first entry
head -n 11 ../stats/cpu_stats.txt > cpu_stats.truncated.txt
