#!/usr/bin/env python3
"""docs/ranking.md and docs/ranking.png: every method's faithfulness on imagenet-val for the
built-in Lite0 and torchvision's MobileNetV2, from the summaries of the runs that
tools/eval_full.sh and tools/eval_methods.sh make (each method from the run with the most
images). Win % compares a method with the others of its own run only, so it is shown with the
run it comes from. Rerun after any run: `python3 tools/ranking.py`.

    pip install matplotlib
"""
import json
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = {
    "EfficientNet-Lite0 (built-in, conv_head)": ["imagenet-val-seven", "imagenet-val-more",
                                                  "imagenet-val-lite0-new",
                                                  "imagenet-val-lite0-cam",
                                                  "imagenet-val-lite0-slow",
                                                  "imagenet-val-lite0-whole",
                                                  "imagenet-val-lite0-rise"],
    "MobileNetV2 (torchvision weights, ONNX, /features/features.18/features.18.2/Clip)": [
        "imagenet-val-mobilenet_v2-fast", "imagenet-val-mobilenet_v2-dff",
        "imagenet-val-mobilenet_v2-slow", "imagenet-val-mobilenet_v2-whole",
        "imagenet-val-mobilenet_v2-rise"],
}
# The run of each model with every method on the same images and RISE's curves.
RISE = {"EfficientNet-Lite0 (built-in, conv_head)": "imagenet-val-lite0-rise",
        "MobileNetV2 (torchvision weights, ONNX, /features/features.18/features.18.2/Clip)":
            "imagenet-val-mobilenet_v2-rise"}


def best_rows(runs):
    """Each method's summary from the run with the most images."""
    rows = {}
    for run in runs:
        path = os.path.join(ROOT, "results", run, "summary.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            summary = json.load(f)
        for m in summary["methods"]:
            if m["method"] not in rows or rows[m["method"]][1] < summary["images"]:
                rows[m["method"]] = (m, summary["images"], run)
    return rows


def table(rows):
    order = sorted(rows.values(), key=lambda r: r[0]["average_drop"])
    lines = ["| method | images | Average Drop % ↓ | Increase in Confidence % ↑ | "
             "drop in logit ↑ | Win % (in its run) | run |",
             "|---|---|---|---|---|---|---|"]
    for m, n, run in order:
        lines.append(f"| {m['method']} | {n} | {m['average_drop']:.2f} | "
                     f"{m['increase_in_confidence']:.2f} | {m['logit_drop']:.3f} | "
                     f"{m['win']:.2f} | [{run}](../results/{run}/) |")
    return "\n".join(lines)


def rise_table(run):
    """Every method of `run` by deletion AUC, with its insertion AUC and Average Drop."""
    path = os.path.join(ROOT, "results", run, "summary.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        summary = json.load(f)
    methods = [m for m in summary["methods"] if m.get("deletion_auc") is not None]
    if not methods:
        return None
    lines = [f"{summary['images']} images, every method on the same ones "
             f"([{run}](../results/{run}/)):", "",
             "| method | deletion AUC ↓ | insertion AUC ↑ | Average Drop % ↓ |",
             "|---|---|---|---|"]
    for m in sorted(methods, key=lambda m: m["deletion_auc"]):
        lines.append(f"| {m['method']} | {m['deletion_auc']:.4f} | {m['insertion_auc']:.4f} | "
                     f"{m['average_drop']:.2f} |")
    return "\n".join(lines)


def chart(tables, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(tables), figsize=(7 * len(tables), 8))
    for ax, (name, rows) in zip(axes, tables.items()):
        order = sorted(rows.values(), key=lambda r: -r[0]["average_drop"])
        ax.barh([f"{m['method']} ({n})" for m, n, _ in order],
                [m["average_drop"] for m, _, _ in order], color="#4477aa")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("Average Drop % (lower is better); images in brackets")
        ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    tables = {name: best_rows(runs) for name, runs in MODELS.items()}
    out = ["# Every method ranked: Lite0 and MobileNetV2 on ImageNet",
           "",
           "Written by `python3 tools/ranking.py` from the runs of `tools/eval_full.sh` and "
           "`tools/eval_methods.sh` (2-core x86_64 CPU; the evaluation data is not in the "
           "repository). The predicted class, softmax probabilities, each method at the model's "
           "default layer with its default options; images are a seeded random subset of the "
           "1300 imagenet-val photos (seed 0; a smaller subset is the start of a larger one). "
           "Each method's row comes from the run with the most images, so rows with different "
           "image counts are not the same images: compare those with care. Win % is the share "
           "of images where the method drops least among the methods of its own run. SS-CAM and "
           "IS-CAM run 2 samples per channel (`--score-samples 2`, as the benches do), not their "
           "35 and 10: 35 cost about seven minutes an image on Lite0 on these two cores.",
           "",
           "Deletion and insertion (RISE: the class's probability as the map's most salient "
           "pixels are replaced by the mean colour, or put back into a blurred copy, 224 pixels a "
           "step; "
           "the area under each curve) cost two curves of 225 forward passes per map, so they "
           "come from a smaller run per model with every method on the same images, below each "
           "table.",
           "",
           "![Average Drop of every method, both models](ranking.png)",
           ""]
    for name, rows in tables.items():
        out += [f"## {name}", "", table(rows) if rows else "(no runs yet)", ""]
        rise = rise_table(RISE[name])
        out += ["### Deletion and insertion", "", rise or "(no run yet)", ""]
    with open(os.path.join(ROOT, "docs", "ranking.md"), "w") as f:
        f.write("\n".join(out))
    chart(tables, os.path.join(ROOT, "docs", "ranking.png"))
    print("wrote docs/ranking.md, docs/ranking.png")


if __name__ == "__main__":
    main()
