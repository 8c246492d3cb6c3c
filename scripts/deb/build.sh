#!/usr/bin/env bash
# Builds sockdiag-exporter_<version>_amd64.deb with dpkg-deb from the npm
# tarball (`npm pack`: compiled JavaScript and the prebuilt Node-API addon), so
# no compiler runs where the package installs. The production dependencies
# come from the tarball's npm-shrinkwrap.json, the versions the suite tested.
# Usage: bash scripts/deb/build.sh [--tarball FILE] [--out DIR] [--compression xz|gzip]
# (npm run deb; xz is Debian's default, gzip is 8x faster to build, for tests).
# Needs node, npm, dpkg-deb and dpkg-shlibdeps (dpkg-dev); not root.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
debian=$root/deploy/debian
tarball=
out=$root/dist/deb
compression=xz
while [ $# -gt 0 ]; do
  case "$1" in
    --tarball) tarball=$(realpath "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --compression) compression=$2; shift 2 ;;
    *) echo "usage: $0 [--tarball FILE] [--out DIR] [--compression xz|gzip]" >&2; exit 2 ;;
  esac
done
die() { echo "scripts/deb/build.sh: $*" >&2; exit 1; }
for tool in node npm dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || die "$tool not found (dpkg-shlibdeps is in dpkg-dev)"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$tarball" ]; then
  (cd "$root" && npm pack --pack-destination "$work" >&2)
  tarball=$(ls "$work"/sockdiag-exporter-*.tgz)
fi

# The staging tree sits at debian/<package> beside a debian/control, where
# dpkg-shlibdeps expects a package's files.
pkg=$work/debian/sockdiag-exporter
installed=/usr/lib/sockdiag-exporter
app=$pkg$installed
mkdir -p "$pkg/usr/lib"
tar -xzf "$tarball" -C "$work" --no-same-owner
mv "$work/package" "$app"
prebuild=$(ls "$app"/prebuilds/linux-x64/*.node 2>/dev/null) || die "$tarball has no linux-x64 prebuild"
[ -f "$app/npm-shrinkwrap.json" ] || die "$tarball has no npm-shrinkwrap.json: build it with npm pack"
# --ignore-scripts: the prebuild is the addon; nothing compiles or downloads.
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2)
[ ! -e "$app/build" ] || die "unexpected build/ in the package"

meta() { node -p "const p = require('$app/package.json'); $1"; }
version=$(meta 'p.version')
bin=$(meta "p.bin['sockdiag-exporter']")
[ -f "$app/$bin" ] || die "package.json's bin $bin is not in the tarball"
# npm's pre-release hyphen sorts after the release in Debian; a tilde sorts before.
debversion=${version//-/\~}
# Reproducible dates: the last commit's, else now.
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
# Maintainer: Debian's DEBFULLNAME and DEBEMAIL, else the last commit's author.
if [ -n "${DEBFULLNAME:-}" ] && [ -n "${DEBEMAIL:-}" ]; then
  maintainer="$DEBFULLNAME <$DEBEMAIL>"
else
  maintainer=$(git -C "$root" log -1 --format='%an <%ae>' 2>/dev/null) ||
    die "set DEBFULLNAME and DEBEMAIL (the Maintainer field): no git history to take them from"
fi

# The addon must load from the staged tree as it will on the host.
node -e "require('$app/dist/src/diag/native.js')" || die "the prebuilt addon does not load"

install -d "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/default" \
  "$pkg/usr/share/doc/sockdiag-exporter" "$pkg/usr/share/man/man1" "$pkg/DEBIAN"
cat >"$pkg/usr/bin/sockdiag-exporter" <<WRAPPER
#!/bin/sh
# Runs the exporter installed under $installed with Debian's node.
exec /usr/bin/node $installed/$bin "\$@"
WRAPPER
install -m 0644 "$debian/sockdiag-exporter.service" "$pkg/lib/systemd/system/"
install -m 0644 "$debian/default" "$pkg/etc/default/sockdiag-exporter"
install -m 0755 "$debian/postinst" "$debian/prerm" "$debian/postrm" "$pkg/DEBIAN/"
echo /etc/default/sockdiag-exporter >"$pkg/DEBIAN/conffiles"

doc=$pkg/usr/share/doc/sockdiag-exporter
install -m 0644 "$debian/README.Debian" "$doc/"
node "$root/scripts/deb/copyright.js" "$debian/copyright.head" "$app" "$installed" >"$doc/copyright"
date_rfc=$(date -u -R -d "@$epoch")
printf '%s\n' "sockdiag-exporter ($debversion) unstable; urgency=medium" '' \
  "  * Release $version, built from the npm tarball of the same version." '' \
  " -- $maintainer  $date_rfc" | gzip -9n >"$doc/changelog.gz"
node "$root/scripts/deb/manpage.js" "$app/$bin" "$version" "$(date -u -d "@$epoch" +%F)" |
  gzip -9n >"$pkg/usr/share/man/man1/sockdiag-exporter.1.gz"

install -D -m 0644 "$debian/lintian-overrides" "$pkg/usr/share/lintian/overrides/sockdiag-exporter"
# The app and its modules ship as npm installs them, less what no runtime
# reads: the TypeScript declarations and source maps of dist/ (the sources
# they map to are not shipped), and the modules' own dotfiles (VCS, lint and
# npm settings of their repositories).
find "$app/dist" -type f \( -name '*.d.ts' -o -name '*.js.map' \) -delete
find "$app/node_modules" -mindepth 1 -name '.*' ! -name .bin ! -name .package-lock.json -prune -exec rm -rf {} +
# Modes: directories 0755, files 0644; executable only what can run (a
# "#!" script or an ELF executable). The addon is a shared object: dlopen
# needs no x bit.
find "$pkg" -type d -exec chmod 0755 {} +
find "$pkg" -type f ! -path "$pkg/DEBIAN/*" -exec chmod 0644 {} +
find "$pkg" -type f ! -path "$pkg/DEBIAN/*" ! -name '*.node' \
  -exec awk 'FNR == 1 && /^#!/ { print FILENAME } { nextfile }' {} + | xargs -r -d '\n' chmod 0755

printf 'Source: sockdiag-exporter\n\nPackage: sockdiag-exporter\nArchitecture: amd64\n' >"$work/debian/control"
libs=$(cd "$work" && dpkg-shlibdeps -O --warnings=0 "${prebuild/#$work\//}" | sed -n 's/^shlibs:Depends=//p')
[ -n "$libs" ] || die "dpkg-shlibdeps found no library dependencies for $prebuild"
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: sockdiag-exporter
Version: $debversion
Architecture: amd64
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: nodejs (>= 20), adduser, $libs
Section: net
Priority: optional
Description: Prometheus exporter for Linux socket statistics
 Dumps every TCP and UDP socket through netlink inet_diag, reads the
 kernel's nstat counters and TCP sysctls, and serves them as Prometheus
 metrics, with a report of the TCP incidents they show: accept and SYN
 queue overflow, SYN cookies, TIME_WAIT reuse behind SNAT, PAWS rejects,
 TIME_WAIT bucket overflow, receive-buffer collapse, idle connections
 without keepalive.
 .
 Depends on nodejs 20 or later, the version it is tested on.
CONTROL
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum >DEBIAN/md5sums)
find "$pkg" -newermt "@$epoch" -exec touch -h -d "@$epoch" {} +

mkdir -p "$out"
deb=$out/sockdiag-exporter_${debversion}_amd64.deb
dpkg-deb --root-owner-group "-Z$compression" --build "$pkg" "$deb" >/dev/null
echo "$deb"
