#!/usr/bin/env bash
# GPU check: the CUDA and WebGPU providers against the CPU on the bench model (the ViT-S/16-sized synthetic backbone
# of `npm run bench`), in images a second and in the largest absolute difference from the CPU's answer. It is made for
# a machine that has an NVIDIA GPU but may have no Node, no npm and no network, in two steps:
#
#   1. HERE, in a checkout after `npm ci`, where the npm registry is reachable:
#        scripts/gpu-check.sh --pack DIR [--no-cuda] [--archive]
#      DIR gets everything the check needs (about 400 MB, 140 without CUDA): this machine's `node`, the runner
#      (scripts/gpu-check/runner.ts, bundled with the bench model's generator), the project's onnxruntime-node (CPU and
#      WebGPU providers), libvulkan.so.1 and this script. For CUDA it adds onnxruntime-node 1.29.0 with the CUDA
#      provider library of the same ONNX Runtime release, built for CUDA 13 and cuDNN 9, taken from the npm package
#      com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 (onnxruntime-node's own installer fetches that library from
#      NuGet; no npm package ships one for 1.30, and a provider library runs only with the ONNX Runtime it was built
#      with, so the CUDA row runs on 1.29.0, the CPU and WebGPU rows on the project's 1.30). --no-cuda leaves it out;
#      --archive also writes DIR.tar.xz (one file to copy; about 210 MB, of which the CUDA provider is 165; 37 MB with --no-cuda).
#   2. THERE (copy DIR, or DIR.tar.xz and `tar -xJf` it):
#        DIR/gpu-check.sh [--providers cuda,webgpu,cpu] [--batch 8] [--size 224] [--seconds 8] [--timeout 300]
#      It makes the bench model (seed 0, a few seconds), runs each provider in its own process (CPU first: its answer is
#      the reference), and prints a table: load time, first run, img/s and median ms at batch 1 and at --batch, speed
#      against the CPU, max |diff| against the CPU. A provider that cannot load gets a line saying why (no CUDA
#      provider in the pack, a CUDA library not found, no Vulkan adapter) and the others still run; the exit code is 1
#      when any did not run. About 1 to 3 minutes on a GPU machine.
#      CUDA 13's libraries are looked for in Python's nvidia-* packages (site-packages/nvidia/*/lib) and the driver's
#      folders; WebGPU uses NVIDIA's Vulkan driver where its ICD file is found (else whatever the Vulkan loader offers),
#      and the packed libvulkan.so.1 where the system has none. Set LD_LIBRARY_PATH or VK_DRIVER_FILES to override.
#
# Without a GPU, step 2 on this machine checks the pack itself: `DIR/gpu-check.sh --providers webgpu,cpu` runs WebGPU
# on Mesa's lavapipe (see test/gpu/) and prints the same table.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage () {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

pack () {
  local dir=$1 cuda=$2 archive=$3
  local repo
  repo=$(cd "$here/.." && pwd)
  [ -f "$repo/node_modules/onnxruntime-node/package.json" ] || { echo "gpu-check: run npm ci first (no node_modules in $repo)" >&2; exit 2; }
  rm -rf "$dir" && mkdir -p "$dir/bin" "$dir/lib" "$dir/ort"
  dir=$(cd "$dir" && pwd)

  cp "$(command -v node)" "$dir/bin/node"
  "$repo/node_modules/.bin/esbuild" "$repo/scripts/gpu-check/runner.ts" --bundle --platform=node --format=esm --target=node20 \
    --external:onnxruntime-node --log-level=warning --outfile="$dir/runner.mjs" \
    --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"
  cp "${BASH_SOURCE[0]}" "$dir/gpu-check.sh" && chmod +x "$dir/gpu-check.sh"

  # Only what loading needs: the JavaScript, the native binding and ONNX Runtime (no install script, no headers).
  local ort="$dir/ort/project/node_modules"
  mkdir -p "$ort/onnxruntime-node/bin/napi-v6/linux"
  cp -r "$repo/node_modules/onnxruntime-common" "$ort/"
  cp -r "$repo/node_modules/onnxruntime-node/package.json" "$repo/node_modules/onnxruntime-node/dist" "$ort/onnxruntime-node/"
  cp -r "$repo/node_modules/onnxruntime-node/bin/napi-v6/linux/x64" "$ort/onnxruntime-node/bin/napi-v6/linux/"

  local vulkan
  # awk reads to the end: leaving early would kill ldconfig with SIGPIPE, which pipefail and set -e turn into exit 141.
  vulkan=$(ldconfig -p 2>/dev/null | awk '/libvulkan\.so\.1 .*x86-64/ && found == "" { found = $NF } END { print found }')
  if [ -n "$vulkan" ]; then
    cp -L "$vulkan" "$dir/lib/libvulkan.so.1"
  else
    echo "gpu-check: warning: no libvulkan.so.1 here to pack (apt-get install libvulkan1); WebGPU will need the GPU machine's own" >&2
  fi

  if [ "$cuda" = 1 ] && ! pack_cuda "$dir"; then
    rm -rf "$dir/ort/cuda"
    echo "gpu-check: warning: the CUDA provider could not be packed; the CUDA row will say so" >&2
  fi

  echo "packed into $dir ($(du -sh "$dir" | cut -f1)):"
  (cd "$dir" && find . -type f -size +1M -exec ls -sh {} \; | sort -k2)
  if [ "$archive" = 1 ]; then
    tar -C "$(dirname "$dir")" -cJf "$dir.tar.xz" "$(basename "$dir")"
    echo "archive: $dir.tar.xz ($(du -sh "$dir.tar.xz" | cut -f1)); there: tar -xJf $(basename "$dir").tar.xz && $(basename "$dir")/gpu-check.sh"
  fi
  echo "there: $dir/gpu-check.sh [--providers cuda,webgpu,cpu]"
}

