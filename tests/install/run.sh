#!/usr/bin/env bash
# Installs the built keel into a temporary prefix and builds a user's project
# against it twice: with find_package(keel) and with pkg-config.
# Usage: run.sh BUILD_DIR SOURCE_DIR C_COMPILER
set -euo pipefail
build=$1 src=$2 cc=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/keel/mem.h"

cmake -S "$src/tests/install/consumer" -B "$work/cmake" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer"
"$work/cmake/consumer_shared"

pc=$(dirname "$(find "$work/prefix" -name keel.pc)")
flags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs keel)
"$cc" -std=gnu11 "$src/tests/install/consumer/main.c" $flags -o "$work/pkgconfig-consumer"
LD_LIBRARY_PATH="$(dirname "$pc")" "$work/pkgconfig-consumer"
echo "install: find_package and pkg-config consumers built and ran"
