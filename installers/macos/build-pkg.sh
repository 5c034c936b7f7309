#!/bin/sh
# Builds Corridor.pkg on macOS (pkgbuild and productbuild are macOS tools): corridord
# and the corridor CLI built for this Mac, the desktop app bundle, the launchd daemon.
#
#   installers/macos/build-pkg.sh VERSION
#
# Layout of the payload:
#   /Library/PrivilegedHelperTools/corridord         the service (root:wheel, 0755)
#   /Library/LaunchDaemons/org.corridor.corridord.plist
#   /usr/local/bin/corridor                           the CLI
#   /Applications/Corridor.app                        the desktop app (tauri build --bundles app)
set -eu
version="${1:?usage: build-pkg.sh VERSION}"
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
cd "$root"

cargo build --release --locked -p corridor-service --bin corridord -p corridor-cli --bin corridor
npx tauri build --bundles app --ci

payload="$(mktemp -d)"
trap 'rm -rf "$payload"' EXIT
install -d "$payload/Library/PrivilegedHelperTools" "$payload/Library/LaunchDaemons" \
    "$payload/usr/local/bin" "$payload/Applications"
install -m 0755 target/release/corridord "$payload/Library/PrivilegedHelperTools/corridord"
install -m 0644 "$here/org.corridor.corridord.plist" "$payload/Library/LaunchDaemons/"
install -m 0755 target/release/corridor "$payload/usr/local/bin/corridor"
cp -R target/release/bundle/macos/Corridor.app "$payload/Applications/"
plutil -lint "$payload/Library/LaunchDaemons/org.corridor.corridord.plist"

pkgbuild --root "$payload" --scripts "$here/scripts" --identifier org.corridor.pkg \
    --version "$version" --install-location / "target/release/Corridor-component.pkg"
productbuild --package "target/release/Corridor-component.pkg" "target/release/Corridor-$version.pkg"
echo "target/release/Corridor-$version.pkg"
