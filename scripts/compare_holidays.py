#!/usr/bin/env python3
"""Prints where `nhacviec calendar --year Y --format json` and Python's `holidays.Vietnam`
disagree, for 2010-2030 (or the years given).

Not part of the test suite: it needs the `holidays` package, pinned to the version the
comparison in docs/HOLIDAYS.md was made with:

    pip install holidays==0.108
    cargo build && python3 scripts/compare_holidays.py [--bin target/debug/nhacviec] [YEAR ...]

Days off are compared as the weekdays each side gives off (a holiday on a weekend changes no
working day); make-up working days as ours of kind "workday" against the dates `holidays`
names in "Day off (substituted from MM/DD/YYYY)".
"""

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile

PINNED = "0.108"


def ours(binary, config, year):
    out = subprocess.run(
        [binary, "--config", config, "calendar", "--year", str(year), "--format", "json"],
        check=True, capture_output=True, text=True,
    ).stdout
    data = json.loads(out)
    off = {dt.date.fromisoformat(d["date"]): d["name"] for d in data["days"]
           if d["kind"] != "workday"}
    work = {dt.date.fromisoformat(d["date"]): d["name"] for d in data["days"]
            if d["kind"] == "workday"}
    return off, work, data.get("source", "")


def theirs(year):
    import holidays
    h = holidays.Vietnam(years=year)
    off = {d: n for d, n in h.items() if d.year == year}
    work = {}
    for n in h.values():
        for m in re.finditer(r"substituted from (\d\d)/(\d\d)/(\d{4})", n):
            d = dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
            if d.year == year:
                work[d] = n
    return off, work


def weekdays(days):
    return {d: n for d, n in days.items() if d.weekday() < 5}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/debug/nhacviec")
    ap.add_argument("--config", help="a config directory (default: none, the built-in data only)")
    ap.add_argument("years", nargs="*", type=int)
    args = ap.parse_args()
    import holidays
    if holidays.__version__ != PINNED:
        print(f"note: holidays {holidays.__version__}, the comparison was made with {PINNED}",
              file=sys.stderr)
    if args.config is None:
        tmp = tempfile.mkdtemp()
        with open(os.path.join(tmp, "nhacviec.toml"), "w", encoding="utf-8"):
            pass
        args.config = tmp
    total = 0
    for year in args.years or range(2010, 2031):
        our_off, our_work, source = ours(args.bin, args.config, year)
        their_off, their_work = theirs(year)
        a, b = weekdays(our_off), weekdays(their_off)
        lines = []
        for d in sorted(set(a) | set(b) | set(our_work) | set(their_work)):
            if (d in a) != (d in b):
                side = "only ours" if d in a else "only holidays"
                lines.append(f"  off   {d:%d/%m/%Y} {d:%a}  {side}: {a.get(d) or b.get(d)}")
            if (d in our_work) != (d in their_work):
                side = "only ours" if d in our_work else "only holidays"
                lines.append(f"  work  {d:%d/%m/%Y} {d:%a}  {side}")
        if lines:
            print(f"{year} ({source})")
            print("\n".join(lines))
        total += len(lines)
    print(f"{total} differences")


if __name__ == "__main__":
    main()
