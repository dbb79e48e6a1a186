#!/usr/bin/env python3
"""Reference ids for tests/test_tokenizer.c, computed with the real Python CLIP tokenizer.

The tokenizer is the official simple_tokenizer.py of the ViCLIP repository, taken from the
InternVideo git mirror with `git show` into a temporary file (it is not copied into this
project), run with ftfy 6.3.1 and the `regex` module. Writes:

  tests/fixtures/tokenizer_cases.tsv         hand-written hard cases + seeded random strings:
                                             JSON string <TAB> raw BPE ids <TAB> ids at context 32
                                             <TAB> decode(raw ids) as a JSON string
  tests/fixtures/tokenizer_invalid_utf8.tsv  hex bytes <TAB> raw ids of bytes.decode('utf-8','replace')
  tests/fixtures/tokenizer_queries.tsv       raw ids of both fields of every line of
                                             ../shared/data/queries.jsonl (the file's sha256 in the header)

Usage: /usr/bin/python3 tools/gen_tokenizer_fixture.py [--mirror GITDIR] [--vocab PATH]
"""
import argparse
import hashlib
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import unicodedata

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FTFY_VERSION = "6.3.1"
REF_PATH = "Data/InternVid/viclip/simple_tokenizer.py"


def ensure_ftfy():
    try:
        import ftfy  # noqa: F401
    except ImportError:
        base = [sys.executable, "-m", "pip", "install", "--user", f"ftfy=={FTFY_VERSION}"]
        if subprocess.run(base).returncode != 0:
            # Debian's python refuses user installs without this flag (PEP 668); --user keeps
            # the install in ~/.local.
            subprocess.run(base + ["--break-system-packages"], check=True)
        import site
        sys.path.insert(0, site.getusersitepackages())
    import ftfy
    if ftfy.__version__ != FTFY_VERSION:
        sys.exit(f"need ftfy {FTFY_VERSION} (the version the C code follows), found {ftfy.__version__}")


