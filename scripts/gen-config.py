#!/usr/bin/env python3
"""Generates synthetic configs for benchmarks and fault scripts.

    scripts/gen-config.py digests DIR N PORT [TASKS]  # N agencies, TASKS tasks (default 1) due
                                               # for all on 1/6/2022, each agency's digest listing
                                               # them, sent by SMTP to 127.0.0.1:PORT
    scripts/gen-config.py national DIR [YEAR]  # 34 provinces x 30 tasks, 12,002 agencies; dated
                                               # times in YEAR (default 2022), plans issued
                                               # 24/3/2022 and in force until 31/12/YEAR
"""
import os
import sys


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def digests(d, n, port, tasks=1):
    write(f"{d}/nhacviec.toml", f'state_dir = "state"\n\n[email]\ntransport = "smtp"\nurl = "smtp://127.0.0.1:{port}"\ntls = "none"\nfrom = "Nhắc việc <nv@tinh.example>"\npool_size = 8\n')
    parts = ['[[level]]\nid = "tinh"\nname = "cấp tỉnh"\n']
    for i in range(n):
        parts.append(f'[[agency]]\nid = "a{i}"\nname = "Cơ quan {i}"\nlevel = "tinh"\nemail = ["a{i}@tinh.example"]\n')
    parts.append('[[group]]\nid = "all"\nname = "Tất cả"\nlevel = "tinh"\n')
    write(f"{d}/agencies.toml", "\n".join(parts))
    plan = ['[plan]\nnumber = "1/KH"\ntitle = "T"\nissuer = "U"\nissued = 2022-01-01\n']
    for t in range(tasks):
        title = "Việc" if tasks == 1 else f"Nhiệm vụ {t}"
        plan.append(f'[[task]]\nid = "{t + 1}"\ntitle = "{title}"\nlead = ["all"]\ndue = 2022-06-01\n')
    write(f"{d}/plans/p.toml", "\n".join(plan))


def national(d, year=2022):
    y = year
    times = [f"Quý II/{y}", f"Quý III, IV/{y}", f"tỉnh từ ngày 01/6/{y}; cấp xã từ ngày 01/12/{y}", "Hằng quý", "Hằng tháng", f"Trước ngày 15/12/{y}", f"Tháng 5, 8, 11/{y}"]
    # A plan "đến năm 2030" runs until its last year; the default keeps the first fixture.
    until = "" if year == 2022 else f"until = {y}-12-31\n"
    write(f"{d}/nhacviec.toml", 'state_dir = "state"\n')
    parts = ['[[level]]\nid = "tinh"\nname = "cấp tỉnh"\naliases = ["tỉnh"]\n', '[[level]]\nid = "xa"\nname = "cấp xã"\naliases = ["xã"]\n']
    for p in range(34):
        depts, communes = [], []
        for i in range(353):
            level = "tinh" if i < 30 else "xa"
            aid = f"p{p}-a{i}"
            parts.append(f'[[agency]]\nid = "{aid}"\nname = "Cơ quan {i} tỉnh {p}"\nlevel = "{level}"\nemail = ["{aid}@tinh{p}.example"]\n')
            (depts if i < 30 else communes).append(f'"{aid}"')
        parts.append(f'[[group]]\nid = "p{p}-so"\nname = "Sở, ngành tỉnh {p}"\nmembers = [{", ".join(depts)}]\n')
        parts.append(f'[[group]]\nid = "p{p}-xa"\nname = "UBND cấp xã tỉnh {p}"\nmembers = [{", ".join(communes)}]\n')
        tasks = [f'[plan]\nnumber = "{p}/KH-UBND"\ntitle = "Kế hoạch {p}"\nissuer = "UBND tỉnh {p}"\nissued = 2022-03-24\n{until}']
        for t in range(30):
            tasks.append(f'[[task]]\nid = "{t}"\ntitle = "Nhiệm vụ {t}"\nlead = ["p{p}-so"]\nsupport = ["p{p}-xa"]\ntime = "{times[t % len(times)]}"\n')
        write(f"{d}/plans/{p}.toml", "\n".join(tasks))
    write(f"{d}/agencies.toml", "\n".join(parts))


if __name__ == "__main__":
    kind, d = sys.argv[1], sys.argv[2]
    if kind == "digests":
        digests(d, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    else:
        national(d, int(sys.argv[3]) if len(sys.argv) > 3 else 2022)
