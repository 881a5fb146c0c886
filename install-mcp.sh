#!/usr/bin/env bash
# install-mcp.sh: install numerai-mcp into a virtual environment of its own (uv, else a Python >= 3.11 with venv +
# pip), then run `numerai-mcp install`, which registers the MCP server "numerai" with the agent clients here.
# Without this script: uv tool install <source> && numerai-mcp install. Works with bash 3.2+ (macOS's /bin/bash).
set -euo pipefail

REPO_URL="https://github.com/numerai-mcp/numerai-mcp.git"
PACKAGE="numerai-mcp"

usage() { # the options other than the script's own are numerai-mcp install's, described by it when it is here
  cat <<'EOF'
install-mcp.sh: install numerai-mcp and register it with your agent clients (numerai-mcp install).
Usage: ./install-mcp.sh [options]   or   curl -sL <raw url>/install-mcp.sh | bash -s -- [options]
This script's options (every other option is numerai-mcp install's, listed below):
  --reuse (or --no-install)  register the existing install;  --dry-run  also install nothing;  -h, --help
  --uninstall        run `numerai-mcp uninstall` (with --client, --dry-run, --force, --purge, --non-interactive),
                     then delete the virtual environment.
Environment: NUMERAI_MCP_HOME (install root, default ~/.local/share/numerai-mcp), NUMERAI_MCP_SOURCE (what to
install: default this checkout, else REPO_URL), NUMERAI_MCP_PYTHON (a Python >= 3.11), NUMERAI_MCP_INSTALLER
(uv | pipx | pip; default uv, else pipx to run uv, else venv + pip). Exit status: 0 done, 1 failed, 2 bad usage.
EOF
  if find_program checkout; then "${PROGRAM[@]}" install --help; else
    echo "numerai-mcp install's options (--client NAME, --sandbox, --non-interactive, --key-in-env, --embed-key,"
    echo "--force) are described by \`numerai-mcp install --help\` (run this script from a checkout to see them here)."
  fi
}