def load_reference(mirror):
    src = subprocess.run(["git", "--git-dir", mirror, "show", f"HEAD:{REF_PATH}"],
                         check=True, capture_output=True).stdout
    tmp = tempfile.NamedTemporaryFile("wb", suffix=".py", delete=False)
    tmp.write(src)
    tmp.close()
    spec = importlib.util.spec_from_file_location("ref_simple_tokenizer", tmp.name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    os.unlink(tmp.name)
    return mod


def context_ids(tok, text, ctx):
    """ViCLIP's tokenize(): [SOT] + encode + [EOT], cut to ctx with EOT last, zero padded."""
    sot, eot = tok.encoder["<|startoftext|>"], tok.encoder["<|endoftext|>"]
    tokens = [sot] + tok.encode(text) + [eot]
    if len(tokens) > ctx:
        tokens = tokens[:ctx]
        tokens[-1] = eot
    return tokens + [0] * (ctx - len(tokens))


def hard_cases():
    nfd = lambda s: unicodedata.normalize("NFD", s)
    cases = [
        # basics, contractions, digits, punctuation
        "a playful dog", "", " ", "   \t\n  ", "Hello, World!", "HELLO WORLD", "A Dog Runs In The Snow.",
        "I'm", "don't", "we'll", "they've", "you're", "he'd", "it's", "IT'S", "O'Neil", "'s", "'S",
        "rock'n'roll", "'ll've'd'm're't", "dogs' toys", "''", "'", "y'all", "'sup", "can't won't shouldn't",
        "1234567890", "3.14159", "2023-01-01", "10,000", "$100", "50%", "١٢٣ ٤٥٦", "²³¹", "½ ¾ ⅓", "Ⅻ ⅻ",
        "①②③", "१२३", "１２３", "𝟏𝟐𝟑", "0x1F", "1st 2nd 3rd",
        "!!!???...", "---", "...", "@#$%^&*()", "«guillemets»", "a—b–c", "…", "**bold**", "~~~", "a/b\\c",
        "[brackets] {braces} (parens)", "¿Qué? ¡Sí!", "“Hello” ‘world’", "‚low‛ „double‟ ʼapostrophe",
        "it’s a dog’s life", "“it’s”", "\"quoted\"",
        # markup and the special tokens
        "<b>bold</b> &amp; more", "a<b & c &amp; d", "</w>", "a</w>b", "<|startoftext|>", "<|endoftext|>",
        "<|STARTOFTEXT|>", "<|startoftext|>hello<|endoftext|>", "<|ſtartoftext|>", "'ſ", "<|endoftext|>x",
        "<|start of text|>", "<|", "|>", "<>",
        # HTML entities (ftfy's unescape, then html.unescape twice)
        "&amp;", "&amp;amp;", "&amp;amp;amp;", "&amp;amp;amp;amp;amp;", "&lt;tag&gt;", "&quot;hi&quot;", "&#39;",
        "&#x27;", "&#8217;", "&#x2019;", "&nbsp;", "a&nbsp;b", "&copy 2020", "&copy; 2020", "&notit;",
        "&notin;", "&EACUTE;", "P&EACUTE;REZ", "BUNDESSTRA&SZLIG;E", "&hellip;", "&#0;", "&#128;", "&#x80;",
        "&#150;", "&#55296;", "&#1114112;", "&#x110000;", "&#9999999999;", "&#65", "&#x41", "&amp", "&ampx",
        "&AMP;", "&Amp;", "fish &amp chips", "&#59;", "&lt;b&gt;bold&lt;/b&gt;", "AT&T", "R&D", "b&b",
        "Q&A", "&#x1F600;", "&#128512;", "&#xD83D;&#xDE00;", "&unknown;", "&;", "& ;", "&#;", "&#x;",
        "&ntilde; &Ntilde; &NTILDE; &nTILDE;", "&Jscr;ohn &HilbertSpace;ancock", "&checkmark;",
        "&#x2019;s <b>not</b> unescaped", "line one &amp;\nline two <br> &amp;\nline three &amp;",
        "&#13;", "&#x85;", "&#x9F;", "&#127;", "&#11;", "&#xFFFE;",
        # mojibake that ftfy repairs (and some it must leave alone)
        "cafÃ©", "naÃ¯ve", "Ã  la mode", "voilÃ  le travail", "sÃ³", "â€œquotedâ€\x9d", "â€œquotedâ€�",
        "itâ€™s", "âœ” No problems", "&macr;\\_(ã\x83\x84)_/&macr;", "Ð¿Ñ€Ð¸Ð²ÐµÑ‚", "schÃ¶n", "Ã¼ber",
        "ðŸ˜€", "ðŸ‘\x8d", "CafÃƒÂ©", "Caf√©", "Caf├⌐", "Ðàðîë", "Î•Î»Î»Î·Î½Î¹ÎºÎ¬", "Ã", "Â£100", "Â\xa0",
        "\x80", "\x9d", "\x85", "a\x85b", "The Mona Lisa doesnÃƒÂ¢Ã¢â€šÂ¬Ã¢â€žÂ¢t have eyebrows.",
        b"\xed\xa0\xbd\xed\xb8\x80".decode("latin-1"), "Ã¢Â€Â™", "Ãœber", "I ♥ NY", "2×3=6", "5°C", "90º",
        "fÃ cil", "Ã s vezes", "Ã quele", "PÃ©rez â€“ 2011", "Ã©Ã©Ã©", "ãƒ€ãƒ³ã‚¹", "Ã¯Â»Â¿", "Ãƒ",
        "Ã\xa0", "\u00c3\u00a9\u00c3", "Ñ\x81Ð\xbe", "Γ¿", "â€", "Ã¢â‚¬Å“", "ð\x9f\x98\x80 hi",
        "ГўВЂВ™a", "вЂ™", "Р В Р’В°", "Œuvre", "œil", "EÃ\u0081", "Ã\u0081frica",
        # emoji
        "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f", "❤️",
        "🇺🇸🇯🇵", "1️⃣", "🤷🏽‍♀️", "dog 🐶 and cat 🐱", "🐕🐕🐕", "☃", "⛄️ snowman",
        # scripts
        "一只小狗在雪地里玩耍", "日本語のテキスト", "한국어 텍스트", "\u1100\u1161\u11a8", "\u1100\u1161 \u11a8",
        "كلب يلعب في الثلج", "כלב משחק בשלג", "कुत्ता बर्फ में खेल रहा है", "สุนัขเล่นในหิมะ", "நாய் பனியில்",
        "কুকুর", "ძაღლი", "շուն", "Собака играет в снегу", "Ο σκύλος παίζει στο χιόνι",
        "Con chó chơi trong tuyết", "ᠨᠣᠬᠠᠢ", "ውሻ", "ཁྱི", "ｱｲｳｴｵ", "ﾃﾞｨｽﾞﾆｰ", "ＬＯＵＤ　ＮＯＩＳＥＳ",
        "（括号）", "，。！？；：", "ﾊﾟﾝ", "ｶﾞｷﾞｸﾞ", "Ｕﾀｰﾝ", "￥１００", "￣", "ｰ",
        # combining marks, NFD input, ligatures
        "e\u0301", nfd("café crème brûlée"), nfd("Ångström"), "a\u0308\u0301", "a\u0301\u0308", "\u212b", "\u2126",
        "ﬁ ﬂ ﬀ ﬃ ﬄ ﬅ ﬆ", "Ĳsselmeer", "ǅemal", "ǈ ǋ", "ŉ", "\u0345", "ᾳ", "α\u0345", "ɑ\u0345",
        "Z\u0335\u0321\u0322\u031b\u034e\u0317\u0316\u0313\u0344\u0315a\u0337\u031bl\u0338g\u0334o\u0335",
        "\u0915\u093c", "\u0929", "\u0b47\u0b3e", "\u1025\u102e", "\u05d0\u05b7\u05bc", nfd("한국어"),
        "\u0041\u030a\u0323", "\u0041\u0323\u030a", "\u0300abc", "\u0f73", "\u0344",
        # case mapping
        "İstanbul", "I\u0307", "ISTANBUL", "Straße", "STRASSE", "ẞ", "ΣΑΣ", "ΌΣΟΣ", "Σ.", "aΣ b", "Σ'Σ",
        "ΑΣ\u0301", "ΑΣ\u0301Α", "ᾈ", "\u212a", "ß", "ΩΜΕΓΑ", "Ⓐⓑ", "𝐀𝐁𝐂", "ＡＢＣ", "ǲ", "Ǳ", "ὈΔΥΣΣΕΎΣ",
        "ꭰ", "Ꭰ", "𐐀", "ﬓ",
        # whitespace and control characters
        "\t", "a\tb", "a\nb", "a\r\nb", "a\rb", "a\u00a0b", "a\u2003b", "a\u3000b", "a\u200bb", "a\u2028b",
        "a\u2029b", "a\u0085b", "a\x1cb", "a\x1fb", "\ufeffBOM", "a\u180eb", "a\u202fb", "a\u205fb",
        "  leading and trailing  ", "multiple    spaces", "\u00a0\u00a0nbsp\u00a0", "a\x0bb", "a\x0cb",
        "\x1b[31mred\x1b[0m", "\x1b[\u0663m", "\x1b[1;2", "a\x07b", "a\x7fb", "\u206a", "\ufffc", "\ufff9",
        "a\u200db", "a\u200cb", "\u200f\u200e", "\u2066x\u2069",
        # odd code points
        "Ġ", "\u0100", "ĠĠ", "\ue000", "\uffff", "\U0010ffff", "\U000e0001", "\U0001d173", "\ufffd", "�",
        "\U0001f600\U0001f600", "\u0378", "\U000f0000",
    ]
    # long texts
    sent = "A golden retriever puppy jumps through fresh snow while its owner laughs, 2 kids watch. "
    cases += [
        sent * 14,                                   # > 1000 chars
        (sent * 60)[:5000],
        "a" * 1500,
        "😀" * 300,
        "雪" * 800,
        "1" * 500,
        "!" * 1000,
        "&amp;" * 200,
        "x " * 700,
        "Supercalifragilisticexpialidocious" * 30,
        ("naïve café " * 120).strip(),
        "cafÃ© " * 250,
    ]
    return cases


def random_cases(n, seed=1234):
    """Seeded strings drawn from pools that exercise the clean-up and the split."""
    import ftfy.bad_codecs  # noqa: F401  (registers the sloppy codecs)
    rnd = random.Random(seed)
    words = ["dog", "Snow", "café", "naïve", "Ω", "São", "à", "über", "“q”", "it’s", "—", "…", "€", "Привет",
             "Ελλάδα", "ツ", "日本", "😀", "👍🏽", "Ã", "ß", "İ", "ﬁ", "ＬＯＵＤ", "ｱｲ", "\u00a0", " ", "\n", "\t",
             "&amp;", "&lt;", "<b>", "&eacute;", "&#x2019;", "'s", "'LL", "123", "٣", "½", "e\u0301", "Σ",
             "ΣΑΣ", "\u3000", "，", "!!", "..", "\x85", "\x80", "\u2028", "\r\n", "Ĳ", "가", "\u1100\u1161"]
    encs = ["latin-1", "sloppy-windows-1252", "sloppy-windows-1251", "sloppy-windows-1250",
            "sloppy-windows-1253", "sloppy-windows-1254", "sloppy-windows-1257", "iso-8859-2",
            "macroman", "cp437"]
    out = []
    for _ in range(n):
        s = "".join(rnd.choice(words) for _ in range(rnd.randint(1, 8)))
        r = rnd.random()
        if r < 0.35:
            s = s.encode("utf-8").decode(rnd.choice(encs), "replace")
            if rnd.random() < 0.3:
                s = s.replace("\xa0", " ")
        elif r < 0.45:
            s = "".join(chr(rnd.randint(0x20, 0x2FF)) for _ in range(rnd.randint(1, 10)))
        elif r < 0.5:
            s = "".join(chr(rnd.choice([rnd.randint(0x300, 0x36F), rnd.randint(0x20, 0x7E),
                                        rnd.randint(0x1F300, 0x1F6FF), rnd.randint(0x4E00, 0x9FFF)]))
                        for _ in range(rnd.randint(1, 12)))
        out.append(s.replace("\x00", ""))
    return out


def invalid_utf8_cases(seed=99):
    cases = [b"\xff", b"\xc3", b"caf\xe9", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\x80",
             b"\xe0\x80\xaf", b"abc\x80def", b"\xf0\x9f\x98", b"\xf0\x9f\x98\x80\x80", b"\xc3\x28",
             b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xf8\x88\x80\x80\x80", b"dog \xfe\xff cat",
             b"\xef\xbb\xbfbom", b"\xed\x9f\xbf", b"\xee\x80\x80", b"a\xc2", b"\xc2\xa0x", b"\xe1\x80",
             b"\xf1\x80\x80", b"\xf3\xa0\x81\xa7"]
    rnd = random.Random(seed)
    pool = [bytes([b]) for b in range(0x80, 0x100)] + [b"a", b" ", b"\xc3\xa9", b"\xe2\x80\x99",
                                                        b"\xf0\x9f\x98\x80", b"&amp;"]
    for _ in range(100):
        cases.append(b"".join(rnd.choice(pool) for _ in range(rnd.randint(1, 8))).replace(b"\x00", b""))
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", default="/work/.mirror/OpenGVLab+InternVideo/repo")
    ap.add_argument("--vocab", default=os.path.join(ROOT, "build/assets/bpe_simple_vocab_16e6.txt.gz"))
    ap.add_argument("--queries", default=os.path.join(ROOT, "../shared/data/queries.jsonl"))
    args = ap.parse_args()
    ensure_ftfy()
    import ftfy
    import regex
    ref = load_reference(args.mirror)
    tok = ref.SimpleTokenizer(args.vocab)
    assert tok.encode("a playful dog") == [320, 23871, 1929]
    fx = os.path.join(ROOT, "tests", "fixtures")
    os.makedirs(fx, exist_ok=True)
    versions = (f"Python {sys.version.split()[0]}, unicodedata {unicodedata.unidata_version}, "
                f"regex {regex.__version__}, ftfy {ftfy.__version__}")

    cases = hard_cases()
    n_hard = len(cases)
    cases += random_cases(1000)
    with open(os.path.join(fx, "tokenizer_cases.tsv"), "w", encoding="ascii") as f:
        f.write(f"# generated by tools/gen_tokenizer_fixture.py with {versions}\n")
        f.write(f"# {n_hard} hard cases, then seeded random strings. text (JSON) <TAB> raw BPE ids "
                "<TAB> ViCLIP tokenize() ids at context 32 <TAB> decode(raw ids) (JSON)\n")
        for s in cases:
            assert "\x00" not in s
            raw = tok.encode(s)
            c32 = context_ids(tok, s, 32)
            f.write(f"{json.dumps(s)}\t{' '.join(map(str, raw))}\t{' '.join(map(str, c32))}\t"
                    f"{json.dumps(tok.decode(raw))}\n")

    with open(os.path.join(fx, "tokenizer_invalid_utf8.tsv"), "w", encoding="ascii") as f:
        f.write(f"# generated by tools/gen_tokenizer_fixture.py with {versions}\n")
        f.write("# UTF-8 input bytes (hex, some invalid) <TAB> raw ids of bytes.decode('utf-8', 'replace')\n")
        for b in invalid_utf8_cases():
            f.write(f"{b.hex()}\t{' '.join(map(str, tok.encode(b.decode('utf-8', 'replace'))))}\n")

    if os.path.exists(args.queries):
        data = open(args.queries, "rb").read()
        sha = hashlib.sha256(data).hexdigest()
        lines = data.decode("utf-8").split("\n")
        with open(os.path.join(fx, "tokenizer_queries.tsv"), "w", encoding="ascii") as f:
            f.write(f"# generated by tools/gen_tokenizer_fixture.py with {versions}\n")
            f.write(f"# queries.jsonl sha256 {sha}\n")
            f.write("# line number (1-based) <TAB> field <TAB> raw BPE ids\n")
            for no, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                d = json.loads(line)
                for key in ("search_word_id", "search_word"):
                    f.write(f"{no}\t{key}\t{' '.join(map(str, tok.encode(d[key])))}\n")
    else:
        print(f"note: {args.queries} not found; tokenizer_queries.tsv left as it is")
    print("wrote fixtures to", fx)


if __name__ == "__main__":
    main()
