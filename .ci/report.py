#!/usr/bin/env python3
"""Reads `go test -json` events on stdin and prints what a person needs:
each package's result, the whole output of every failed test, and at the
end the tests that were skipped, with the reason they gave. Exits 1 if
anything failed, or if a test skipped while CI=true (nothing may skip in
CI but opt-in measurements)."""
import json
import re
import os
import sys

out = {}       # (package, test) -> output lines
failed = []    # (package, test)
skipped = []   # (package, test, reason)
bad_pkgs = []
for line in sys.stdin:
    try:
        ev = json.loads(line)
    except ValueError:
        print(line, end="")  # build errors come as plain text
        continue
    pkg, test, action = ev.get("Package", ""), ev.get("Test", ""), ev.get("Action")
    key = (pkg, test)
    if action == "output":
        out.setdefault(key, []).append(ev.get("Output", ""))
        if not test and (ev["Output"].startswith(("ok ", "FAIL", "?"))):
            print(ev["Output"], end="")
    elif action == "fail":
        if test:
            failed.append(key)
        else:
            bad_pkgs.append(pkg)
    elif action == "skip" and test:
        lines = [l.strip() for l in out.get(key, []) if l.strip() and not l.strip().startswith(("=== ", "--- "))]
        reason = lines[-1] if lines else ""
        skipped.append((pkg, test, re.sub(r"^\S+_test\.go:\d+: ", "", reason)))

for pkg, test in failed:
    print(f"\n--- FAIL {pkg} {test}")
    print("".join(out.get((pkg, test), [])), end="")
for pkg in bad_pkgs:
    if not any(p == pkg for p, _ in failed):
        print(f"\n--- FAIL {pkg}")
        print("".join(out.get((pkg, ""), [])), end="")

# Measurements a person asks for (a skip saying "opt-in: …") are listed
# apart; every other skip fails CI.
optin = [s for s in skipped if s[2].startswith("opt-in:")]
skipped = [s for s in skipped if not s[2].startswith("opt-in:")]
print(f"\n== skipped tests: {len(skipped)}")
for pkg, test, reason in skipped:
    print(f"  {pkg} {test}: {reason}")
if optin:
    print(f"== opt-in measurements not asked for: {len(optin)}")
    for pkg, test, reason in optin:
        print(f"  {pkg} {test}: {reason}")
ci = os.environ.get("CI") == "true"
if failed or bad_pkgs:
    sys.exit(1)
if ci and skipped:
    print("tests may not skip when CI=true")
    sys.exit(1)
