#!/usr/bin/python3
"""Expected outputs of ViCLIP's caption cleaning (src/text/caption_clean.h) for the tests.

The reference below restates the official pre_text (InternVideo1/Pretrain/ViCLIP/dataset/utils.py)
with max_l=None; Python's re and str do the Unicode work (lower(), \\s).

  /usr/bin/python3 tools/gen_caption_fixture.py
      hand-written tricky strings + seeded random ones -> tests/fixtures/caption/clean.tsv
  /usr/bin/python3 tools/gen_caption_fixture.py --from F.jsonl --out X.tsv
      every string value of every line of F (the test runs this on ../shared/data/queries.jsonl
      into build/tests/; never commit its output)
  /usr/bin/python3 tools/gen_caption_fixture.py --all-code-points --out X.tsv
      every Unicode scalar value c but U+0000 as "X" c "Y" c c "Z" c (lower() of c, final sigma,
      single and doubled whitespace), 64 to a line joined by '|'; run by the test into build/tests/

Output format (TSV, UTF-8): lines starting with '#' are comments; every other line is
    INPUT <TAB> EXPECTED
with these escapes in both fields: '\\\\' backslash, '\\t' tab, '\\n' line feed, '\\r' carriage
return, '\\uXXXX' (4 hex digits) any other control character (Unicode category Cc: U+0000-001F,
U+007F-009F), U+2028, U+2029, and a '#' that would start a line. Everything else is literal.
"""
import argparse
import json
import random
import re
import sys
import unicodedata


def reference_clean(text):
    text = re.sub(r"([,.'!?\"()*#:;~])", '', text.lower())
    text = text.replace('-', ' ').replace('/', ' ').replace('<person>', 'person')
    text = re.sub(r"\s{2,}", ' ', text)
    return text.rstrip('\n').strip(' ')


TRICKY = [
    "A Dog, running: in the snow!",
    "Man's hat (red) * #1 ~ ok; fine?",
    'He said "hello".',
    "#hashtag at the start",
    "jiu-jitsu/karate -- fast",
    "a - b / c",
    "<person> walks a dog",
    "<PERSON> and <Person> meet",
    "<per.son> after dropping the dot",
    "<per-son> keeps its brackets",
    "<person><person>",
    "<<person>>",
    "<pers<person>on>",
    "tab\tsingle stays",
    "tab\t\tdouble collapses",
    "tab-\tafter a hyphen",
    "line\nbreak",
    "line\r\nwindows",
    "ends with newline\n",
    "ends with two newlines\n\n",
    "ends with newline and space\n ",
    "ends with space and newline \n",
    "ends with tab\t",
    " \n leading mixed",
    "\nleading newline",
    "many     spaces",
    "  padded  ",
    "vertical\x0btab and\x0cform feed",
    "file\x1csep\x1c\x1dgroup",
    "unit\x1fsep\x1e\x1erecord",
    "ideographic\u3000space",
    "two\u3000\u3000ideographic",
    "\u3000ideographic at both ends\u3000",
    "nbsp\u00a0single and\u00a0\u00a0double",
    "thin\u2009\u2009space",
    "\u0085next line\u0085\u0085",
    "line\u2028separator\u2029\u2029paragraph",
    "ogham\u1680\u1680space",
    "zero width\u200b\u200bspace is not whitespace",
    "ÉCOLE Ångström ÇA",
    "ΟΔΟΣ ΣΟΦΟΣ",
    "Σ alone, ΑΣ. ΑΣ-ΒΣ",
    "İstanbul",
    "ẞ groß STRASSE",
    "ǅemal ǈ ǋ",
    "ﬁ ligature ŉ",
    "ΐ Ϊ́ ᾼ",
    "Ⅻ roman numeral, Ⓐ circled",
    "𐐀 Deseret 𞤀 Adlam",
    "一个人在雪地里遛狗。",
    "做巴西柔术（初级）",
    "“curly quotes” and ‘single’ stay",
    "fullwidth！？，stay",
    "emoji 🐶🎉 !!",
    "👨‍👩‍👧 family, 🇫🇷 flag",
    "",
    "   ",
    "...",
    "\n",
    "-",
    "trailing punctuation ?!",
    "\u00bfqué pasa?",
    "back\\slash and under_score & ampersand",
    "[brackets] {braces} @at $dollar %percent ^caret +plus =eq |bar `tick",
    "ＦＵＬＬＷＩＤＴＨ",
    "ſ long s, K kelvin, Å angstrom",
    "a\u0345 ypogegrammeni",
]

# pieces for seeded random strings: stages interact (a dropped '.' creates "<person>", '-' next
# to a space makes a run, a tag splits across pieces)
PIECES = [
    "<person>", "<PERSON>", "<per", "son>", "<", ">", " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c",
    "\x1c", "\x1f", "\x85", "\xa0", "\u3000", "\u2028", "\u2009", "-", "/", "--", ",", ".", "'", "!",
    "?", '"', "(", ")", "*", "#", ":", ";", "~", "A", "b", "Dog", "RUN", "Σ", "ΑΣ", "ς", "İ", "ẞ",
    "ǅ", "ﬁ", "狗", "雪", "🐶", "É", "\u0345", "\u0307", "x", "_", "&", "\\", "0", "9", "\u200b",
]


def random_strings(n, seed=20240601):
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14))) for _ in range(n)]


def all_code_points(per_line=64):
    """Every scalar value c as X c Y c c Z c, per_line of them to a string joined by '|'."""
    # not the surrogates (no UTF-8 for them) nor U+0000 (it ends a C string)
    cps = [cp for cp in range(1, 0x110000) if not 0xD800 <= cp <= 0xDFFF]
    for i in range(0, len(cps), per_line):
        yield "|".join("X" + chr(cp) + "Y" + chr(cp) * 2 + "Z" + chr(cp) for cp in cps[i:i + per_line])


# backslash, the control characters (category Cc: U+0000-001F, U+007F-009F), U+2028, U+2029
ESCAPED = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")
SHORT = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape_char(m):
    ch = m.group(0)
    if ch in SHORT:
        return SHORT[ch]
    return "\\u%04X" % ord(ch)


def escape(s):
    text = ESCAPED.sub(escape_char, s)
    return "\\u0023" + text[1:] if text.startswith("#") else text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--from", dest="src", help="JSONL file: clean every string value of every line")
    ap.add_argument("--all-code-points", action="store_true", help="every Unicode scalar value, 64 to a line")
    ap.add_argument("--random", type=int, default=1000, help="seeded random strings after the tricky ones")
    ap.add_argument("--out", default="tests/fixtures/caption/clean.tsv")
    a = ap.parse_args()
    if a.src:
        what = a.src
        texts = []
        with open(a.src, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    texts += [v for v in json.loads(line).values() if isinstance(v, str)]
    elif a.all_code_points:
        what = "every Unicode scalar value c as X c Y c c Z c, 64 to a line joined by |"
        texts = list(all_code_points())
    else:
        what = f"{len(TRICKY)} hand-written strings, then {a.random} seeded random ones"
        texts = TRICKY + random_strings(a.random)
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(f"# generated by tools/gen_caption_fixture.py with Python {sys.version.split()[0]} "
                f"(unicodedata {unicodedata.unidata_version}): {what}\n")
        f.write("# input <TAB> ViCLIP pre_text(input); escapes \\\\ \\t \\n \\r \\uXXXX (see the script)\n")
        for t in texts:
            f.write(escape(t) + "\t" + escape(reference_clean(t)) + "\n")
    print(f"wrote {len(texts)} cases to {a.out}")


if __name__ == "__main__":
    main()
