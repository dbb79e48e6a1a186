#!/usr/bin/env bash
# Puts the CLIP BPE vocabulary at build/assets/bpe_simple_vocab_16e6.txt.gz.
# Source: the PyPI wheel of clip-anytorch (the OpenAI CLIP package, MIT licence), which ships
# clip/bpe_simple_vocab_16e6.txt.gz; the file is checked against its known sha256.
# Without pip (or without network) it falls back to ../shared/data/bpe_simple_vocab_16e6.txt.gz
# when that exists. Does nothing when the file is already present and correct.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=bpe_simple_vocab_16e6.txt.gz
DEST=build/assets/$NAME
SHA256=924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a
WHEEL_PKG=clip-anytorch
WHEEL_VER=2.6.0          # `pip index versions clip-anytorch` lists 2.0 .. 2.6.0
MEMBER=clip/$NAME
FALLBACK=../shared/data/$NAME

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA256" ]; }

if sha_ok "$DEST"; then
    echo "get_vocab: $DEST present (sha256 ok)"
    exit 0
fi
mkdir -p build/assets
[ -e "$DEST" ] && echo "get_vocab: $DEST has the wrong sha256; fetching it again"

PY=$(command -v python3 || true)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "$PY" ] && "$PY" -m pip --version >/dev/null 2>&1; then
    echo "get_vocab: downloading $WHEEL_PKG==$WHEEL_VER from PyPI (pip download --no-deps)"
    if "$PY" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check -q \
            -d "$tmp" "$WHEEL_PKG==$WHEEL_VER"; then
        wheel=$(ls "$tmp"/*.whl 2>/dev/null | head -n1 || true)
        if [ -n "$wheel" ]; then
            if command -v unzip >/dev/null 2>&1; then
                unzip -p "$wheel" "$MEMBER" >"$tmp/$NAME"
            else
                "$PY" - "$wheel" "$MEMBER" "$tmp/$NAME" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[3], "wb") as out:
    out.write(z.read(sys.argv[2]))
EOF
            fi
            if sha_ok "$tmp/$NAME"; then
                mv "$tmp/$NAME" "$DEST"
                echo "get_vocab: wrote $DEST (sha256 ok)"
                exit 0
            fi
            echo "get_vocab: $MEMBER from $(basename "$wheel") has an unexpected sha256; not using it" >&2
        else
            echo "get_vocab: pip produced no wheel" >&2
        fi
    else
        echo "get_vocab: pip download failed (no network?)" >&2
    fi
else
    echo "get_vocab: pip is not available" >&2
fi

if [ -f "$FALLBACK" ]; then
    if sha_ok "$FALLBACK"; then
        cp "$FALLBACK" "$DEST"
        echo "get_vocab: copied $FALLBACK to $DEST (sha256 ok)"
        exit 0
    fi
    echo "get_vocab: $FALLBACK has an unexpected sha256; not using it" >&2
fi

echo "get_vocab: could not obtain $NAME. Install pip (python3 -m pip) with access to PyPI, or" >&2
echo "           place the file at $DEST (sha256 $SHA256), or set VICLIP_VOCAB." >&2
exit 1
