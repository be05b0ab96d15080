#!/usr/bin/env python3
"""Times commands interleaved: after the warm-up runs, every round runs each command once, the
order reversed every other round, so that a machine shared with other work slows both alike.

    compare.py RUNS WARMUP JSON NAME COMMAND [NAME COMMAND ...]

Each COMMAND runs through `sh -c` with its output discarded; a failing run stops the benchmark
with the end of what it printed on stderr.
Prints min, median and mean wall time of each, and writes every time to JSON.
"""

import json
import statistics
import subprocess
import sys
import time


def run(command):
    started = time.perf_counter()
    done = subprocess.run(["sh", "-c", command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"`{command}` failed ({done.returncode}):\n{done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def main():
    if len(sys.argv) < 6 or (len(sys.argv) - 4) % 2:
        sys.exit(__doc__)
    runs, warmup, output = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    pairs = sys.argv[4:]
    commands = list(zip(pairs[::2], pairs[1::2]))
    for _ in range(warmup):
        for _, command in commands:
            run(command)
    times = {name: [] for name, _ in commands}
    for round_ in range(runs):
        order = commands if round_ % 2 == 0 else commands[::-1]
        for name, command in order:
            times[name].append(run(command))
    results = []
    for name, command in commands:
        samples = times[name]
        results.append({"name": name, "command": command, "times": samples,
                        "min": min(samples), "median": statistics.median(samples),
                        "mean": statistics.mean(samples)})
        print(f"{name:40} min {min(samples):7.3f} s   median {statistics.median(samples):7.3f} s"
              f"   mean {statistics.mean(samples):7.3f} s   ({runs} runs)")
    first, *others = results
    for other in others:
        print(f"{first['name']} / {other['name']}: {first['median'] / other['median']:.3f} (medians), "
              f"{first['min'] / other['min']:.3f} (minimums)")
    with open(output, "w") as out:
        json.dump({"runs": runs, "warmup": warmup, "results": results}, out, indent=2)


if __name__ == "__main__":
    main()
