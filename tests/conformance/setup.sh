#!/bin/bash
# Fetch the pinned OCI runtime-tools module through the Go module proxy and build its
# validation programs and a static runtimetest into $CONFORMANCE_CACHE.
# Idempotent: does nothing when the cache is already complete (--force rebuilds).
#
# Layout of $CONFORMANCE_CACHE (default /var/cache/tekapo-conformance/<version>):
#   bin/<program>          one executable per directory under validation/
#   work/runtimetest       static in-container checker; the programs copy it from their cwd
#   work/rootfs-amd64.tar.gz   the bundle rootfs; the programs untar it from their cwd
#   COMPLETE               stamp: module, version, sum, "program NAME" lines
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

force=0
case "${1:-}" in
--force) force=1 ;;
"") ;;
*) conformance_die "usage: setup.sh [--force]" ;;
esac

if [ "$force" = 0 ] && conformance_cache_complete; then
	conformance_log "cache complete: $CONFORMANCE_CACHE ($(conformance_programs | wc -l) programs)"
	exit 0
fi

command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || conformance_die "go not found"

start=$(date +%s)
mkdir -p "$CONFORMANCE_CACHE_ROOT"
modjson="$(cd / && GOFLAGS=-mod=mod go mod download -json "$CONFORMANCE_MODULE@$CONFORMANCE_VERSION")" ||
	conformance_die "go mod download $CONFORMANCE_MODULE@$CONFORMANCE_VERSION failed: $modjson"
json_field() { printf '%s\n' "$modjson" | sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p"; }
srcdir="$(json_field Dir)"
modsum="$(json_field Sum)"
[ -d "$srcdir/validation" ] || conformance_die "module has no validation/ in $srcdir"
[ -f "$srcdir/rootfs-amd64.tar.gz" ] || conformance_die "module has no rootfs-amd64.tar.gz"

# Build into a fresh directory next to the cache and swap it in at the end, so an
# interrupted build never leaves a cache that looks complete.
tmp="$(mktemp -d "$CONFORMANCE_CACHE_ROOT/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -p "$tmp/bin" "$tmp/work"

programs=()
for d in "$srcdir"/validation/*/; do
	name="$(basename "$d")"
	[ "$name" = util ] && continue
	ls "$d"*.go >/dev/null 2>&1 || continue
	programs+=("$name")
done
[ "${#programs[@]}" -gt 0 ] || conformance_die "no validation programs found in $srcdir/validation"

# The module zip carries no vendored sources: dependencies come from the module proxy.
export GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off GOTOOLCHAIN=local
conformance_log "building ${#programs[@]} validation programs from $srcdir"
(cd "$srcdir" && nice -n 10 go build -trimpath -o "$tmp/bin/" ./validation/...) ||
	conformance_die "building validation programs failed"
conformance_log "building static runtimetest"
(cd "$srcdir" && CGO_ENABLED=0 nice -n 10 go build -trimpath -tags "netgo osusergo" \
	-ldflags "-extldflags -static" -o "$tmp/work/runtimetest" ./cmd/runtimetest) ||
	conformance_die "building runtimetest failed"
if file "$tmp/work/runtimetest" 2>/dev/null | grep -q dynamically; then
	conformance_die "runtimetest is not static"
fi
cp "$srcdir/rootfs-amd64.tar.gz" "$tmp/work/"
chmod -R u+w "$tmp"

{
	echo "module $CONFORMANCE_MODULE"
	echo "version $CONFORMANCE_VERSION"
	echo "sum $modsum"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) with $(go version)"
	for p in "${programs[@]}"; do
		[ -x "$tmp/bin/$p" ] || conformance_die "program $p was not built"
		echo "program $p"
	done
} >"$tmp/COMPLETE"

rm -rf "$CONFORMANCE_CACHE.old"
[ -e "$CONFORMANCE_CACHE" ] && mv "$CONFORMANCE_CACHE" "$CONFORMANCE_CACHE.old"
mv "$tmp" "$CONFORMANCE_CACHE"
trap - EXIT
rm -rf "$CONFORMANCE_CACHE.old"
conformance_log "built ${#programs[@]} programs into $CONFORMANCE_CACHE in $(($(date +%s) - start))s"
