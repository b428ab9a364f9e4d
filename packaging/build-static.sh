#!/usr/bin/env bash
# Builds a statically linked `tagroute` for x86_64 Linux, the binary of the container image.
#
#   packaging/build-static.sh [OUT]     # default OUT: target/static/tagroute
#
# The target is x86_64-unknown-linux-musl: rustup adds it, and Debian's musl-tools gives the C
# compiler that ring and mimalloc need (`apt-get install musl-tools`). Where rustup cannot add the
# target, TAGROUTE_STATIC_TARGET=gnu is the closest static build: glibc linked statically
# (`-C target-feature=+crt-static`). It passes the same smoke test, but a statically linked glibc
# resolves host names only through the NSS modules of its own version, which a scratch image
# does not have: the fallback, not the default.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/static/tagroute}

case ${TAGROUTE_STATIC_TARGET:-musl} in
musl)
    target=x86_64-unknown-linux-musl
    rustup target list --installed | grep -qx "$target" || rustup target add "$target"
    command -v musl-gcc >/dev/null || {
        echo "build-static: musl-gcc is missing (apt-get install musl-tools)" >&2
        exit 1
    }
    export CC_x86_64_unknown_linux_musl=musl-gcc
    cargo build --release --locked --target "$target" --bin tagroute
    ;;
gnu)
    target=x86_64-unknown-linux-gnu
    RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build --release --locked --target "$target" --bin tagroute
    ;;
*)
    echo "build-static: TAGROUTE_STATIC_TARGET is musl or gnu" >&2
    exit 2
    ;;
esac

binary=target/$target/release/tagroute
# Static means no program interpreter and no shared library to load.
if readelf --program-headers --dynamic "$binary" | grep -Eq 'INTERP|NEEDED'; then
    echo "build-static: $binary is not statically linked:" >&2
    readelf --program-headers --dynamic "$binary" | grep -E 'INTERP|NEEDED' >&2
    exit 1
fi
mkdir -p "$(dirname "$out")"
cp "$binary" "$out"
echo "build-static: $out ($target, $(stat -c %s "$out") bytes)"
