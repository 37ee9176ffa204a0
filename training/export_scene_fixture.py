"""Write held-out test scenes as a small JSON fixture for the TypeScript tests and bench.

    /usr/bin/python3 training/export_scene_fixture.py [--n 200] [--out test/fixtures/scenes-heldout.json]

From ``RUNS/scenes`` (cloud_data.py), test split (seed 3000, never trained on): per scene the token
grid (int16 little-endian, base64), the captions, the question/answer pairs with their types, and
the per-region labels the scene classifier predicts (shape 0 = empty / 1 + shape, colour, size) and
the background. Text stays text: the TypeScript side BPE-encodes it with the same bpeEncode the
training data used.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenes as S  # noqa: E402
from common import default_run_dir  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes-dir", type=Path, default=None)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("test/fixtures/scenes-heldout.json"))
    args = ap.parse_args()
    d = (args.scenes_dir or default_run_dir("scenes")).expanduser().resolve()
    grids = np.load(d / "scenes_test.npy")[: args.n].astype("<i2")
    descs = json.loads((d / "scenes_test.json").read_text())[: args.n]
    out = []
    for g, s in zip(grids, descs):
        regions = [[0, 0, 0] for _ in S.POSITION_NAMES]
        for o in s["objects"]:
            regions[S.POSITION_NAMES.index(o["position"])] = [1 + S.SHAPES.index(o["shape"]), S.COLOUR_NAMES.index(o["colour"]),
                                                             S.SIZES.index(o["size"])]
        out.append({"index": s["index"], "grid": base64.b64encode(g.tobytes()).decode(), "captions": s["captions"],
                    "qa": s["qa"], "regions": regions, "background": S.BG_NAMES.index(s["background"]["colour"])})
    doc = {"source": "training/scenes.py test split (seed 3000), tokenized by the default pack's tokenizer",
           "grid": "16x16 int16 little-endian, base64", "regions": list(S.POSITION_NAMES),
           "region_labels": "[shape (0 empty, 1 + index in shapes), colour index, size index]",
           "shapes": list(S.SHAPES), "colours": list(S.COLOUR_NAMES), "sizes": list(S.SIZES),
           "backgrounds": list(S.BG_NAMES), "scenes": out}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {args.out}: {len(out)} scenes, {args.out.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
