#!/usr/bin/env bash
# Installs what viclip needs to build and test, only where it is missing:
#   Debian packages: compiler toolchain, oneDNN (float GEMMs), OpenBLAS (OpenMP build, double GEMMs), zlib, FFmpeg libraries (video decoding);
#   python3-torch/numpy for the reference fixtures and the PyTorch benchmark (optional at run time);
#   the CLIP BPE vocabulary, taken from the PyPI wheel of clip-anytorch (see scripts/get_vocab.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential libdnnl-dev libopenblas-openmp-dev zlib1g-dev python3-numpy pkg-config
      libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libmicrohttpd-dev)
# PyTorch is only for regenerating fixtures and for `make bench`; tests skip visibly without it.
# ffmpeg (the tool) only regenerates the decoder test fixtures (tools/gen_video_fixtures.py);
# python3-av decodes for the PyAV reference comparison (tools/check_frames_pyav.py);
# python3-opencv is the official demo's cv2.resize, the reference for --interp bilinear
# (tools/check_resize_cv2.py, tools/gen_demo_fixture.py). pkg-config builds against viclip.pc.
# chromium and wrk: the serve UI test and the serve load benchmark (both skip visibly without).
# OpenMPI: data-parallel training (`mpirun -np N viclip train`); without it the build is
# single-process and the MPI tests SKIP.
OPTIONAL_PKGS=(python3-torch python3-av ffmpeg python3-opencv chromium wrk openmpi-bin libopenmpi-dev)
# `make fuzz` (scripts/setup.sh fuzz): libFuzzer comes with clang's runtime libraries.
[ "${1:-}" = fuzz ] && PKGS+=(clang libclang-rt-dev libomp-dev)

missing=()
for p in "${PKGS[@]}" "${OPTIONAL_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine where nothing can be installed (no network, no root) still builds: every library
# but the C toolchain is optional (scripts/configure.sh leaves out what is missing and says so).
# VICLIP_NO_INSTALL=1 skips installing (tools/gpu_session.sh: an offline machine).
if [ ${#missing[@]} -gt 0 ] && [ "${VICLIP_NO_INSTALL:-0}" = 1 ]; then
    echo "setup: not installing ${missing[*]} (VICLIP_NO_INSTALL=1); building without what is missing"
elif [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
    if $SUDO apt-get update -qq 2>/dev/null; then
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${PKGS[@]}" >/dev/null \
            || echo "setup: could not install ${PKGS[*]}; building without what is missing"
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${OPTIONAL_PKGS[@]}" >/dev/null \
            || echo "setup: optional packages ${OPTIONAL_PKGS[*]} not installed (fixtures/bench unavailable)"
    else
        echo "setup: cannot install packages here (apt-get update failed); building without what is missing"
    fi
fi

if [ -x scripts/get_vocab.sh ] || [ -f scripts/get_vocab.sh ]; then
    # Without the vocabulary everything builds; the tokenizer and the commands that need it say so.
    bash scripts/get_vocab.sh || echo "setup: no CLIP vocabulary yet (tokenizer tests will fail until it is there)"
fi
