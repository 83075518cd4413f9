# syntax=docker/dockerfile:1
#
# dinov3-serve images. Two targets from one build:
#
#   docker build --target cpu -t dinov3-serve:cpu .
#   docker build --target gpu -t dinov3-serve:gpu .      # linux/amd64, CUDA 12 + cuDNN 9
#
# Without --target the last stage, cpu, is built.
#
# Models are not baked in: mount a model folder (Hugging Face layout) at /models. See docs/deployment.md.

ARG NODE_VERSION=20
# The npm that CI uses. .npmrc's ignore-scripts=true keeps every dependency install script from running (npm 11 also
# honours package.json's allowScripts, which denies the same ones).
ARG NPM_VERSION=11.19.1
# onnxruntime-node 1.30's CUDA provider is built for CUDA 12.x and cuDNN 9.x (any 12.x runtime works with it).
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04

# ---------------------------------------------------------------------------------------------------------------
# build: the CI commands (npm ci, npm run build), then production dependencies only.
FROM node:${NODE_VERSION}-bookworm-slim AS build
ARG NPM_VERSION
WORKDIR /app
RUN npm install --global npm@${NPM_VERSION}
# For the native JPEG decoder (scripts/build-native.sh); Node's own headers come with this image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libjpeg62-turbo-dev \
 && rm -rf /var/lib/apt/lists/*
# .npmrc carries ignore-scripts=true: npm ci never runs onnxruntime-node's install script, which fetches the CUDA
# provider from NuGet.
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
COPY native ./native
# tsc -b tsconfig.build.json into dist/; then tsx, typescript and tap go. The compiled server never imports them
# (the inference worker is dist/src/inference/ort-worker/worker-main.js; tsx only serves runs from .ts sources).
# The decoder links libjpeg-turbo (libjpeg.so.62); a copy beside it, found through its $ORIGIN run path, serves the
# CUDA image, whose Ubuntu ships libjpeg.so.8 instead.
RUN npm run build \
 && npm prune --omit=dev \
 && test -f dist/src/server.js \
 && test -f dist/src/inference/ort-worker/worker-main.js \
 && test -f build/native/jpeg-rgb.node \
 && cp -L "/usr/lib/$(gcc -dumpmachine)/libjpeg.so.62" build/native/
# onnxruntime-node ships binaries for every platform (~250 MB); keep this one's.
RUN find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 2 -maxdepth 2 -type d \
      ! -path "*/linux/$(node -p process.arch)" -exec rm -rf {} + \
 && test -f "node_modules/onnxruntime-node/bin/napi-v6/linux/$(node -p process.arch)/onnxruntime_binding.node"

# ---------------------------------------------------------------------------------------------------------------
# gpu-deps: the CUDA execution provider. onnxruntime-node's install script downloads it from NuGet
# (Microsoft.ML.OnnxRuntime.Gpu.Linux, the same version as the package); npm ci skipped that script (ignore-scripts),
# so it runs here, with node rather than npm. Needs network access to api.nuget.org at build time.
FROM build AS gpu-deps
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so

# The official Node binary, copied into the CUDA image below.
FROM node:${NODE_VERSION}-bookworm-slim AS node-binary

# ---------------------------------------------------------------------------------------------------------------
# gpu: CUDA 12 + cuDNN 9 runtime (Ubuntu 22.04), Node from the official image, the CUDA provider installed.
# Run with the NVIDIA container toolkit (docker run --gpus all, or compose's device reservation).
FROM ${CUDA_IMAGE} AS gpu
ENV NODE_ENV=production \
    MODELS_DIR=/models \
    HOST=0.0.0.0 \
    PORT=8080 \
    EXECUTION_PROVIDERS=cuda,cpu
COPY --from=node-binary /usr/local/bin/node /usr/local/bin/node
# uid 1000 may exist already (ubuntu24.04-based CUDA images have `ubuntu`); create it only where it does not.
RUN (getent group 1000 >/dev/null || groupadd --gid 1000 app) \
 && (getent passwd 1000 >/dev/null || useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin app) \
 && mkdir /models && chown 1000:1000 /models \
 && node --version
WORKDIR /app
COPY --from=gpu-deps /app/package.json ./
COPY --from=gpu-deps /app/node_modules ./node_modules
COPY --from=gpu-deps /app/dist ./dist
COPY --from=gpu-deps /app/build ./build
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/ready',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/server.js"]

# ---------------------------------------------------------------------------------------------------------------
# cpu: Debian slim with Node; runs as the image's unprivileged `node` user (uid 1000).
FROM node:${NODE_VERSION}-bookworm-slim AS cpu
ENV NODE_ENV=production \
    MODELS_DIR=/models \
    HOST=0.0.0.0 \
    PORT=8080 \
    EXECUTION_PROVIDERS=cpu
WORKDIR /app
# Code and dependencies stay owned by root (read-only to the service); /models is owned by the service user so that
# a fresh named volume mounted there can receive a model (node dist/scripts/pull-model.js --dir /models).
RUN mkdir /models && chown 1000:1000 /models
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/build ./build
USER 1000:1000
EXPOSE 8080
# Ready = model loaded and warmed up. No curl in the image: Node's fetch does it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/ready',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node directly, not npm start: its build step needs tsc (pruned), and npm would sit between the signals and the
# server. The server handles SIGTERM itself: it stops admitting, finishes in-flight work for SHUTDOWN_GRACE_MS.
CMD ["node", "dist/src/server.js"]
