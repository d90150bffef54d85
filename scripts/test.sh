#!/usr/bin/env bash
# Runs every test in the workspace on a fresh machine: installs what the tests need (as root, with
# apt-get, only where missing), then the whole suite. The tests themselves start their servers
# (slapd, Samba, the simulator) on 127.0.0.1 with temporary state, and stop them when they end.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the integration tests use. Each entry: "package:command-that-proves-it".
NEEDED=(
  "slapd:/usr/sbin/slapd"
  "ldap-utils:ldapadd"
  "samba:/usr/sbin/samba"
  "samba-common-bin:samba-tool"
  "samba-ad-provision:/usr/share/samba/setup/ad-schema"
  "openssl:openssl"
  "curl:curl"
  "redis-server:redis-server"
  "chromium:/usr/bin/chromium"
  "chromium-driver:/usr/bin/chromedriver"
)

missing=()
for entry in "${NEEDED[@]}"; do
  pkg=${entry%%:*} cmd=${entry#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "$cmd" ]; then missing+=("$pkg"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: need root to install ${missing[*]} (or install them yourself)" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cargo test --workspace --locked "$@"
