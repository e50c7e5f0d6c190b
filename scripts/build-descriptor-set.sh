#!/usr/bin/env bash
# Writes the FileDescriptorSet that server reflection serves to $1: proto/lianxin/v1 as buf compiles it, plus
# grpc.health.v1 from the grpc-health-check package the server runs (as grpc/health/v1/health.proto, its
# canonical name), so a reflection client can call health checking too. Source info (comments) is kept:
# `grpcurl describe` shows it. Deterministic: the same sources give the same bytes (node/api/descriptor-set.test.ts).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="$1"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/grpc/health/v1"
cp -R "$root/proto/lianxin" "$work/"
cp "$root/node_modules/grpc-health-check/proto/health/v1/health.proto" "$work/grpc/health/v1/health.proto"
"$root/node_modules/.bin/buf" build "$work" --as-file-descriptor-set -o "$target"
