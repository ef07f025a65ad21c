#!/usr/bin/env python3
"""Compare builds of the engine on this noisy host: alternate `roadcode engine bench` runs and print
medians.

    python3 tools/engine_ab.py --rounds 8 base=/path/to/old/roadcode new=target/release/roadcode
    python3 tools/engine_ab.py --records 3000000 -- base=old/roadcode new=new/roadcode:rules1.toml

A build is LABEL=BINARY, or LABEL=BINARY:RULES for a rules file. Runs alternate build by build, so a
slow phase of the host falls on all builds alike.

Absolute rates move by about 20 % from run to run here. The share of one stage in the same run moves
far less, because a slow phase slows every stage, so a change to one stage is judged by
`stage / rest`: that stage's time over the other stages' time in the same run (docs/BENCHMARKS.md).
"""
import argparse
import json
import statistics
import subprocess
import sys

def run(binary, rules, records):
    command = [binary, "engine", "bench", "--records", str(records), "--json"]
    if rules:
        command += ["--rules", rules]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("builds", nargs="+", help="LABEL=BINARY[:RULES]")
    args = parser.parse_args()
    builds = []
    for spec in args.builds:
        label, _, rest = spec.partition("=")
        binary, _, rules = rest.partition(":")
        builds.append((label, binary, rules))
    runs = {label: [] for label, _, _ in builds}
    for round_ in range(args.rounds):
        for label, binary, rules in builds:
            result = run(binary, rules, args.records)
            runs[label].append(result)
            print(f"round {round_ + 1} {label}: {result['records_per_s']:,.0f} records/s",
                  file=sys.stderr)
    first = builds[0][0]
    for label, _, _ in builds:
        results = runs[label]
        rates = [r["records_per_s"] for r in results]
        ratios = [r["records_per_s"] / b["records_per_s"] for r, b in zip(results, runs[first])]
        # The stages the bench reports (a list kept here would drift from it).
        stages = list(results[0]["stage_ms"])
        shares = {}
        for stage in stages:
            values = []
            for r in results:
                ms = r["stage_ms"]
                rest = sum(ms[s] for s in stages if s != stage)
                values.append(ms[stage] / rest if rest else float("nan"))
            shares[stage] = round(statistics.median(values), 4)
        print(json.dumps({
            "build": label,
            "records_per_s_median": round(statistics.median(rates)),
            "records_per_s": [round(r) for r in rates],
            f"ratio_to_{first}_median": round(statistics.median(ratios), 3),
            "stage_ms_median": {
                s: statistics.median(r["stage_ms"][s] for r in results) for s in stages
            },
            "stage_over_rest_median": shares,
            "bytes_per_active_cell_median": round(
                statistics.median(r["bytes_per_active_cell"] for r in results)),
            "rss_growth_mb_median": round(statistics.median(r["rss_growth_mb"] for r in results), 1),
        }, ensure_ascii=False))


if __name__ == "__main__":
    main()
