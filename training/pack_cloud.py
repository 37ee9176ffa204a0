"""Assemble the cloud pack (manifest.json + ONNX files) from the cloud model's export.

    /usr/bin/python3 training/pack_cloud.py [--cloud RUNS/cloud-onnx] [--classifier RUNS/scene-classifier] \
        [--coding-pack models/default] [--out models/cloud]

The cloud pack holds what only the cloud runs: the unified Transformer (``cloud.backbone``,
``cloud.image-head``) with its text vocabulary (``cloud.text.vocab``), and for evaluation the scene
attribute classifier (``eval.scene-classifier``) and the scene specification (``eval.scenes.spec``:
answer vocabulary, attribute names, majority-answer baselines). Its image geometry and codebook are
the coding pack's, and it names the coding pack's tokenizer encoder (sha256), whose tokens it was
trained on: the TypeScript side refuses to pair it with another tokenizer. Format: docs/models.md.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import default_run_dir  # noqa: E402
from pack import asset, entry, sha256, tensor_specs, write_manifest  # noqa: E402

# The cloud's model is only run by the cloud: its floats need not match any other peer's.
CLOUD_RUNTIME = "any"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cloud", type=Path, default=None, help="export_cloud.py output (default RUNS/cloud-onnx)")
    ap.add_argument("--classifier", type=Path, default=None, help="scene-classifier run (default RUNS/scene-classifier)")
    ap.add_argument("--coding-pack", type=Path, default=Path("models/default"))
    ap.add_argument("--id", default="cloud-scenes-unified")
    ap.add_argument("--out", type=Path, default=Path("models/cloud"))
    args = ap.parse_args()
    cloud = (args.cloud or default_run_dir("cloud-onnx")).expanduser().resolve()
    clf = (args.classifier or default_run_dir("scene-classifier")).expanduser().resolve()
    coding = json.loads((args.coding_pack / "manifest.json").read_text())
    exp = json.loads((cloud / "export.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)

    models = []
    for role, key in (("cloud.backbone", "backbone"), ("cloud.image-head", "image_head")):
        f = exp["files"][key]
        spec = {"file": f["file"], "inputs": tensor_specs(f["inputs"]), "outputs": tensor_specs(f["outputs"])}
        models.append(entry(role, cloud, args.out, spec, CLOUD_RUNTIME))
    assets = [asset("cloud.text.vocab", cloud, args.out, exp["vocab"]["file"])]
    spec = {"answers": exp["scenes"]["answers"]["vocabulary"], **exp["scenes"]["scene_spec"],
            "vqa_baselines": exp["scenes"]["vqa_baselines"], "special_ids": exp["special_ids"]}
    spec_file = args.out / "scenes_spec.json"
    spec_file.write_text(json.dumps(spec, indent=1) + "\n")
    assets.append({"role": "eval.scenes.spec", "file": spec_file.name, "sha256": sha256(spec_file), "bytes": spec_file.stat().st_size})

    encoder = next(m for m in coding["models"] if m["role"] == "tokenizer.encoder")
    training = {"tokenizer": {"encoder_sha256": encoder["sha256"], "pack": coding["id"]},
                "cloud": {"config": exp["config"], "params": exp["params"], "checkpoint": Path(exp["checkpoint"]).name,
                          "fp16_weights": exp["fp16_weights"], "contract": exp["contract"], "checks": exp["checks"]}}
    summary = default_run_dir("cloud") / "train_summary.json"
    if exp.get("training", {}).get("step") is not None:
        # the exported checkpoint's own step and validation (a run's summary describes its last step only)
        training["cloud"]["training"] = exp["training"]
    elif summary.exists():
        t = json.loads(summary.read_text())
        training["cloud"]["training"] = {k: t[k] for k in ("step", "train_seconds", "final_val", "args", "env") if k in t}
    if "training" in training["cloud"]:
        training["cloud"]["data"] = ("30,000 procedural scenes (training/scenes.py, seed 1000) with captions and QA; "
                                     "photo crops of shared/data/photos; shared/data/captions (real captions)")
    clf_export = clf / "onnx" / "export.json"
    if clf_export.exists():
        cx = json.loads(clf_export.read_text())
        spec_c = {"file": cx["file"], "inputs": tensor_specs(cx["inputs"]), "outputs": tensor_specs(cx["outputs"])}
        models.append(entry("eval.scene-classifier", clf / "onnx", args.out, spec_c, CLOUD_RUNTIME))
        if (clf / "eval.json").exists():
            training["scene_classifier"] = {"eval": json.loads((clf / "eval.json").read_text()), "classes": cx["classes"]}
    else:
        print(f"note: no {clf_export}: the pack has no scene classifier (text-to-image attribute accuracy needs it)")
    write_manifest(args.out, args.id, coding["image"], coding["codebook"], models, assets, training)


if __name__ == "__main__":
    main()
