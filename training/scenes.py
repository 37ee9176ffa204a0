"""Procedural scenes with measurable semantics: images, structured attributes, captions and QA pairs.

    /usr/bin/python3 training/scenes.py --preview /tmp/scenes.png [--n 16] [--seed 0] [--split train]

A scene is a 128x128 RGB image with 1-4 objects on a background, generated deterministically from
``(split seed, index)`` by ``make_scene`` (numpy ``default_rng([split_seed, index])``):

* shapes (5): circle, square, triangle, diamond (a tall rhombus), star (5 points)
* colours (8): red, green, blue, yellow, purple, orange, cyan, pink (each object's RGB is jittered +-12)
* sizes (2): small (radius 7-9 px), large (radius 12-15 px); "radius" is scaled per shape so that
  areas are comparable
* positions (5 regions, at most one object each, so position always identifies an object):
  left (24,64), right (104,64), top (64,24), bottom (64,104), centre (64,64), centre jittered +-3 px
* backgrounds: colour grey, white, black or brown (never an object colour) x style solid, gradient
  (linear, random direction, +-18%) or texture (low-frequency noise + grain)

Objects are drawn at 2x and box-downsampled (antialiased alpha), composited in numpy. A shape repeats
the previous object's shape with p=0.35 so that counts above one are common.

Captions (3 per scene, distinct templates) list the objects grouped by identical attributes, e.g.
"two red circles and a large blue square on a grey background"; size is mentioned in about half of the
captions, positions in the positional template ("a red circle on the left and a blue star at the top
on a black background").

Questions (8 per scene) with one-word answers from the closed ``ANSWERS`` vocabulary:
count ("how many circles are there?", "how many red objects are there?", "how many objects are there?"
-> zero..four), colour ("what colour is the square?"), shape ("what shape is the green object?"),
existence ("is there a red triangle?" -> yes/no, balanced), position ("where is the red circle?" ->
left/right/top/bottom/centre), size ("what size is the star?" -> small/large) and background colour.
Every question that refers to one object uses the simplest description (from shape; colour + "object";
size + shape; colour + shape; size + colour + shape; shape + position; "the object on the left")
that matches exactly one object and does not contain the asked attribute, so answers are unambiguous
by construction. British spelling: "colour", "centre".
"""
from __future__ import annotations

import argparse
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

SIZE = 128
SS = 2                                          # supersampling factor for the object masks

SHAPES = ("circle", "square", "triangle", "diamond", "star")
PLURAL = {s: s + "s" for s in SHAPES}
COLOURS = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 225), "yellow": (240, 210, 40),
    "purple": (140, 60, 190), "orange": (245, 140, 30), "cyan": (40, 200, 210), "pink": (245, 130, 190),
}
COLOUR_NAMES = tuple(COLOURS)
BACKGROUNDS = {"grey": (128, 128, 128), "white": (232, 232, 226), "black": (26, 26, 30), "brown": (112, 80, 54)}
BG_NAMES = tuple(BACKGROUNDS)
BG_STYLES = ("solid", "gradient", "texture")
SIZES = ("small", "large")
POSITIONS = {"left": (24, 64), "right": (104, 64), "top": (64, 24), "bottom": (64, 104), "centre": (64, 64)}
POSITION_NAMES = tuple(POSITIONS)
POS_PHRASE = {"left": "on the left", "right": "on the right", "top": "at the top", "bottom": "at the bottom",
              "centre": "in the centre"}
NUMBERS = ("zero", "one", "two", "three", "four")
ANSWERS = NUMBERS + ("yes", "no") + COLOUR_NAMES + BG_NAMES + SHAPES + POSITION_NAMES + SIZES
QUESTION_TYPES = ("count_shape", "count_colour", "count_all", "colour", "shape", "exist", "position", "size",
                  "background")