# onnxruntime-node 1.29.0 and the CUDA provider library of ONNX Runtime 1.29.0 (CUDA 13), both from the npm registry.
pack_cuda () {
  local dir=$1 tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"; trap - RETURN' RETURN
  (cd "$tmp" && npm pack --silent onnxruntime-node@1.29.0 onnxruntime-common@1.29.0 com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 >/dev/null) || return 1
  local ort="$dir/ort/cuda/node_modules"
  mkdir -p "$ort/onnxruntime-node" "$ort/onnxruntime-common" "$tmp/gpu"
  tar -xzf "$tmp"/onnxruntime-node-1.29.0.tgz -C "$ort/onnxruntime-node" --strip-components=1 package/package.json package/dist package/bin/napi-v6/linux/x64
  tar -xzf "$tmp"/onnxruntime-common-1.29.0.tgz -C "$ort/onnxruntime-common" --strip-components=1
  tar -xzf "$tmp"/com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz -C "$tmp/gpu" --strip-components=1
  local native="$ort/onnxruntime-node/bin/napi-v6/linux/x64"
  cp "$tmp/gpu/Plugins/Linux/x64/libonnxruntime_providers_cuda.so" "$tmp/gpu/Plugins/Linux/x64/libonnxruntime_providers_shared.so" "$native/"
  # The provider library must come from the same ONNX Runtime release as the library that loads it. (grep reads to
  # the end: with -q, strings would die of SIGPIPE and pipefail would call the check failed.)
  strings "$native/libonnxruntime_providers_cuda.so" | grep -x '1\.29\.0' >/dev/null || { echo "gpu-check: the CUDA provider is not ONNX Runtime 1.29.0" >&2; return 1; }
}

# The folders of pip's nvidia-* packages that hold shared libraries (nvidia/cu13/lib, nvidia/cudnn/lib, ...).
NVIDIA_LIB_DIRS='
import glob, os, site, sys
roots = set(site.getsitepackages() + [site.getusersitepackages()] + [p for p in sys.path if p.endswith("-packages")])
files = [f for r in roots for f in glob.glob(os.path.join(r, "nvidia", "**", "lib*.so*"), recursive=True)]
print("\n".join(sorted({os.path.dirname(f) for f in files})))
'

run () {
  local dir=$1; shift
  [ -f "$dir/runner.mjs" ] && [ -x "$dir/bin/node" ] || { echo "gpu-check: $dir is not a pack (make one with --pack DIR)" >&2; exit 2; }
  local node="$dir/bin/node"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT

  # Mesa's and NVIDIA's Vulkan drivers want a runtime folder, which a bare container lacks.
  [ -n "${XDG_RUNTIME_DIR:-}" ] || { export XDG_RUNTIME_DIR="$work/xdg"; mkdir -m 700 -p "$XDG_RUNTIME_DIR"; }
  local libs=()
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then [ -f "$dir/lib/libvulkan.so.1" ] && libs+=("$dir/lib"); fi
  # CUDA 13 from pip's nvidia-* packages (PyTorch brings them), and the driver's libcuda where it is mounted.
  if command -v python3 >/dev/null; then
    while IFS= read -r d; do libs+=("$d"); done < <(python3 -c "$NVIDIA_LIB_DIRS" 2>/dev/null || true)
  fi
  for d in /usr/local/nvidia/lib64 /usr/local/cuda/lib64; do [ -d "$d" ] && libs+=("$d"); done
  if [ ${#libs[@]} -gt 0 ]; then
    LD_LIBRARY_PATH=$(IFS=:; echo "${libs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    export LD_LIBRARY_PATH
  fi
  if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && command -v nvidia-smi >/dev/null; then
    for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
      [ -f "$f" ] && { export VK_DRIVER_FILES=$f; break; }
    done
  fi

  echo "gpu-check on $(hostname): $(nproc) cores, node $("$node" --version)"
  if command -v nvidia-smi >/dev/null; then nvidia-smi -L || true; else echo "no nvidia-smi: no NVIDIA GPU visible"; fi
  echo "Vulkan driver files: ${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-the Vulkan loader default}}"
  local cuda_args=()
  if [ -f "$dir/ort/cuda/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so" ]; then
    cuda_args=(--cuda-ort "$dir/ort/cuda/node_modules/onnxruntime-node")
  else
    echo "no CUDA provider in this pack (packed with --no-cuda, or it could not be fetched): the cuda row will fail to load"
  fi

  "$node" "$dir/runner.mjs" model --out "$work/model"
  "$node" "$dir/runner.mjs" compare --model "$work/model" --ort "$dir/ort/project/node_modules/onnxruntime-node" "${cuda_args[@]}" "$@"
}

case "${1:-}" in
  -h|--help) usage 0 ;;
  --pack)
    [ -n "${2:-}" ] || usage 2
    dir=$2; shift 2
    cuda=1 archive=0
    for a in "$@"; do
      case "$a" in --no-cuda) cuda=0 ;; --archive) archive=1 ;; *) echo "gpu-check: unknown --pack option $a" >&2; usage 2 ;; esac
    done
    pack "$dir" "$cuda" "$archive" ;;
  --run)
    [ -n "${2:-}" ] || usage 2
    dir=$2; shift 2
    run "$dir" "$@" ;;
  *)
    # Inside a pack, the script runs the check on the pack it sits in.
    [ -f "$here/runner.mjs" ] || { echo "gpu-check: make a pack first: scripts/gpu-check.sh --pack DIR (see --help)" >&2; exit 2; }
    run "$here" "$@" ;;
esac
