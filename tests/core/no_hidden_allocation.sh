#!/usr/bin/env bash
# libkeel must never allocate behind the caller's back: no object in the static
# library may reference the C library's allocator.
set -euo pipefail
lib=$1
refs=$(nm -u "$lib" | awk '{print $2}' | grep -E '^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|memalign|valloc|pvalloc|strdup|strndup|reallocarray)$' | sort -u || true)
if [ -n "$refs" ]; then
    echo "libkeel references the C allocator: $refs"
    nm -A -u "$lib" | grep -wE "$(echo $refs | tr ' ' '|')"
    exit 1
fi
echo "libkeel references no allocator function"