QUESTION_WEIGHTS = (0.17, 0.09, 0.05, 0.17, 0.13, 0.15, 0.12, 0.07, 0.05)
N_CAPTIONS = 3
N_QUESTIONS = 8
MAX_OBJECTS = 4
SPLIT_SEEDS = {"train": 1000, "val": 2000, "test": 3000}
# shape "radius" multipliers so that the areas are comparable
SHAPE_SCALE = {"circle": 1.0, "square": 0.9, "triangle": 1.3, "diamond": 1.15, "star": 1.3}


# ----------------------------------------------------------------------------------------- geometry

def _polygon(shape: str, cx: float, cy: float, r: float) -> List[Tuple[float, float]]:
    if shape == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "triangle":
        return [(cx + r * math.cos(a), cy + r * math.sin(a) + 0.2 * r)
                for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + 0.72 * r, cy), (cx, cy + r), (cx - 0.72 * r, cy)]
    if shape == "star":
        pts = []
        for k in range(10):
            a = -math.pi / 2 + k * math.pi / 5
            rr = r if k % 2 == 0 else 0.45 * r
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a) + 0.1 * r))
        return pts
    raise ValueError(shape)


def object_alpha(shape: str, cx: float, cy: float, radius: float) -> Tuple[np.ndarray, int, int]:
    """Coverage in [0,1] of the object's bounding window: (float32 [h,w], top, left) on the 128 grid.

    Drawn at 2x in a window around the object only, then box-downsampled (antialiased)."""
    R = radius * SHAPE_SCALE[shape] * 1.2 + 2
    x0, y0 = max(0, int(math.floor(cx - R))), max(0, int(math.floor(cy - R)))
    x1, y1 = min(SIZE, int(math.ceil(cx + R))), min(SIZE, int(math.ceil(cy + R)))
    w, h = x1 - x0, y1 - y0
    im = Image.new("L", (w * SS, h * SS), 0)
    d = ImageDraw.Draw(im)
    r = radius * SHAPE_SCALE[shape] * SS
    x, y = (cx - x0) * SS, (cy - y0) * SS
    if shape == "circle":
        d.ellipse((x - r, y - r, x + r, y + r), fill=255)
    else:
        d.polygon(_polygon(shape, x, y, r), fill=255)
    im = im.resize((w, h), Image.BOX)
    return np.asarray(im, dtype=np.float32) * (1.0 / 255.0), y0, x0


_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / (SIZE - 1)


def render_background(colour: str, style: str, rng: np.random.Generator) -> np.ndarray:
    base = np.asarray(BACKGROUNDS[colour], dtype=np.float32)
    if style == "solid":
        img = np.broadcast_to(base, (SIZE, SIZE, 3)).copy()
    elif style == "gradient":
        a = rng.uniform(0, 2 * math.pi)
        t = (math.cos(a) * (_XX - 0.5) + math.sin(a) * (_YY - 0.5)) * 2 / math.sqrt(2)   # ~[-1,1]
        amp = rng.uniform(0.10, 0.18)
        img = base[None, None, :] * (1.0 + amp * t[..., None]) + (amp * 40.0) * t[..., None]
    elif style == "texture":
        low = rng.standard_normal(size=(8, 8), dtype=np.float32)
        low_im = Image.fromarray(low).resize((SIZE, SIZE), Image.BICUBIC)
        img = base[None, None, :] + rng.uniform(12, 22) * np.asarray(low_im)[..., None]
        img = img + rng.standard_normal(size=(SIZE, SIZE, 1), dtype=np.float32) * 6.0
    else:
        raise ValueError(style)
    return img


# ----------------------------------------------------------------------------------------- scenes

