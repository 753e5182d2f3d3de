#!/usr/bin/env python3
"""Formats the summaries under results/ (written by `camlens eval`, see tools/eval_full.sh) into
the README's tables, between its `<!-- results:NAME -->` and `<!-- /results:NAME -->` markers.

    python3 tools/results_readme.py            # rewrites README.md in place
    python3 tools/results_readme.py --print    # only prints the tables

Each table joins a run's softmax-probability summary (`summary.json`) and its logit summary
(`logit/summary.json`, from `camlens eval merge --score logit` on the same rows).
"""
import json
import pathlib
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


def main() -> None:
    results = ROOT / "results"
    tables = {run.name: table(run) for run in sorted(results.iterdir()) if (run / "summary.json").exists()}
    if "--print" in sys.argv:
        for name, t in tables.items():
            print(f"## {name}\n\n{t}\n")
        return
    readme = ROOT / "README.md"
    text = readme.read_text()
    for name, t in tables.items():
        pattern = re.compile(rf"(<!-- results:{re.escape(name)} -->\n).*?(<!-- /results:{re.escape(name)} -->)", re.S)
        text, n = pattern.subn(lambda m: m.group(1) + t + "\n" + m.group(2), text)
        if n == 0:
            print(f"README.md has no markers for {name}", file=sys.stderr)
    readme.write_text(text)


if __name__ == "__main__":
    main()
