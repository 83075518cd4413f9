#!/usr/bin/env bash
# Builds build/native/jpeg-rgb.node, the JPEG decoder that writes the model's input size directly
# (native/jpeg-rgb.c). Optional: without a C compiler, Node's headers or libjpeg's, it says why and exits 0, and
# the service decodes every image with sharp. Rebuilds only when the source is newer than the module.
#   apt-get install gcc libjpeg62-turbo-dev   # Debian; Node's headers come with the official Node builds
set -uo pipefail
cd "$(dirname "$0")/.."

source=native/jpeg-rgb.c
module=build/native/jpeg-rgb.node
include="$(node -p "require('node:path').join(process.execPath, '..', '..', 'include', 'node')")"
[ "$module" -nt "$source" ] && exit 0

skip () { echo "build-native: $1; images will be decoded with sharp only" >&2; exit 0; }
command -v "${CC:-cc}" >/dev/null || skip "no C compiler (${CC:-cc})"
[ -f "$include/node_api.h" ] || skip "Node's headers are not in $include"
[ -f /usr/include/jpeglib.h ] || [ -n "${JPEG_INCLUDE:-}" ] || skip "libjpeg's headers are missing (apt-get install libjpeg62-turbo-dev)"

mkdir -p build/native
# rpath $ORIGIN: an image that has no libjpeg of its own finds one copied beside the module (the Dockerfile does).
# -ffp-contract=off: no fused multiply-adds (arm64 and clang would fuse), so the resample rounds as plain float code
# does on every machine, which test/image/native-jpeg.test.ts checks to the byte.
"${CC:-cc}" -O2 -ffp-contract=off -fPIC -shared -Wall -Wextra -Werror -DNODE_GYP_MODULE_NAME=jpeg_rgb -I"$include" ${JPEG_INCLUDE:+-I"$JPEG_INCLUDE"} \
  "$source" -ljpeg -lm -Wl,-rpath,'$ORIGIN' -o "$module.tmp" || skip "the compiler failed"
mv "$module.tmp" "$module"
echo "build-native: built $module" >&2