def sample_scene(rng: np.random.Generator) -> Dict:
    """The structured description (no pixels)."""
    n = int(rng.integers(1, MAX_OBJECTS + 1))
    regions = rng.permutation(len(POSITION_NAMES))[:n]
    objects = []
    for i in range(n):
        if i > 0 and rng.random() < 0.35:
            shape = objects[-1]["shape"]
        else:
            shape = SHAPES[int(rng.integers(len(SHAPES)))]
        colour = COLOUR_NAMES[int(rng.integers(len(COLOUR_NAMES)))]
        size = SIZES[int(rng.integers(2))]
        pos = POSITION_NAMES[int(regions[i])]
        cx, cy = POSITIONS[pos]
        objects.append({
            "shape": shape, "colour": colour, "size": size, "position": pos,
            "x": round(float(cx + rng.uniform(-3, 3)), 2), "y": round(float(cy + rng.uniform(-3, 3)), 2),
            "r": round(float(rng.uniform(7, 9) if size == "small" else rng.uniform(12, 15)), 2),
            "rgb": [int(np.clip(c + rng.integers(-12, 13), 0, 255)) for c in COLOURS[colour]],
        })
    bg = {"colour": BG_NAMES[int(rng.integers(len(BG_NAMES)))], "style": BG_STYLES[int(rng.integers(3))]}
    return {"background": bg, "objects": objects}


def render_scene(desc: Dict, rng: np.random.Generator) -> np.ndarray:
    """uint8 [128,128,3]."""
    img = render_background(desc["background"]["colour"], desc["background"]["style"], rng).astype(np.float32)
    for o in desc["objects"]:
        a, t, l = object_alpha(o["shape"], o["x"], o["y"], o["r"])
        a = a[..., None]
        win = img[t:t + a.shape[0], l:l + a.shape[1]]
        win += (np.asarray(o["rgb"], dtype=np.float32) - win) * a
    img += rng.standard_normal(size=(SIZE, SIZE, 1), dtype=np.float32) * 2.0   # mild grain everywhere
    img += 0.5
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)


# ----------------------------------------------------------------------------------------- language

def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _phrase(n: int, words: Sequence[str], shape: str) -> str:
    body = " ".join(list(words) + [PLURAL[shape] if n > 1 else shape])
    return f"{NUMBERS[n]} {body}" if n > 1 else f"{_article(body)} {body}"


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def object_list(objects: Sequence[Dict], with_size: bool) -> str:
    groups: Dict[Tuple, int] = {}
    for o in objects:
        key = ((o["size"],) if with_size else ()) + (o["colour"], o["shape"])
        groups[key] = groups.get(key, 0) + 1
    return _join([_phrase(n, key[:-1], key[-1]) for key, n in groups.items()])


def make_captions(desc: Dict, rng: np.random.Generator, k: int = N_CAPTIONS) -> List[str]:
    objs, bg = desc["objects"], desc["background"]["colour"]
    templates = rng.permutation(5)[:k]
    out = []
    for t in templates:
        with_size = bool(rng.random() < 0.5)
        lst = object_list(objs, with_size)
        if t == 0:
            out.append(f"{lst} on a {bg} background")
        elif t == 1:
            out.append(f"a {bg} background with {lst}")
        elif t == 2:
            out.append(lst)
        elif t == 3:
            parts = []
            for o in objs:
                words = ([o["size"]] if with_size else []) + [o["colour"], o["shape"]]
                parts.append(f"{_article(words[0])} {' '.join(words)} {POS_PHRASE[o['position']]}")
            out.append(f"{_join(parts)} on a {bg} background")
        else:
            verb = "is" if len(objs) == 1 else "are"
            out.append(f"there {verb} {lst} on a {bg} background")
    return out


_DESCRIPTORS = (("shape",), ("colour",), ("size", "shape"), ("colour", "shape"), ("size", "colour", "shape"),
                ("shape", "position"), ("position",))


def _describe(o: Dict, attrs: Sequence[str]) -> str:
    words = [o[a] for a in ("size", "colour") if a in attrs]
    noun = o["shape"] if "shape" in attrs else "object"
    s = "the " + " ".join(words + [noun])
    if "position" in attrs:
        s += " " + POS_PHRASE[o["position"]]
    return s


