#!/usr/bin/env python3
"""Formats the summaries under results/ (written by `camlens eval`, see tools/eval_full.sh) into
the tables of docs/faithfulness.md, between its `<!-- results:NAME -->` and `<!-- /results:NAME -->` markers.

    python3 tools/results_readme.py            # rewrites docs/faithfulness.md in place
    python3 tools/results_readme.py --print    # only prints the tables

Each table joins a run's softmax-probability summary (`summary.json`) and its logit summary
(`logit/summary.json`, from `camlens eval merge --score logit` on the same rows).
"""
import csv
import json
import pathlib
import random
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def table(run: pathlib.Path) -> str:
    prob = json.loads((run / "summary.json").read_text())
    logit = json.loads((run / "logit" / "summary.json").read_text())
    names = [m["method"] for m in prob["methods"]]
    rows = [
        ("Average Drop %, probabilities (lower is better)", prob, "average_drop", "{:.2f}"),
        ("Increase in Confidence %, probabilities (higher is better)", prob, "increase_in_confidence", "{:.2f}"),
        ("Win %, probabilities", prob, "win", "{:.2f}"),
        ("Average Drop %, logits (lower is better)", logit, "average_drop", "{:.2f}"),
        ("Increase in Confidence %, logits (higher is better)", logit, "increase_in_confidence", "{:.2f}"),
        ("Win %, logits", logit, "win", "{:.2f}"),
        ("Drop in logit when the region is removed (higher is better)", prob, "logit_drop", "{:.3f}"),
        ("flat maps", prob, "flat_maps", "{}"),
    ]

    def best(summary, key, fmt):
        # Judged on the printed values: two methods with the same map (GradCAM and XGradCAM
        # under a global average pool) differ only in f32 rounding and are both bold.
        if key == "flat_maps":
            return set()
        values = [m[key] for m in summary["methods"]]
        target = fmt.format(min(values) if key == "average_drop" else max(values))
        return {i for i, v in enumerate(values) if fmt.format(v) == target}

    out = [f"{prob['images']} images.", "", "| metric | " + " | ".join(names) + " |",
           "|---|" + "---:|" * len(names)]
    for label, summary, key, fmt in rows:
        winners = best(summary, key, fmt)
        cells = []
        for i, m in enumerate(summary["methods"]):
            text = fmt.format(m[key])
            cells.append(f"**{text}**" if i in winners else text)
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def paired(run: pathlib.Path, against: str = "scorecam++", resamples: int = 2000) -> str:
    """`against` minus each other method in Average Drop points (probabilities), per image, with
    a seeded bootstrap 95 % interval over images: whether a subset is large enough to rank."""
    summary = json.loads((run / "summary.json").read_text())
    # The rows the summary was made from: a run still appending has more.
    with open(run / "rows.csv", newline="") as f:
        rows = list(csv.DictReader(f))[: summary["images"]]
    ids = [k[: -len(":o_prob")] for k in rows[0] if k.endswith(":o_prob")]
    names = {m["method"]: m for m in summary["methods"]}
    labels = dict(zip(ids, names))
    if against not in ids or len(rows) < 2:
        return ""

    def drop(r, m):
        y, o = float(r["y_prob"]), float(r[f"{m}:o_prob"])
        return 100.0 * max(0.0, y - o) / y if y > 0 else 0.0

    rng = random.Random(0)
    picks = [[rng.randrange(len(rows)) for _ in rows] for _ in range(resamples)]
    out = ["", "", f"{labels[against]} minus each method, Average Drop in points (probabilities; "
           "negative: ScoreCAM++ keeps more of the score), with a bootstrap 95 % interval over "
           f"the {len(rows)} images, and on how many images ScoreCAM++'s drop is lower, equal "
           "(within 0.001 points, mostly both 0: confidence kept or raised) or higher:", "",
           "| method | difference | 95 % interval | lower / equal / higher |", "|---|---:|---:|---:|"]
    for m in ids:
        if m == against:
            continue
        d = [drop(r, against) - drop(r, m) for r in rows]
        means = sorted(sum(d[i] for i in p) / len(p) for p in picks)
        lo, hi = means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]
        lower = sum(1 for x in d if x < -1e-3)
        higher = sum(1 for x in d if x > 1e-3)
        out.append(
            f"| {labels[m]} | {sum(d) / len(d):+.2f} | [{lo:+.2f}, {hi:+.2f}] "
            f"| {lower} / {len(d) - lower - higher} / {higher} |"
        )
    return "\n".join(out)


DATASETS = {
    "imagenet-val": ("--labels ../shared/data/imagenet-val/labels.csv", 1300, "images"),
    "cats-dogs": ("--folders ../shared/data/cats-dogs --group cat=281-285 --group dog=151-268",
                  1000, "photos"),
}
GRADIENT = "gradcam,gradcam++,xgradcam,layercam"


def commands(run: pathlib.Path) -> str:
    """The sentence and the commands that made a run's rows, with the number of images it holds
    (the seven-method runs grow a seeded random order with --resume: their N is the row count)."""
    dataset, kind = run.name.rsplit("-", 1)
    args, total, noun = DATASETS[dataset]
    n = json.loads((run / "summary.json").read_text())["images"]
    out = f"results/{run.name}"
    if kind == "gradient":
        intro = f"The gradient family on all {total} {noun}:"
        eval_cmd = f"camlens --device cpu eval {args} --methods {GRADIENT} --out {out}"
        merge = f"camlens eval merge --methods {GRADIENT} --score logit --out {out}/logit {out}/rows.csv"
    else:
        if n >= total:
            intro = f"The seven methods on all {total} {noun} (in seed 0's order, `--limit {total} --seed 0`):"
        else:
            intro = (f"The seven methods on a random subset of {n} {noun} (the first {n} of seed 0's "
                     f"order, `--limit {n} --seed 0`):")
        eval_cmd = f"camlens --device cpu eval {args} --limit {n} --seed 0 --out {out}"
        merge = f"camlens eval merge --score logit --out {out}/logit {out}/rows.csv"
    return f"{intro}\n\n```sh\n{eval_cmd}\n{merge}\n```\n\n"


def main() -> None:
    results = ROOT / "results"
    tables = {
        run.name: commands(run) + table(run) + paired(run)
        for run in sorted(results.iterdir())
        # DATASET-KIND runs only (results/rise has its own page section, written by hand).
        if (run / "summary.json").exists() and run.name.rsplit("-", 1)[0] in DATASETS
    }
    if "--print" in sys.argv:
        for name, t in tables.items():
            print(f"## {name}\n\n{t}\n")
        return
    readme = ROOT / "docs" / "faithfulness.md"
    text = readme.read_text()
    for name, t in tables.items():
        pattern = re.compile(rf"(<!-- results:{re.escape(name)} -->\n).*?(<!-- /results:{re.escape(name)} -->)", re.S)
        text, n = pattern.subn(lambda m: m.group(1) + t + "\n" + m.group(2), text)
        if n == 0:
            print(f"docs/faithfulness.md has no markers for {name}", file=sys.stderr)
    readme.write_text(text)


if __name__ == "__main__":
    main()
