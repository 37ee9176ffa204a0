"""Render, tokenize and BPE-encode the procedural scenes for the cloud model (stage ``scenes``).

    /usr/bin/python3 training/run.py scenes [--n-train 30000 --n-val 1000 --n-test 1000] [--ckpt ...]

Scenes come from ``scenes.py`` (``make_scene(split_seed, index)``, split seeds train 1000, val 2000,
test 3000: the held-out splits are different seeds, never indices of the training stream). Images are
tokenized with the tokenizer checkpoint (default ``RUNS/tokenizer/best.pt``, fp32 as exported, as
``tokens.py``); text is GPT-2 r50k BPE from the protocol's ``bpeEncode`` through ``npx tsx``
(``tokens.bpe_encode_ts``), so ids match the TypeScript side exactly.

Output ``${UNIMIC_RUNS:-~/.cache/unimic/runs}/scenes`` (``--run-dir``), per split S in train/val/test:

| file | what |
|---|---|
| ``scenes_S.npy`` | int16 [N,16,16] token grids |
| ``scenes_S_captions.npy`` | int16 [N,3,32] compact text ids of the 3 captions (0 = PAD) |
| ``scenes_S_questions.npy`` | int16 [N,8,32] compact ids of the 8 questions |
| ``scenes_S_answers.npy`` | int16 [N,8,8] compact ids of the answers, then EOS (2), then PAD |
| ``scenes_S_qtype.npy`` | int8 [N,8] question type (index into ``scenes.QUESTION_TYPES``) |
| ``scenes_S_attr_shape_count.npy`` etc. | structured attributes (``scenes.ATTR_SPEC``): ``shape_count`` int8 [N,5], ``pair_present`` int8 [N,5,8], ``colour_count`` int8 [N,8], ``background`` int8 [N] |
| ``scenes_S.json`` | per scene: index, background, objects (shape, colour, size, position, x, y, r, rgb), captions, qa ([question, answer, type]) |
| ``real_captions_{train,val}_text.npy`` | int16 [I,5,32]: ``RUNS/tokens/captions_*_text.npy`` remapped to the cloud vocabulary (the grids stay in ``RUNS/tokens``) |
| ``cloud_vocab.json`` | the compact text vocabulary (below) |
| ``meta.json`` | tokenizer checkpoint (sha256), counts, seeds, answer vocabulary, majority-answer baselines, timings |

Cloud text vocabulary (``cloud_vocab.json``): 0 = PAD, 1 = UNK (a BPE id not in ``bpe_ids``),
2 = EOS (end of answer), 3 = ANS (answer start, the first input of the answer slot), ``4 + i`` = the
i-th of ``bpe_ids`` (sorted): every BPE id of the training scene captions, questions and answers plus
every id of the real-caption vocabulary (``RUNS/tokens/caption_vocab.json``). Prompts and questions are
truncated to 32 ids, answers to 7 ids + EOS. Answers are encoded without a leading space ("two").

The photo crops for unconditional inpainting/outpainting and the real captioned images are read by
``train_cloud.py`` directly from ``RUNS/tokens`` (``photos_train.npy``, ``captions_train.npy`` ...).
A split whose files exist is skipped unless ``--force``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenes as S  # noqa: E402
from common import Logger, default_run_dir, fmt_duration, setup_threads, write_json  # noqa: E402
from tokens import BPE_NAME, bpe_encode_ts, encode_u8, load_tokenizer_ckpt, sha256_file  # noqa: E402

PAD, UNK, EOS, ANS, FIRST = 0, 1, 2, 3, 4
TEXT_LEN = 32
ANSWER_LEN = 8
SPLITS = ("train", "val", "test")


def build_cloud_vocab(bpe_ids: Sequence[int]) -> Dict:
    seen = sorted({int(i) for i in bpe_ids})
    return {"bpe": BPE_NAME, "pad": PAD, "unk": UNK, "eos": EOS, "ans": ANS, "first": FIRST,
            "size": FIRST + len(seen), "text_len": TEXT_LEN, "answer_len": ANSWER_LEN, "bpe_ids": seen,
            "rule": "compact id = 0 PAD (fills unused positions), 1 UNK (BPE id not in bpe_ids), 2 EOS (ends an "
                    "answer), 3 ANS (answer start: first input of the answer slot), 4 + index of the BPE id in "
                    "bpe_ids (sorted). Prompts/questions: bpeEncode(text) truncated to text_len ids, PAD after. "
                    "Answers: bpeEncode(answer) (no leading space), then EOS."}


class Compactor:
    def __init__(self, vocab: Dict):
        self.lut = {b: FIRST + i for i, b in enumerate(vocab["bpe_ids"])}
        self.unk = 0

    def __call__(self, ids: Sequence[int], length: int, eos: bool = False) -> np.ndarray:
        out = np.full(length, PAD, dtype=np.int16)
        ids = list(ids)[:length - 1] if eos else list(ids)[:length]
        for k, b in enumerate(ids):
            c = self.lut.get(int(b), UNK)
            self.unk += c == UNK
            out[k] = c
        if eos:
            out[len(ids)] = EOS
        return out


def render_split(split: str, n: int, model, bf16: bool, chunk: int, log) -> Dict:
    seed = S.SPLIT_SEEDS[split]
    grids, descs = [], []
    t0 = time.perf_counter()
    t_render = 0.0
    for start in range(0, n, chunk):
        c = min(chunk, n - start)
        tr = time.perf_counter()
        imgs, d = S.render_batch(seed, start, c)
        t_render += time.perf_counter() - tr
        x = torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()
        grids.append(encode_u8(model, x, bf16))
        for k, dd in enumerate(d):
            dd["index"] = start + k
        descs.extend(d)
        done = start + c
        el = time.perf_counter() - t0
        log(f"{split}: {done}/{n} scenes {done / el:.1f}/s (render {t_render / el * 100:.0f}% of the time) "
            f"eta {fmt_duration(el / done * (n - done))}")
    return {"grids": np.concatenate(grids), "descs": descs, "seconds": time.perf_counter() - t0,
            "render_seconds": t_render}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run.py scenes", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", type=Path, default=None, help="tokenizer checkpoint (default RUNS/tokenizer/best.pt)")
    p.add_argument("--run-dir", type=Path, default=None, help="default ${UNIMIC_RUNS:-~/.cache/unimic/runs}/scenes")
    p.add_argument("--tokens-dir", type=Path, default=None, help="photo/caption token cache (default RUNS/tokens)")
    p.add_argument("--n-train", type=int, default=30000)
    p.add_argument("--n-val", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--chunk", type=int, default=500)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true", help="bf16 autocast tokenizer (faster, ~1.5%% of tokens differ)")
    p.add_argument("--force", action="store_true", help="re-render splits whose files exist")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    run_dir = (args.run_dir or default_run_dir("scenes")).expanduser().resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    tok_dir = (args.tokens_dir or default_run_dir("tokens")).expanduser().resolve()
    log = Logger(run_dir, "scenes.log")
    setup_threads(args.threads)
    ckpt = (args.ckpt or default_run_dir("tokenizer") / "best.pt").expanduser().resolve()
    if not ckpt.exists():
        raise SystemExit(f"tokenizer checkpoint {ckpt} not found (train it first, or pass --ckpt)")
    ck_sha = sha256_file(ckpt)
    model = load_tokenizer_ckpt(ckpt).to(memory_format=torch.channels_last)
    log(f"tokenizer {ckpt} (sha256 {ck_sha[:16]}...) -> {run_dir}")
    t_all = time.perf_counter()
    counts = {"train": args.n_train, "val": args.n_val, "test": args.n_test}
    meta_path = run_dir / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if meta.get("tokenizer", {}).get("sha256") not in (None, ck_sha) and not args.force:
        raise SystemExit("the scene cache holds grids of another tokenizer checkpoint: pass --force")
    meta["tokenizer"] = {"ckpt": str(ckpt), "sha256": ck_sha}
    meta.setdefault("splits", {})

    # 1) render + tokenize (grids and scene descriptions; text comes after the vocabulary is known)
    descs: Dict[str, List[Dict]] = {}
    for split in SPLITS:
        n = counts[split]
        gpath, jpath = run_dir / f"scenes_{split}.npy", run_dir / f"scenes_{split}.json"
        if (not args.force and gpath.exists() and jpath.exists()
                and meta["splits"].get(split, {}).get("n") == n):
            descs[split] = json.loads(jpath.read_text())
            log(f"{split}: {n} scenes cached, skipped (--force re-renders)")
            continue
        r = render_split(split, n, model, args.bf16, args.chunk, log)
        np.save(gpath, r["grids"].astype(np.int16))
        with open(jpath, "w", encoding="utf-8") as f:
            json.dump(r["descs"], f, separators=(",", ":"))
        descs[split] = r["descs"]
        meta["splits"][split] = {"n": n, "split_seed": S.SPLIT_SEEDS[split], "bf16": bool(args.bf16),
                                 "seconds": round(r["seconds"], 1), "render_seconds": round(r["render_seconds"], 1)}
        log(f"{split}: {gpath.name} {r['grids'].shape} in {fmt_duration(r['seconds'])} "
            f"(rendering {r['render_seconds']:.1f}s)")

    # 2) BPE (unique strings only, one npx call) and the compact vocabulary
    t0 = time.perf_counter()
    texts = set()
    for split in SPLITS:
        for d in descs[split]:
            texts.update(d["captions"])
            for q, a, _ in d["qa"]:
                texts.add(q)
                texts.add(a)
    texts = sorted(texts)
    bpe = dict(zip(texts, bpe_encode_ts(texts)))
    train_ids = set()
    for d in descs["train"]:
        for t in d["captions"]:
            train_ids.update(bpe[t])
        for q, a, _ in d["qa"]:
            train_ids.update(bpe[q])
            train_ids.update(bpe[a])
    cap_vocab_path = tok_dir / "caption_vocab.json"
    cap_vocab = json.loads(cap_vocab_path.read_text()) if cap_vocab_path.exists() else None
    if cap_vocab is not None:
        train_ids.update(cap_vocab["bpe_ids"])
    else:
        log(f"note: no {cap_vocab_path}: the vocabulary covers the scene text only")
    vocab = build_cloud_vocab(train_ids)
    write_json(run_dir / "cloud_vocab.json", vocab)
    log(f"BPE of {len(texts)} distinct strings in {time.perf_counter() - t0:.1f}s; cloud vocabulary "
        f"{vocab['size']} ids")

    # 3) text arrays + attributes per split
    comp = Compactor(vocab)
    answer_ids = {a: comp(bpe[a], ANSWER_LEN, eos=True).tolist() for a in S.ANSWERS if a in bpe}
    for split in SPLITS:
        ds = descs[split]
        n = len(ds)
        comp.unk = 0
        cap = np.stack([np.stack([comp(bpe[c], TEXT_LEN) for c in d["captions"]]) for d in ds]) if n else \
            np.zeros((0, S.N_CAPTIONS, TEXT_LEN), np.int16)
        qs = np.zeros((n, S.N_QUESTIONS, TEXT_LEN), np.int16)
        ans = np.zeros((n, S.N_QUESTIONS, ANSWER_LEN), np.int16)
        qt = np.zeros((n, S.N_QUESTIONS), np.int8)
        for i, d in enumerate(ds):
            for j, (q, a, t) in enumerate(d["qa"]):
                qs[i, j] = comp(bpe[q], TEXT_LEN)
                ans[i, j] = comp(bpe[a], ANSWER_LEN, eos=True)
                qt[i, j] = S.QUESTION_TYPES.index(t)
        np.save(run_dir / f"scenes_{split}_captions.npy", cap)
        np.save(run_dir / f"scenes_{split}_questions.npy", qs)
        np.save(run_dir / f"scenes_{split}_answers.npy", ans)
        np.save(run_dir / f"scenes_{split}_qtype.npy", qt)
        attrs = [S.attributes(d) for d in ds]
        for key in S.ATTR_SPEC:
            np.save(run_dir / f"scenes_{split}_attr_{key}.npy",
                    np.stack([a[key] for a in attrs]).astype(np.int8) if n else np.zeros((0,), np.int8))
        # majority-answer baselines (over all questions, and per type, by training-set majority)
        meta["splits"][split].update({"unk_ids": int(comp.unk),
                                      "caption_ids_max": int(max((len(bpe[c]) for d in ds for c in d["captions"]),
                                                                 default=0)),
                                      "question_ids_max": int(max((len(bpe[q]) for d in ds for q, _, _ in d["qa"]),
                                                                  default=0))})
        log(f"{split}: captions {cap.shape}, questions {qs.shape}, answers {ans.shape}; {comp.unk} UNK ids")

    # majority baselines: the training set's most frequent answer, overall and per question type
    def answers_by_type(ds):
        out: Dict[str, List[str]] = {}
        for d in ds:
            for _, a, t in d["qa"]:
                out.setdefault(t, []).append(a)
        return out

    tr = answers_by_type(descs["train"])
    all_tr = [a for v in tr.values() for a in v]
    overall = max(set(all_tr), key=all_tr.count) if all_tr else None
    per_type = {t: max(set(v), key=v.count) for t, v in tr.items()}
    base = {}
    for split in ("val", "test"):
        te = answers_by_type(descs[split])
        n_all = sum(len(v) for v in te.values())
        if not n_all:
            continue
        base[split] = {
            "overall_majority_answer": overall,
            "acc_overall_majority": sum(a == overall for v in te.values() for a in v) / n_all,
            "acc_per_type_majority": sum(a == per_type.get(t) for t, v in te.items() for a in v) / n_all,
            "per_type": {t: {"majority": per_type.get(t), "n": len(v),
                             "acc": sum(a == per_type.get(t) for a in v) / len(v)} for t, v in sorted(te.items())}}
    meta["vqa_baselines"] = base
    meta["answers"] = {"vocabulary": list(S.ANSWERS), "compact_ids": answer_ids}
    meta["text"] = {"bpe": BPE_NAME, "vocab_size": vocab["size"], "text_len": TEXT_LEN, "answer_len": ANSWER_LEN}
    meta["scene_spec"] = {"shapes": list(S.SHAPES), "colours": list(S.COLOUR_NAMES), "backgrounds": list(S.BG_NAMES),
                          "sizes": list(S.SIZES), "positions": list(S.POSITION_NAMES),
                          "question_types": list(S.QUESTION_TYPES), "attributes": S.ATTR_SPEC}

    # 4) real captions remapped from the caption vocabulary to the cloud vocabulary
    if cap_vocab is not None:
        lut = np.full(cap_vocab["size"], UNK, dtype=np.int16)
        lut[0] = PAD
        lut[1] = UNK
        for i, b in enumerate(cap_vocab["bpe_ids"]):
            lut[cap_vocab["first"] + i] = comp.lut[int(b)]
        for split in ("train", "val"):
            src = tok_dir / f"captions_{split}_text.npy"
            if src.exists():
                t = np.load(src).astype(np.int64)
                t = t[..., :TEXT_LEN]
                np.save(run_dir / f"real_captions_{split}_text.npy", lut[t])
                meta.setdefault("real_captions", {})[split] = {"shape": list(t.shape), "source": str(src)}
                log(f"real captions {split}: {t.shape} remapped to the cloud vocabulary")
    meta["seconds_last_invocation"] = round(time.perf_counter() - t_all, 1)
    write_json(meta_path, meta)
    if "test" in base:
        b = base["test"]
        log(f"VQA baselines on test: majority answer {b['overall_majority_answer']!r} {b['acc_overall_majority']:.3f}, "
            f"per-type majority {b['acc_per_type_majority']:.3f}")
    log(f"scenes done in {fmt_duration(time.perf_counter() - t_all)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
