# Shared by scripts/start.sh and scripts/test.sh. Sourced, not run.

export TURBO_TELEMETRY_DISABLED=1 NEXT_TELEMETRY_DISABLED=1

say() { printf '\033[1;36monair\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31monair\033[0m %s\n' "$*" >&2; exit 1; }

# Debian packages the project needs, checked by the command each one provides.
declare -A PACKAGE_COMMAND=([ffmpeg]=ffmpeg [chromium]=chromium [python3-aiortc]=aiortc [firefox-esr]=firefox-esr [redis-server]=redis-server [nginx]=nginx)

has_package_command() {
  case "$1" in
    aiortc) /usr/bin/python3 -c 'import aiortc' >/dev/null 2>&1 ;;
    # In /usr/sbin, which a non-root PATH may lack.
    nginx) [ -x /usr/sbin/nginx ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# ensure_system_packages PKG... — installs what is missing with apt-get when root; otherwise
# prints the exact command and fails.
ensure_system_packages() {
  local missing=()
  for pkg in "$@"; do
    has_package_command "${PACKAGE_COMMAND[$pkg]}" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    fail "missing system packages: ${missing[*]}. Install them with:
    sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  fi
}

# ensure_node_modules — installs npm dependencies when absent or older than the lockfile.
# The project's own Node 24 (the `node` package) comes with them.
ensure_node_modules() {
  command -v npm >/dev/null 2>&1 || fail "npm is missing: install Node.js ≥ 18 with npm (e.g. sudo apt-get install -y nodejs npm)."
  if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm dependencies (Node 24 comes with them)"
    # Not `npm ci`: npm 11 writes locks without other platforms' optional packages (turbo's
    # darwin/windows binaries) and then refuses them in `npm ci`. `install --no-save` installs
    # the locked versions and leaves the lockfile as committed.
    npm install --no-save --no-audit --no-fund --loglevel=error
  fi
  export PATH="$PWD/node_modules/.bin:$PATH"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 24 ] || fail "expected Node 24 from node_modules/.bin, found $(node --version)"
}

# build_web — production build of the Next.js site, skipped when nothing under apps/web,
# packages/shared or packages/service (the site's server code uses it) changed since the last build.
build_web() {
  local stamp=apps/web/.next/BUILD_ID
  if [ -f "$stamp" ] && [ -z "$(find apps/web packages/shared packages/service -newer "$stamp" -type f -not -path '*/.next/*' -not -path '*/node_modules/*' -not -name '*.test.ts' -print -quit)" ]; then
    return 0
  fi
  say "building the web app"
  (cd apps/web && NEXT_TELEMETRY_DISABLED=1 next build >/tmp/onair-web-build.log 2>&1) || { tail -40 /tmp/onair-web-build.log; fail "next build failed (full log: /tmp/onair-web-build.log)"; }
}
