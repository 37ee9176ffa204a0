"""Write the PyTorch reference answers the TypeScript VQA test compares against.

    /usr/bin/python3 training/export_vqa_reference.py [--ckpt RUNS/cloud/model.pt] [--scenes 25]
        [--out test/fixtures/vqa-reference.json]

``cloud_model.answer_greedy`` in fp32 on the first ``--scenes`` held-out test scenes (the scenes of
``test/fixtures/scenes-heldout.json``) x their 8 questions, questions as the training data encodes them
(``scenes_test_questions.npy``). Answers are written as BPE ids (the compact cloud ids mapped back through
``cloud_vocab.json``), EOS dropped: ``packages/cloud-peer/test/unified-model.test.ts`` expects the
ONNX model of ``models/cloud`` to give the same ids. Re-run whenever ``models/cloud`` changes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cloud_model import EOS, PAD, answer_greedy  # noqa: E402
from common import default_run_dir  # noqa: E402
from export_cloud import load_cloud_model  # noqa: E402

FIRST = 4  # cloud_data.py: compact ids below this are PAD, UNK, EOS, ANS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, default=None, help="default RUNS/cloud/model.pt")
    ap.add_argument("--scenes-dir", type=Path, default=None, help="default RUNS/scenes")
    ap.add_argument("--scenes", type=int, default=25)
    ap.add_argument("--out", type=Path, default=Path("test/fixtures/vqa-reference.json"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    ckpt = (args.ckpt or default_run_dir("cloud") / "model.pt").expanduser().resolve()
    sd = (args.scenes_dir or default_run_dir("scenes")).expanduser().resolve()
    model = load_cloud_model(ckpt)
    vocab = json.loads((sd / "cloud_vocab.json").read_text())
    bpe_ids = vocab["bpe_ids"]
    n = args.scenes
    grids = torch.from_numpy(np.load(sd / "scenes_test.npy")[:n].reshape(n, -1).astype(np.int64))
    questions = np.load(sd / "scenes_test_questions.npy")[:n].astype(np.int64)  # [n, 8, text_len]
    answers = []
    for i in range(n):
        q = torch.from_numpy(questions[i])
        out = answer_greedy(model, q, grids[i:i + 1].expand(q.shape[0], -1)).numpy()
        row = []
        for a in out:
            ids = []
            for t in a:
                if t in (EOS, PAD):
                    break
                ids.append(int(bpe_ids[t - FIRST]) if t >= FIRST else -1)
            row.append(ids)
        answers.append(row)
    doc = {"source": f"PyTorch fp32 cloud_model.answer_greedy on {ckpt.name} (the model of models/cloud), first {n} "
                     f"held-out scenes x 8 questions (training/export_vqa_reference.py)",
           "answers_bpe": answers}
    args.out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {args.out}: {n} scenes x {questions.shape[1]} answers")


if __name__ == "__main__":
    main()
