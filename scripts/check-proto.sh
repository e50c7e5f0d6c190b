#!/usr/bin/env bash
# The public API as other toolchains see it: buf lint (buf.yaml), buf build, and buf breaking against
# proto/released/lianxin-v1.binpb, the image of the API as last released (`npm run proto:release` writes it
# when a version is released). Run by `npm test` before the tests; protoc and the served descriptor set are
# checked by node/api/descriptor-set.test.ts.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
buf="$root/node_modules/.bin/buf"

"$buf" lint
"$buf" build
"$buf" breaking --against proto/released/lianxin-v1.binpb
echo "proto: buf lint, build and breaking (against proto/released/lianxin-v1.binpb) passed"
