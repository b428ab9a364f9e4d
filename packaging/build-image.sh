#!/usr/bin/env bash
# Builds the container image from the repository's Containerfile: the static binary first
# (packaging/build-static.sh), the CA bundle beside it, then the image, with podman, buildah or
# docker, whichever is installed.
#
#   packaging/build-image.sh [TAG]      # default TAG: tagroute:<version>, also tagged tagroute:latest
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(awk -F'"' '/^version = /{print $2; exit}' Cargo.toml)
tag=${1:-tagroute:$version}

bash packaging/build-static.sh target/static/tagroute
bundle=/etc/ssl/certs/ca-certificates.crt
[ -s "$bundle" ] || {
    echo "build-image: $bundle is missing (apt-get install ca-certificates)" >&2
    exit 1
}
cp "$bundle" target/static/ca-certificates.crt

if command -v podman >/dev/null; then
    podman build --file Containerfile --tag "$tag" --tag tagroute:latest .
elif command -v buildah >/dev/null; then
    buildah build --file Containerfile --tag "$tag" --tag tagroute:latest .
elif command -v docker >/dev/null; then
    docker build --file Containerfile --tag "$tag" --tag tagroute:latest .
else
    echo "build-image: no podman, buildah or docker to build with" >&2
    exit 1
fi
echo "build-image: $tag"
