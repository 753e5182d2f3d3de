"""Prints our time over the peers' per method, from `camlens bench --json` and
`tools/bench_peers.py --out` files of the same model, input and machine.

    python3 tools/compare_bench.py bench/ours-cpu-resnet18.json bench/peers-cpu-resnet18.json
"""
import json
import sys

# Our method id → the peer's id for the same method.
SAME = {"gradcam": "gradcam", "gradcam++": "gradcam++", "xgradcam": "xgradcam",
        "layercam": "layercam", "scorecam-pgc": "scorecam", "scorecam": "scorecam",
        "scorecam++": "scorecam"}
# The methods the peers have under camlens' own ids.
SAME.update({m: m for m in ["hirescam", "gradcam-elementwise", "eigengradcam", "finercam",
                            "shapleycam", "eigencam", "kpcacam", "fem", "randomcam",
                            "ablationcam", "refinecam", "sess", "dff", "sscam", "iscam",
                            "smoothgradcam++", "fullgrad", "guided-backprop",
                            "guided-gradcam", "cam", "legrad"]})


def main(ours_path, peers_path):
    ours = json.load(open(ours_path))
    peers = json.load(open(peers_path))
    theirs = {(r["peer"], r["method"]): r["median_ms"] for r in peers["rows"]}
    precision = f" ({ours['precision']})" if "precision" in ours else ""
    print(f"ours: {ours['device']}{precision}; peers: {peers['device']} (torch {peers['torch']}), {peers['date']}")
    print()
    print("| method (ours) | ours ms | pytorch-grad-cam ms | ours / pgc | torch-cam ms | ours / torch-cam |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in ours["rows"]:
        m = r["method"]
        if m == "gradient methods together":
            peer = "gradcam"
            label = "the gradient methods asked for, together (vs their GradCAM alone)"
        elif m in SAME:
            peer, label = SAME[m], m
            if m == "scorecam++":
                label = "scorecam++ (vs their ScoreCAM)"
        else:
            continue
        cells = [label, f"{r['median_ms']:.1f}"]
        for name in ["pytorch-grad-cam", "torch-cam"]:
            t = theirs.get((name, peer))
            cells += [f"{t:.1f}", f"{r['median_ms'] / t:.2f}"] if t else ["–", "–"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
