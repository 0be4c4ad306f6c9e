#!/usr/bin/env bash
# Installs Chromium from the distribution's packages (Debian's chromium) for
# the dashboard's browser tests (test/browser), unless it is there already.
# Those tests fail, rather than skip, without it.
#
# Usage: hack/chromium.sh        (SLUICE_CHROMIUM names another binary to expect)
set -euo pipefail

chromium=${SLUICE_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] && exit 0

if [ -n "${SLUICE_CHROMIUM:-}" ]; then
  echo "tools: SLUICE_CHROMIUM=$chromium is not an executable" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "tools: no $chromium and no apt-get: install Chromium, or set SLUICE_CHROMIUM to a Chromium or Chrome binary" >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  # Never prompts: a machine that needs a password for sudo fails here with
  # sudo's message, and the command to run by hand below.
  sudo=(sudo -n)
fi
install() {
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
}

echo "tools: installing chromium (Debian's package) for the browser tests..."
# The package lists may be missing (a fresh container) or stale: update them
# only when the install needs it.
if ! install; then
  if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update && install; }; then
    echo "tools: could not install chromium; run: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
[ -x "$chromium" ] || { echo "tools: installed chromium, but there is no $chromium" >&2; exit 1; }
echo "tools: installed $("$chromium" --version 2>/dev/null || echo chromium)"