def unique_description(objects: Sequence[Dict], i: int, exclude: str) -> Optional[str]:
    o = objects[i]
    for attrs in _DESCRIPTORS:
        if exclude in attrs:
            continue
        if sum(all(p[a] == o[a] for a in attrs) for p in objects) == 1:
            return _describe(o, attrs)
    return None


def make_question(desc: Dict, kind: str, rng: np.random.Generator) -> Optional[Tuple[str, str]]:
    objs = desc["objects"]
    if kind == "count_shape":
        present = sorted({o["shape"] for o in objs})
        shape = present[int(rng.integers(len(present)))] if rng.random() < 0.75 else SHAPES[int(rng.integers(5))]
        n = sum(o["shape"] == shape for o in objs)
        return f"how many {PLURAL[shape]} are there?", NUMBERS[n]
    if kind == "count_colour":
        present = sorted({o["colour"] for o in objs})
        c = present[int(rng.integers(len(present)))] if rng.random() < 0.75 else COLOUR_NAMES[int(rng.integers(8))]
        return f"how many {c} objects are there?", NUMBERS[sum(o["colour"] == c for o in objs)]
    if kind == "count_all":
        return "how many objects are there?", NUMBERS[len(objs)]
    if kind == "background":
        return "what colour is the background?", desc["background"]["colour"]
    if kind == "exist":
        want_yes = rng.random() < 0.5
        with_colour = rng.random() < 0.5
        if want_yes:
            o = objs[int(rng.integers(len(objs)))]
            c, s = o["colour"], o["shape"]
        else:
            for _ in range(20):
                c = COLOUR_NAMES[int(rng.integers(8))]
                s = SHAPES[int(rng.integers(5))]
                hit = any(o["shape"] == s and (not with_colour or o["colour"] == c) for o in objs)
                if not hit:
                    break
            else:
                return None
        words = ([c] if with_colour else []) + [s]
        return f"is there {_article(words[0])} {' '.join(words)}?", "yes" if want_yes else "no"
    attr = {"colour": "colour", "shape": "shape", "position": "position", "size": "size"}[kind]
    i = int(rng.integers(len(objs)))
    d = unique_description(objs, i, attr)
    if d is None:
        return None
    o = objs[i]
    if kind == "colour":
        return f"what colour is {d}?", o["colour"]
    if kind == "shape":
        return f"what shape is {d}?", o["shape"]
    if kind == "position":
        return f"where is {d}?", o["position"]
    return f"what size is {d}?", o["size"]


def make_questions(desc: Dict, rng: np.random.Generator, k: int = N_QUESTIONS) -> List[Tuple[str, str, str]]:
    """k (question, answer, type) triples; distinct questions where the scene allows."""
    out: List[Tuple[str, str, str]] = []
    seen = set()
    p = np.asarray(QUESTION_WEIGHTS) / sum(QUESTION_WEIGHTS)
    tries = 0
    while len(out) < k:
        kind = QUESTION_TYPES[int(rng.choice(len(QUESTION_TYPES), p=p))]
        qa = make_question(desc, kind, rng)
        tries += 1
        if qa is None or (qa[0] in seen and tries < 200):
            continue
        seen.add(qa[0])
        out.append((qa[0], qa[1], kind))
    return out


def make_scene(split_seed: int, index: int, render: bool = True) -> Dict:
    """Everything about scene ``index`` of a split: attributes, captions, QA and (optionally) pixels."""
    rng = np.random.default_rng([split_seed, index])
    desc = sample_scene(rng)
    text_rng = np.random.default_rng([split_seed, index, 1])
    desc["captions"] = make_captions(desc, text_rng)
    desc["qa"] = [list(t) for t in make_questions(desc, text_rng)]
    if render:
        desc["image"] = render_scene(desc, np.random.default_rng([split_seed, index, 2]))
    return desc


# ----------------------------------------------------------------------------------------- attributes

