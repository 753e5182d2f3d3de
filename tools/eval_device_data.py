#!/usr/bin/env python3
"""Prepares the images that the seven-method evaluation still lacks for a lent GPU machine.

    python3 tools/eval_device_data.py [--data ../shared/data] PART_MB [PART_MB ...]
    python3 tools/eval_device_data.py [--data ../shared/data] --merge PART-iv.csv PART-cd.csv ...

A lent machine receives the working tree and at most 64 MiB beside it, but not ../shared: the
missing images travel in parts, copied into `.evaldata/p1`, `.evaldata/p2`, … (git-ignored), each
at most PART_MB megabytes. The parts take the images from the END of the seed-0 order that
`tools/eval_full.sh` follows (`--limit N --seed 0`), while the runs here go on from its front, so
the two never compute the same image and what is left between them is finished by either.
Each part holds `iv/labels.csv` + `iv/images/` (imagenet-val) and `cd/cat/`, `cd/dog/`
(cats-dogs, the same groups as eval_full.sh); `tools/eval_device.sh PART` evaluates one there.

The image ids in the rows are those of the full data sets (file name; `cat/…`, `dog/…`), so the
rows that come back are added to results/*-seven/rows.csv unchanged: `--merge` takes the files
eval_device.sh returns (`*-iv.csv`: imagenet-val, `*-cd.csv`: cats-dogs), keeps the rows already
there for an image both hold, and writes each rows file back in seed 0's order, the order a run
from scratch writes, so that its summaries are the same too. Stop the runs here first: they read
the rows they skip only when they start.
"""
import os
import shutil
import sys

MASK = (1 << 64) - 1


def splitmix(seed):
    # src/rng.rs's SplitMix64, for eval::select's shuffle.
    s = seed
    while True:
        s = (s + 0x9E3779B97F4A7C15) & MASK
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def seeded(items, limit, seed=0):
    items, r = list(items), splitmix(seed)
    for i in range(len(items) - 1, 0, -1):
        j = next(r) % (i + 1)
        items[i], items[j] = items[j], items[i]
    return items[:limit]


def datasets(data):
    """Per data set: seed 0's order, its rows file, and an image's path; imagenet-val's labels."""
    labels = {}
    for line in open(f"{data}/imagenet-val/labels.csv").read().splitlines()[1:]:
        if line.strip():
            f, c = line.split(",")
            labels[f.strip()] = c.strip()
    cats_dogs = []
    for g in ["cat", "dog"]:
        d = f"{data}/cats-dogs/{g}"
        cats_dogs += [f"{g}/{f}" for f in sorted(os.listdir(d)) if os.path.isfile(f"{d}/{f}")]
    sets = {
        "iv": (seeded(labels, 1300), "results/imagenet-val-seven/rows.csv",
               lambda i: f"{data}/imagenet-val/images/{i}"),
        "cd": (seeded(cats_dogs, 1000), "results/cats-dogs-seven/rows.csv",
               lambda i: f"{data}/cats-dogs/{i}"),
    }
    return sets, labels


def merge(sets, files):
    for key, (order, rows, _) in sets.items():
        lines = open(rows).read().splitlines()
        header, have = lines[0], {l.split(",")[0]: l for l in lines[1:]}
        added = 0
        for f in [f for f in files if f.endswith(f"-{key}.csv")]:
            new = open(f).read().splitlines()
            if new[0] != header:
                sys.exit(f"{f}: other columns than {rows}")
            for l in new[1:]:
                if len(l.split(",")) != len(header.split(",")):
                    sys.exit(f"{f}: incomplete row {l[:60]}")
                if l.split(",")[0] not in have:
                    have[l.split(",")[0]] = l
                    added += 1
        position = {image: k for k, image in enumerate(order)}
        if any(image not in position for image in have):
            sys.exit(f"{rows}: images outside seed 0's order")
        ordered = sorted(have, key=position.get)
        with open(rows, "w") as out:
            out.write(header + "\n" + "".join(have[i] + "\n" for i in ordered))
        print(f"{rows}: {added} rows added, {len(have)} of {len(order)}")


def main():
    args = sys.argv[1:]
    data = "../shared/data"
    if args[:1] == ["--data"]:
        data, args = args[1], args[2:]
    sets, labels = datasets(data)
    if args[:1] == ["--merge"]:
        return merge(sets, args[1:])
    budgets = [float(a) * 1e6 for a in args]
    # From the back of each order, both sets at the same pace (position / images left).
    queue = []
    for key, (order, rows, path) in sets.items():
        done = {l.split(",")[0] for l in open(rows).read().splitlines()[1:]}
        left = [i for i in order if i not in done]
        for k, item in enumerate(reversed(left)):
            queue.append(((k + 0.5) / len(left), key, item, path(item)))
        print(f"{key}: {len(left)} images left of {len(order)}")
    queue.sort()
    shutil.rmtree(".evaldata", ignore_errors=True)
    for n, budget in enumerate(budgets, 1):
        part = f".evaldata/p{n}"
        os.makedirs(f"{part}/iv/images")
        for g in ["cat", "dog"]:
            os.makedirs(f"{part}/cd/{g}")
        used, counts, iv_rows = 0, {"iv": 0, "cd": 0}, []
        while queue and used + os.path.getsize(queue[0][3]) <= budget:
            _, key, item, src = queue.pop(0)
            used += os.path.getsize(src)
            counts[key] += 1
            if key == "iv":
                shutil.copy(src, f"{part}/iv/images/{item}")
                iv_rows.append(f"{item},{labels[item]}")
            else:
                shutil.copy(src, f"{part}/cd/{item}")
        with open(f"{part}/iv/labels.csv", "w") as f:
            f.write("file,class_index\n" + "".join(r + "\n" for r in iv_rows))
        print(f"{part}: {counts['iv']} imagenet-val + {counts['cd']} cats-dogs, {used / 1e6:.1f} MB")
    print(f"left for the runs here: {len(queue)} images")


if __name__ == "__main__":
    main()
