#!/usr/bin/env python3
"""Prints a hyperfine JSON export as a table: mean, stddev, and each command's
time as a multiple of the first command's (ours). Usage: ratios.py FILE.json"""
import json
import sys

results = json.load(open(sys.argv[1]))["results"]
base = results[0]["mean"]
print(f"{'command':<72} {'mean':>10} {'σ':>8} {'× ours':>8}")
for r in results:
    print(f"{r['command'][:72]:<72} {r['mean']*1000:>8.1f}ms {r['stddev']*1000:>6.1f}ms {r['mean']/base:>7.2f}×")