ATTR_SPEC = {
    "shape_count": {"shape": [len(SHAPES)], "classes": MAX_OBJECTS + 1, "index": list(SHAPES),
                    "meaning": "number of objects of each shape (0..4)"},
    "pair_present": {"shape": [len(SHAPES), len(COLOUR_NAMES)], "classes": 2,
                     "index": [list(SHAPES), list(COLOUR_NAMES)],
                     "meaning": "1 if an object of this shape and colour is present"},
    "colour_count": {"shape": [len(COLOUR_NAMES)], "classes": MAX_OBJECTS + 1, "index": list(COLOUR_NAMES),
                     "meaning": "number of objects of each colour (0..4)"},
    "background": {"shape": [], "classes": len(BG_NAMES), "index": list(BG_NAMES), "meaning": "background colour"},
}


def attributes(desc: Dict) -> Dict[str, np.ndarray]:
    sc = np.zeros(len(SHAPES), np.int8)
    cc = np.zeros(len(COLOUR_NAMES), np.int8)
    pp = np.zeros((len(SHAPES), len(COLOUR_NAMES)), np.int8)
    for o in desc["objects"]:
        s, c = SHAPES.index(o["shape"]), COLOUR_NAMES.index(o["colour"])
        sc[s] += 1
        cc[c] += 1
        pp[s, c] = 1
    return {"shape_count": sc, "pair_present": pp, "colour_count": cc,
            "background": np.int8(BG_NAMES.index(desc["background"]["colour"]))}


def render_batch(split_seed: int, start: int, count: int) -> Tuple[np.ndarray, List[Dict]]:
    imgs = np.empty((count, SIZE, SIZE, 3), np.uint8)
    descs = []
    for k in range(count):
        d = make_scene(split_seed, start + k)
        imgs[k] = d.pop("image")
        descs.append(d)
    return imgs, descs


# ----------------------------------------------------------------------------------------- preview

def preview(path: str, n: int, split_seed: int, start: int = 0, cols: int = 4) -> None:
    from PIL import ImageFont
    import textwrap
    font = ImageFont.load_default()
    cell_w, text_h = 260, 150
    rows = (n + cols - 1) // cols
    sheet = Image.new("RGB", (cols * cell_w, rows * (SIZE * 2 + text_h)), (255, 255, 255))
    d = ImageDraw.Draw(sheet)
    for k in range(n):
        s = make_scene(split_seed, start + k)
        x0, y0 = (k % cols) * cell_w, (k // cols) * (SIZE * 2 + text_h)
        sheet.paste(Image.fromarray(s["image"]).resize((SIZE * 2, SIZE * 2), Image.NEAREST), (x0 + 2, y0))
        lines = textwrap.wrap(f"#{start + k}: {s['captions'][0]}", 42)
        lines += [f"{q} -> {a}" for q, a, _ in s["qa"][:4]]
        y = y0 + SIZE * 2 + 2
        for ln in lines[:10]:
            d.text((x0 + 2, y), ln[:46], fill=(0, 0, 0), font=font)
            y += 13
    sheet.save(path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preview", required=True, help="PNG file to write (a grid of scenes with captions and QA)")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--split", choices=list(SPLIT_SEEDS), default="train")
    p.add_argument("--start", type=int, default=0, help="first scene index")
    p.add_argument("--cols", type=int, default=4)
    p.add_argument("--print", action="store_true", help="also print the scenes as text")
    args = p.parse_args(argv)
    preview(args.preview, args.n, SPLIT_SEEDS[args.split], args.start, args.cols)
    if args.print:
        for k in range(args.n):
            s = make_scene(SPLIT_SEEDS[args.split], args.start + k, render=False)
            print(k, s["background"], [(o["size"], o["colour"], o["shape"], o["position"]) for o in s["objects"]])
            for c in s["captions"]:
                print("   C:", c)
            for q, a, t in s["qa"]:
                print(f"   Q[{t}]: {q} -> {a}")
    print(f"wrote {args.preview}")
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
