#!/usr/bin/python3
"""Expected outputs of ViCLIP's caption cleaning (src/text/caption_clean.h) for tests.

The reference below restates the official pre_text (InternVideo1/Pretrain/ViCLIP/dataset/utils.py)
with max_l=None; Python's re and str do the Unicode work (lower(), \\s).

  /usr/bin/python3 tools/gen_caption_fixture.py                 # tests/fixtures/caption/clean.jsonl
  /usr/bin/python3 tools/gen_caption_fixture.py --from F.jsonl --out X.jsonl
      every string value of every line of F (used by the tests on ../shared/data/queries.jsonl,
      written under build/ at test time; never committed)

Output: one JSON object per line, {"in": ..., "out": ...}.
"""
import argparse
import json
import re


def reference_clean(text):
    text = re.sub(r"([,.'!?\"()*#:;~])", '', text.lower())
    text = text.replace('-', ' ').replace('/', ' ').replace('<person>', 'person')
    text = re.sub(r"\s{2,}", ' ', text)
    return text.rstrip('\n').strip(' ')


TRICKY = [
    "A Dog, running: in the snow!",
    "Man's hat (red) * #1 ~ ok; fine?",
    'He said "hello".',
    "jiu-jitsu/karate -- fast",
    "<person> walks a dog",
    "<PERSON> and <Person> meet",
    "<per.son> after dropping the dot",
    "<per-son> keeps its brackets",
    "<person><person>",
    "tab\tsingle stays",
    "tab\t\tdouble collapses",
    "line\nbreak",
    "ends with newline\n",
    "ends with newline and space\n ",
    " \n leading mixed",
    "many     spaces",
    "  padded  ",
    "ideographic\u3000space",
    "two\u3000\u3000ideographic",
    "nbsp\u00a0single and\u00a0\u00a0double",
    "thin\u2009\u2009space",
    "\u0085next line\u0085\u0085",
    "ÉCOLE Ångström ÇA",
    "ΟΔΟΣ ΣΟΦΟΣ",
    "İstanbul",
    "ẞ groß STRASSE",
    "ǅemal",
    "一个人在雪地里遛狗。",
    "做巴西柔术（初级）",
    "emoji 🐶🎉 !!",
    "",
    "   ",
    "...",
    "a - b / c",
    "trailing punctuation ?!",
    "\u00bfqué pasa?",
    "x\u200by zero width",
    "ＦＵＬＬＷＩＤＴＨ",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--from", dest="src")
    ap.add_argument("--out", default="tests/fixtures/caption/clean.jsonl")
    a = ap.parse_args()
    texts = list(TRICKY)
    if a.src:
        texts = []
        with open(a.src, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    texts += [v for v in json.loads(line).values() if isinstance(v, str)]
    with open(a.out, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"in": t, "out": reference_clean(t)}, ensure_ascii=False) + "\n")
    print(f"wrote {len(texts)} cases to {a.out}")


if __name__ == "__main__":
    main()
