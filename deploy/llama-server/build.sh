#!/usr/bin/env bash
# Build llama.cpp's own server (`llama-server`, continuous batching) from the llama.cpp source that the
# pinned llama-cpp-python vendors, so `chatdash lm serve` and the embedded provider run the same code.
#
#   deploy/llama-server/build.sh [DEST]
#   deploy/llama-server/build.sh --print-path [DEST]    # only print where the binary is (or will be)
#
# DEST (default ${XDG_CACHE_HOME:-$HOME/.cache}/chatdash/llama-server-VERSION) receives DEST/llama-server.
# Does nothing when that binary exists already. Needs python (with pip), cmake and a C++ compiler; the
# only download is the llama-cpp-python sdist from the package index (pip's cache serves it again).
# Nothing else is fetched: no OpenSSL/BoringSSL/LibreSSL, no web UI assets, no llguidance.
#
# Environment: PYTHON (default python3), JOBS (default 2), REQUIREMENTS (default the repository's
# requirements.lock), LLAMA_CPP_PYTHON_VERSION (overrides the version read from REQUIREMENTS).
# The compile takes 10-15 minutes on 2 cores.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
requirements="${REQUIREMENTS:-$root/requirements.lock}"
python="${PYTHON:-python3}"
jobs="${JOBS:-2}"

version="${LLAMA_CPP_PYTHON_VERSION:-}"
if [[ -z "$version" ]]; then
    if [[ ! -f "$requirements" ]]; then
        echo "build.sh: $requirements not found (set REQUIREMENTS or LLAMA_CPP_PYTHON_VERSION)" >&2
        exit 2
    fi
    version="$(sed -n 's/^llama-cpp-python==\([^[:space:];]*\).*/\1/p' "$requirements" | head -n 1)"
    if [[ -z "$version" ]]; then
        echo "build.sh: no llama-cpp-python==VERSION pin in $requirements" >&2
        exit 2
    fi
fi

print_path=false
if [[ "${1:-}" == "--print-path" ]]; then
    print_path=true
    shift
fi
dest="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/chatdash/llama-server-$version}"
binary="$dest/llama-server"
if [[ "$print_path" == true ]]; then
    echo "$binary"
    exit 0
fi
if [[ -x "$binary" ]]; then
    echo "llama-server (llama-cpp-python $version) is already built: $binary"
    exit 0
fi

for tool in cmake "$python"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build.sh: $tool is not installed; it is needed to build llama-server" >&2
        exit 2
    fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/llama-server-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "Fetching the llama-cpp-python $version sdist (its vendor/llama.cpp is what we build)"
# --no-binary for this one package, not :all:: pip reads the sdist's metadata with its build backend,
# and :all: would compile that backend's own requirements (even cmake) from source too.
"$python" -m pip download --disable-pip-version-check --quiet --no-deps \
    --no-binary llama-cpp-python "llama-cpp-python==$version" -d "$work/sdist"
sdists=("$work"/sdist/llama_cpp_python-*.tar.gz)
tar -xzf "${sdists[0]}" -C "$work"
source_dir="$(find "$work" -maxdepth 3 -type d -path '*/vendor/llama.cpp' | head -n 1)"
if [[ -z "$source_dir" || ! -f "$source_dir/tools/server/CMakeLists.txt" ]]; then
    echo "build.sh: the sdist has no vendor/llama.cpp/tools/server" >&2
    exit 1
fi

echo "Configuring llama.cpp (CPU, portable: GGML_NATIVE=OFF)"
# LLAMA_OPENSSL/BORINGSSL/LIBRESSL: no HTTPS (we serve plain HTTP behind nginx or a cluster ingress),
# so nothing is fetched and no libssl is linked. LLAMA_USE_PREBUILT_UI/BUILD_UI: the web UI is neither
# downloaded nor built with npm (the server gets an empty UI table; `--no-webui` at run time too).
# LLAMA_CURL is ignored by this llama.cpp but kept off for older pins.
cmake -S "$source_dir" -B "$work/build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=OFF \
    -DLLAMA_CURL=OFF \
    -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_BORINGSSL=OFF \
    -DLLAMA_BUILD_LIBRESSL=OFF \
    -DLLAMA_LLGUIDANCE=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_APP=OFF \
    >"$work/configure.log" || { cat "$work/configure.log" >&2; exit 1; }

echo "Compiling llama-server with $jobs jobs (10-15 minutes on 2 cores)"
cmake --build "$work/build" --config Release --target llama-server -j "$jobs"

mkdir -p "$dest"
# Install under a temporary name, then rename: a build that is interrupted leaves no half binary.
install -m 0755 "$work/build/bin/llama-server" "$dest/.llama-server.partial"
mv -f "$dest/.llama-server.partial" "$binary"
"$binary" --version 2>&1 | head -n 2 || true
echo "Built $binary"