step() { printf '==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
doing() { if [ "$DRY_RUN" = 1 ]; then printf '[dry-run] would %s\n' "$*"; else step "$*"; fi; }
expand_tilde() { case $1 in \~) echo "$HOME" ;; \~/*) echo "$HOME/${1:2}" ;; *) echo "$1" ;; esac; }

PASS=() REUSE=0 UNINSTALL=0 DRY_RUN=0 HELP=0
parse_args() { # the script's own options; numerai-mcp checks the others before anything is installed
  local arg
  for arg in "$@"; do
    case $arg in
      --reuse | --no-install) REUSE=1 ;;
      --uninstall) UNINSTALL=1 ;;
      -h | --help) HELP=1 ;;
      *) PASS+=("$arg"); if [ "$arg" = --dry-run ]; then DRY_RUN=1; fi ;;
    esac
  done
}

setup_paths() {
  [ -n "${HOME:-}" ] || fail "HOME is not set; set it to your home directory and run again."
  INSTALL_HOME=$(expand_tilde "${NUMERAI_MCP_HOME:-$HOME/.local/share/numerai-mcp}")
  case $INSTALL_HOME in /*) ;; *) INSTALL_HOME="$PWD/$INSTALL_HOME" ;; esac
  VENV="$INSTALL_HOME/venv" VENV_BIN="$INSTALL_HOME/venv/bin" EXE=""
  case $(uname -s 2>/dev/null) in MINGW* | MSYS* | CYGWIN*) [ -d "$VENV_BIN" ] || VENV_BIN="$VENV/Scripts" EXE=".exe" ;; esac
  VENV_PYTHON="$VENV_BIN/python$EXE" COMMAND="$VENV_BIN/numerai-mcp$EXE"
  CHECKOUT="" # the checkout this script sits in, when it is run from a file inside one
  if [ -f "${BASH_SOURCE[0]:-}" ]; then CHECKOUT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P); fi
  grep -qs "^name = \"$PACKAGE\"" "$CHECKOUT/pyproject.toml" || CHECKOUT=""
}

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
venv_healthy() { [ -x "$VENV_PYTHON" ] && python_ok "$VENV_PYTHON"; }
find_python() { # sets PYTHON to an interpreter >= 3.11, or to ""
  local name
  if [ -n "${NUMERAI_MCP_PYTHON:-}" ]; then
    { PYTHON=$(command -v "$NUMERAI_MCP_PYTHON") && python_ok "$PYTHON"; } && return 0
    fail "NUMERAI_MCP_PYTHON=$NUMERAI_MCP_PYTHON is not Python 3.11 or newer (or not an executable)."
  fi
  for name in python3.13 python3.12 python3.11 python3 python; do
    if PYTHON=$(command -v "$name") && python_ok "$PYTHON"; then return 0; fi
  done
  PYTHON=""
}

# Sets PROGRAM to run numerai-mcp: the installed one, else this checkout's code with any Python >= 3.11
# (its install commands need only the standard library), to check options and dry-run before an install
# and to uninstall once the venv is gone. `find_program checkout` prefers the code about to be installed.
find_program() {
  export NUMERAI_MCP_INSTALL_SCRIPT=1
  PROGRAM=() AS=()
  if [ -n "$CHECKOUT" ] && [ -n "$PYTHON" ]; then
    PROGRAM=(env "PYTHONPATH=$CHECKOUT" PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -m numerai_mcp) AS=(--command "$COMMAND")
  fi
  if { [ "${1:-}" != checkout ] || [ ${#PROGRAM[@]} -eq 0 ]; } && venv_healthy && [ -x "$COMMAND" ]; then PROGRAM=("$COMMAND") AS=(); fi
  [ ${#PROGRAM[@]} -gt 0 ]
}

choose_installer() { # sets UV to the command that runs uv (empty: venv + pip)
  UV=()
  case ${NUMERAI_MCP_INSTALLER:-auto} in
    uv) command -v uv >/dev/null || fail "NUMERAI_MCP_INSTALLER=uv but uv is not on PATH."; UV=(uv) ;;
    pipx) command -v pipx >/dev/null || fail "NUMERAI_MCP_INSTALLER=pipx but pipx is not on PATH."; UV=(pipx run uv) ;;
    pip) ;;
    auto) if command -v uv >/dev/null; then UV=(uv); elif [ -x "$VENV_BIN/uv$EXE" ]; then UV=("$VENV_BIN/uv$EXE")
          elif command -v pipx >/dev/null; then UV=(pipx run uv); fi ;;
    *) fail "NUMERAI_MCP_INSTALLER must be uv, pipx or pip, not '$NUMERAI_MCP_INSTALLER'." ;;
  esac
  if [ -z "$PYTHON" ] && { [ ${#UV[@]} -eq 0 ] || [ "$REUSE" = 1 ]; } && ! venv_healthy; then
    fail "numerai-mcp needs Python 3.11 or newer, and none was found on PATH (looked for python3.13 ... python).
Do one of these, then run this installer again:
  - install uv (https://docs.astral.sh/uv/): it fetches a suitable Python by itself;
  - Debian/Ubuntu: sudo apt install python3.11 python3.11-venv;  macOS: brew install python@3.12;
  - or point NUMERAI_MCP_PYTHON at an existing interpreter, e.g. NUMERAI_MCP_PYTHON=/opt/python3.12/bin/python3."
  fi
}

resolve_source() { # sets SOURCE (what pip/uv install) and SOURCE_LABEL (where it came from)
  local raw=$REPO_URL
  SOURCE_LABEL="REPO_URL"
  if [ -n "${NUMERAI_MCP_SOURCE:-}" ]; then raw=$(expand_tilde "$NUMERAI_MCP_SOURCE") SOURCE_LABEL="NUMERAI_MCP_SOURCE"
  elif [ -n "$CHECKOUT" ]; then raw=$CHECKOUT SOURCE_LABEL="this checkout"; fi
  case $raw in
    git+* | *" @ "*) SOURCE=$raw ;;
    http://*.git | https://*.git | ssh://* | git@*) SOURCE="git+$raw" ;;
    *) if [ -d "$raw" ]; then SOURCE=$(cd "$raw" && pwd -P); else SOURCE=$raw; fi ;;
  esac
}

# Building in a checkout writes build/ and *.egg-info/ into it, and setuptools then packs modules
# deleted since the last build: build from a clean copy of the project's files (git's list if any).
STAGING=""
cleanup() { if [ -n "$STAGING" ]; then rm -rf "$STAGING"; fi; }
stage_checkout() {
  STAGING=$(mktemp -d "${TMPDIR:-/tmp}/numerai-mcp-src.XXXXXX") SOURCE=$STAGING
  trap cleanup EXIT
  if command -v git >/dev/null && git -C "$1" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$1" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | (cd "$STAGING" && tar -xf -)
  else
    (cd "$1" && tar --exclude=.git --exclude=.venv --exclude=venv --exclude=build --exclude=dist --exclude='*.egg-info' \
      --exclude=.cache --exclude=__pycache__ --exclude=node_modules -cf - .) | (cd "$STAGING" && tar -xf -)
  fi
}

install_package() {
  local verb="upgrade $PACKAGE in place" version
  if ! venv_healthy; then
    verb="install $PACKAGE"
    [ ! -e "$VENV" ] || [ -f "$VENV/pyvenv.cfg" ] || fail "$VENV exists but is not a virtual environment; move it away or set NUMERAI_MCP_HOME."
    doing "create the virtual environment $VENV with ${PYTHON:-a Python >= 3.11 fetched by uv} (${UV[*]:-python -m venv})"
    if [ "$DRY_RUN" = 0 ]; then
      rm -rf "$VENV" # a broken one (its Python gone or too old)
      if [ ${#UV[@]} -gt 0 ]; then "${UV[@]}" venv --quiet --python "${PYTHON:->=3.11}" "$VENV"; else "$PYTHON" -m venv "$VENV"; fi </dev/null ||
        fail "creating $VENV failed (see above). On Debian/Ubuntu install the venv module (sudo apt install python3-venv), or install uv; then run again."
    fi
  fi
  doing "$verb from $SOURCE_LABEL: $SOURCE"
  [ "$DRY_RUN" = 0 ] || return 0
  if [ -d "$SOURCE" ]; then stage_checkout "$SOURCE"; fi
  if [ ${#UV[@]} -gt 0 ]; then "${UV[@]}" pip install --quiet --python "$VENV_PYTHON" --upgrade --reinstall-package "$PACKAGE" "$SOURCE"
  else "$VENV_PYTHON" -m pip install --quiet --disable-pip-version-check --upgrade "$SOURCE"; fi </dev/null ||
    fail "installing $PACKAGE failed (see above). Fix the cause and run the installer again."
  version=$("$COMMAND" --version </dev/null 2>&1) || fail "the installed command does not run: $COMMAND --version said: $version"
  step "installed $PACKAGE $version at $COMMAND"
  cleanup
}

do_uninstall() {
  find_program || fail "there is no install at $VENV to run the uninstall with; run 'numerai-mcp uninstall' from the install you have."
  "${PROGRAM[@]}" uninstall ${PASS[@]+"${PASS[@]}"} || exit $? # an entry it could not remove still needs the venv
  if [ -e "$VENV" ]; then
    [ -f "$VENV/pyvenv.cfg" ] || fail "$VENV is not a virtual environment; not deleting it."
    doing "delete the virtual environment $VENV"
    if [ "$DRY_RUN" = 0 ]; then rm -rf "$VENV"; rmdir "$INSTALL_HOME" 2>/dev/null || true; fi
  fi
  if [ "$DRY_RUN" = 1 ]; then echo "[dry-run] nothing was changed."; else echo "numerai-mcp is uninstalled."; fi
}

do_install() {
  choose_installer
  if [ "$REUSE" = 0 ] && find_program checkout; then # a mistyped option must cost no install
    "${PROGRAM[@]}" install --check-options ${PASS[@]+"${PASS[@]}"} || exit $?
  fi
  if [ "$REUSE" = 1 ]; then
    venv_healthy || fail "--reuse, but there is no working install at $VENV; run the installer without --reuse first."
    echo "Reusing the install at $VENV (--reuse)."
  else
    resolve_source
    install_package
  fi
  if find_program; then exec "${PROGRAM[@]}" install ${PASS[@]+"${PASS[@]}"} ${AS[@]+"${AS[@]}"}; fi
  [ "$DRY_RUN" = 1 ] || fail "$COMMAND is missing after the install; run the installer again."
  printf '[dry-run] would then run: %s install %s\n[dry-run] nothing was changed.\n' "$COMMAND" "${PASS[*]:-}"
}

main() {
  parse_args "$@"
  setup_paths
  find_python
  if [ "$HELP" = 1 ]; then usage; elif [ "$UNINSTALL" = 1 ]; then do_uninstall; else do_install; fi
}

main "$@"
