#!/usr/bin/env bash
# install-mcp.sh: install numerai-mcp into its own virtual environment and register it,
# as the stdio MCP server named "numerai", with the agent clients on this machine
# (Codex, Claude Code, Cursor, Claude Desktop).
#
#   ./install-mcp.sh [options]                        from a checkout: installs that checkout
#   curl -sL <raw url of this file> | bash            installs $NUMERAI_MCP_SOURCE (default REPO_URL)
#   curl -sL <raw url of this file> | bash -s -- --client codex --sandbox
#
# Run `install-mcp.sh --help` for the options. Re-running upgrades the install in place and
# updates our entry; every other entry and comment in a client's config is kept.
#
# Written for bash 3.2 and later (macOS's /bin/bash included): no associative arrays, and
# empty arrays are expanded as ${a[@]+"${a[@]}"} so that `set -u` accepts them.

set -euo pipefail

# Where `curl | bash` installs from when no checkout sits next to this script. Any pip
# requirement works in NUMERAI_MCP_SOURCE instead: a git URL, a local checkout, a wheel.
REPO_URL="https://github.com/numerai-mcp/numerai-mcp.git"
SERVER_NAME="numerai"
PACKAGE="numerai-mcp"
KEY_SCOPES_NEEDED="upload_submission, read_submission_info, read_user_info"
ALL_CLIENTS="codex claude cursor desktop"

usage() {
  cat <<'EOF'
install-mcp.sh: install numerai-mcp and register it with your agent clients.

Usage: ./install-mcp.sh [options]
       curl -sL <raw url>/install-mcp.sh | bash -s -- [options]

Options:
  --client NAME      codex | claude | cursor | desktop | all. Repeatable, or a comma list.
                     Default: every client found on this machine.
  --sandbox          Wire the clients to the embedded local Numerai emulator
                     (`numerai-mcp serve --sandbox`): no account, no key, no network.
  --non-interactive  Never prompt (also -y). The key is read from NUMERAI_MCP_AUTH (or
                     NUMERAI_PUBLIC_ID + NUMERAI_SECRET_KEY) and stored in the credentials file.
  --key-in-env       Keep the key in your environment only: no credentials file is written
                     (Codex is told to pass the variables through; GUI clients may not see them).
  --embed-key        Write the key into each client's config (plain text!). Prefer the file.
  --dry-run          Print every change it would make; change and install nothing.
  --reuse            Do not install: register the existing install (also --no-install).
  --force            Replace a "numerai" entry that this installer did not write.
  --uninstall        Remove our entry from the clients and delete the virtual environment.
  --purge            With --uninstall: also delete the stored credentials file.
  -h, --help         Show this help.

Environment:
  NUMERAI_MCP_HOME             install root (default ~/.local/share/numerai-mcp; venv in venv/)
  NUMERAI_MCP_SOURCE           what to install (default: this checkout, else REPO_URL)
  NUMERAI_MCP_PYTHON           Python >= 3.11 to use (default: python3.13 ... python3 on PATH)
  NUMERAI_MCP_INSTALLER        uv | pipx | pip (default: uv, else pipx to run uv, else venv + pip)
  NUMERAI_MCP_CREDENTIALS_FILE where the key is stored (default ~/.config/numerai-mcp/credentials)
  NUMERAI_MCP_AUTH             your key, PUBLIC_ID$SECRET_KEY (a "Token " prefix is fine)
  CODEX_HOME, CLAUDE_CONFIG_DIR  honoured like the clients themselves do

Exit status: 0 done; 1 something failed (each failure is explained); 2 bad usage.
EOF
}

# ---------------------------------------------------------------- output

info() { printf '%s\n' "$*"; }
step() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }
usage_error() { printf 'error: %s\nRun install-mcp.sh --help for the options.\n' "$*" >&2; exit 2; }
# Say what would happen in --dry-run, or that it happens now.
doing() { if [ "$DRY_RUN" = 1 ]; then printf '[dry-run] would %s\n' "$*"; else step "$*"; fi; }

# ---------------------------------------------------------------- options

CLIENTS=""
NON_INTERACTIVE=0 DRY_RUN=0 UNINSTALL=0 PURGE=0 SANDBOX=0
KEY_IN_ENV=0 EMBED_KEY=0 REUSE=0 FORCE=0

add_clients() {
  local list=$1 name
  [ -n "$list" ] || usage_error "--client needs a name: codex, claude, cursor, desktop or all."
  local IFS=','
  for name in $list; do
    case $name in
      codex | claude | cursor | desktop) ;;
      claude-code) name=claude ;;
      claude-desktop) name=desktop ;;
      all) name=all ;;
      *) usage_error "unknown client '$name'; expected codex, claude, cursor, desktop or all." ;;
    esac
    case " $CLIENTS " in *" $name "*) ;; *) CLIENTS="${CLIENTS:+$CLIENTS }$name" ;; esac
  done
}

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --client) [ $# -ge 2 ] || usage_error "--client needs a name."; add_clients "$2"; shift ;;
      --client=*) add_clients "${1#*=}" ;;
      --non-interactive | --yes | -y) NON_INTERACTIVE=1 ;;
      --dry-run) DRY_RUN=1 ;;
      --uninstall) UNINSTALL=1 ;;
      --purge) PURGE=1 ;;
      --sandbox) SANDBOX=1 ;;
      --key-in-env) KEY_IN_ENV=1 ;;
      --embed-key) EMBED_KEY=1 ;;
      --reuse | --no-install) REUSE=1 ;;
      --force) FORCE=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage_error "unknown option '$1'." ;;
    esac
    shift
  done
  if [ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ]; then usage_error "--purge only goes with --uninstall."; fi
  if [ "$KEY_IN_ENV" = 1 ] && [ "$EMBED_KEY" = 1 ]; then
    usage_error "--key-in-env and --embed-key contradict each other; pick one (or neither, to use the credentials file)."
  fi
  if [ "$SANDBOX" = 1 ] && { [ "$KEY_IN_ENV" = 1 ] || [ "$EMBED_KEY" = 1 ]; }; then
    usage_error "--sandbox needs no Numerai key; drop --key-in-env/--embed-key."
  fi
  if [ "$UNINSTALL" = 1 ] && { [ "$SANDBOX" = 1 ] || [ "$REUSE" = 1 ] || [ "$KEY_IN_ENV" = 1 ] || [ "$EMBED_KEY" = 1 ]; }; then
    usage_error "--uninstall takes only --client, --dry-run, --force, --purge and --non-interactive."
  fi
  case " $CLIENTS " in *" all "*) CLIENTS="all" ;; esac
  return 0
}

# ---------------------------------------------------------------- paths

os_kind() {
  case $(uname -s 2>/dev/null || echo unknown) in
    Darwin) echo macos ;;
    MINGW* | MSYS* | CYGWIN*) echo windows ;;
    *) echo linux ;;
  esac
}

expand_tilde() {
  case $1 in
    \~) printf '%s\n' "$HOME" ;;
    \~/*) printf '%s\n' "$HOME/${1:2}" ;;
    *) printf '%s\n' "$1" ;;
  esac
}

# A path as the clients on this OS want it (Windows clients want C:\... paths).
native_path() {
  if [ "$OS_KIND" = windows ] && command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else printf '%s\n' "$1"; fi
}

setup_paths() {
  OS_KIND=$(os_kind)
  [ -n "${HOME:-}" ] || fail "HOME is not set; set it to your home directory and run again."
  INSTALL_HOME=$(expand_tilde "${NUMERAI_MCP_HOME:-$HOME/.local/share/numerai-mcp}")
  case $INSTALL_HOME in /*) ;; *) INSTALL_HOME="$PWD/$INSTALL_HOME" ;; esac
  VENV="$INSTALL_HOME/venv"
  if [ "$OS_KIND" = windows ] && [ ! -d "$VENV/bin" ]; then
    VENV_BIN="$VENV/Scripts" EXE=".exe"
  else
    VENV_BIN="$VENV/bin" EXE=""
  fi
  VENV_PYTHON="$VENV_BIN/python$EXE"
  COMMAND="$VENV_BIN/numerai-mcp$EXE"
  DEFAULT_CRED_FILE="$HOME/.config/numerai-mcp/credentials"
  CRED_FILE=$(expand_tilde "${NUMERAI_MCP_CREDENTIALS_FILE:-$DEFAULT_CRED_FILE}")
  CODEX_CONFIG="${CODEX_HOME:-$HOME/.codex}/config.toml"
  CLAUDE_JSON="${CLAUDE_CONFIG_DIR:-$HOME}/.claude.json"
  CURSOR_JSON="$HOME/.cursor/mcp.json"
  case $OS_KIND in
    macos) DESKTOP_JSON="$HOME/Library/Application Support/Claude/claude_desktop_config.json" ;;
    windows)
      local appdata=${APPDATA:-$HOME/AppData/Roaming}
      if command -v cygpath >/dev/null 2>&1; then appdata=$(cygpath -u "$appdata"); fi
      DESKTOP_JSON="$appdata/Claude/claude_desktop_config.json" ;;
    *) DESKTOP_JSON="${XDG_CONFIG_HOME:-$HOME/.config}/Claude/claude_desktop_config.json" ;;
  esac
}

# ---------------------------------------------------------------- python and source

python_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; }

# Sets PYTHON to an interpreter >= 3.11, or to "" when there is none.
find_python() {
  PYTHON=""
  local candidate path
  if [ -n "${NUMERAI_MCP_PYTHON:-}" ]; then
    path=$(command -v "$NUMERAI_MCP_PYTHON" 2>/dev/null) || fail "NUMERAI_MCP_PYTHON=$NUMERAI_MCP_PYTHON is not an executable."
    python_ok "$path" || fail "NUMERAI_MCP_PYTHON=$NUMERAI_MCP_PYTHON is not Python 3.11 or newer."
    PYTHON=$path
    return 0
  fi
  for candidate in python3.13 python3.12 python3.11 python3 python; do
    path=$(command -v "$candidate" 2>/dev/null) || continue
    if python_ok "$path"; then PYTHON=$path; return 0; fi
  done
  return 0
}

no_python_help() {
  cat >&2 <<'EOF'
error: numerai-mcp needs Python 3.11 or newer, and none was found on PATH
(looked for python3.13, python3.12, python3.11, python3, python).
Do one of these, then run this installer again:
  - install uv (https://docs.astral.sh/uv/): it fetches a suitable Python by itself;
  - Debian/Ubuntu: sudo apt install python3.11 python3.11-venv;  macOS: brew install python@3.12;
  - or point NUMERAI_MCP_PYTHON at an existing interpreter, e.g. NUMERAI_MCP_PYTHON=/opt/python3.12/bin/python3.
EOF
  exit 1
}

# The checkout this script sits in, when it is run from a file inside one.
checkout_dir() {
  local src=${BASH_SOURCE[0]:-} dir
  [ -n "$src" ] && [ -f "$src" ] || return 1
  dir=$(cd "$(dirname "$src")" && pwd -P) || return 1
  [ -f "$dir/pyproject.toml" ] && grep -q "^name = \"$PACKAGE\"" "$dir/pyproject.toml" || return 1
  printf '%s\n' "$dir"
}

# Sets SOURCE (what pip/uv install) and SOURCE_LABEL (where it came from, for people).
resolve_source() {
  local checkout raw
  if [ -n "${NUMERAI_MCP_SOURCE:-}" ]; then
    raw=$(expand_tilde "$NUMERAI_MCP_SOURCE") SOURCE_LABEL="NUMERAI_MCP_SOURCE"
  elif checkout=$(checkout_dir); then
    raw=$checkout SOURCE_LABEL="this checkout"
  else
    raw=$REPO_URL SOURCE_LABEL="REPO_URL"
  fi
  if [ -d "$raw" ]; then
    SOURCE=$(cd "$raw" && pwd -P)
  else
    case $raw in
      git+* | *" @ "*) SOURCE=$raw ;;
      http://*.git | https://*.git | ssh://* | git@*) SOURCE="git+$raw" ;;
      *) SOURCE=$raw ;;
    esac
  fi
}

# Sets UV to the command that runs uv (empty: plain venv + pip) and INSTALLER_LABEL.
choose_installer() {
  UV=()
  local wanted=${NUMERAI_MCP_INSTALLER:-auto}
  case $wanted in
    uv) command -v uv >/dev/null 2>&1 || fail "NUMERAI_MCP_INSTALLER=uv but uv is not on PATH."; UV=(uv) ;;
    pipx) command -v pipx >/dev/null 2>&1 || fail "NUMERAI_MCP_INSTALLER=pipx but pipx is not on PATH."; UV=(pipx run uv) ;;
    pip) ;;
    auto)
      if command -v uv >/dev/null 2>&1; then UV=(uv)
      elif [ -x "$VENV_BIN/uv$EXE" ]; then UV=("$VENV_BIN/uv$EXE")
      elif command -v pipx >/dev/null 2>&1; then UV=(pipx run uv)
      fi ;;
    *) usage_error "NUMERAI_MCP_INSTALLER must be uv, pipx or pip, not '$wanted'." ;;
  esac
  if [ ${#UV[@]} -gt 0 ]; then INSTALLER_LABEL="${UV[*]}"; else INSTALLER_LABEL="venv + pip"; fi
}

# ---------------------------------------------------------------- install

# Building in a checkout writes build/ and *.egg-info/ into it, and setuptools then packs
# modules deleted since the last build. Build from a clean copy of the project's files instead
# (git's list when there is one), so the checkout is never written to.
STAGING=""
cleanup() { if [ -n "$STAGING" ]; then rm -rf "$STAGING"; fi; }

stage_checkout() {
  local src=$1
  STAGING=$(mktemp -d "${TMPDIR:-/tmp}/numerai-mcp-src.XXXXXX")
  trap cleanup EXIT
  if command -v git >/dev/null 2>&1 && git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | (cd "$STAGING" && tar -xf -)
  else
    (cd "$src" && tar --exclude=.git --exclude=.venv --exclude=venv --exclude=build --exclude=dist \
      --exclude='*.egg-info' --exclude=.cache --exclude=__pycache__ --exclude=node_modules -cf - .) | (cd "$STAGING" && tar -xf -)
  fi
  SOURCE=$STAGING
}

venv_healthy() { [ -x "$VENV_PYTHON" ] && python_ok "$VENV_PYTHON"; }

install_package() {
  local fresh=0
  if ! venv_healthy; then
    fresh=1
    if [ -e "$VENV" ]; then
      [ -f "$VENV/pyvenv.cfg" ] || fail "$VENV exists but is not a virtual environment; move it away or set NUMERAI_MCP_HOME."
      doing "recreate the broken virtual environment $VENV"
      [ "$DRY_RUN" = 1 ] || rm -rf "$VENV"
    fi
    if [ ${#UV[@]} -gt 0 ]; then
      doing "create the virtual environment $VENV with ${PYTHON:-a Python >= 3.11 fetched by uv} ($INSTALLER_LABEL)"
      [ "$DRY_RUN" = 1 ] || "${UV[@]}" venv --quiet --python "${PYTHON:->=3.11}" "$VENV" </dev/null
    else
      doing "create the virtual environment $VENV with $PYTHON (python -m venv)"
      if [ "$DRY_RUN" = 0 ] && ! "$PYTHON" -m venv "$VENV" </dev/null; then
        rm -rf "$VENV"
        fail "'$PYTHON -m venv' failed. On Debian/Ubuntu install the venv module (sudo apt install python3-venv), or install uv; then run again."
      fi
    fi
  fi
  if [ "$fresh" = 1 ] || [ ! -x "$COMMAND" ]; then doing "install $PACKAGE from $SOURCE_LABEL: $SOURCE"
  else doing "upgrade $PACKAGE in place from $SOURCE_LABEL: $SOURCE"; fi
  [ "$DRY_RUN" = 0 ] || return 0
  if [ -d "$SOURCE" ]; then stage_checkout "$SOURCE"; fi
  if [ ${#UV[@]} -gt 0 ]; then
    "${UV[@]}" pip install --quiet --python "$VENV_PYTHON" --upgrade --reinstall-package "$PACKAGE" "$SOURCE" </dev/null ||
      fail "installing $PACKAGE failed (see above). Fix the cause and run the installer again."
  else
    "$VENV_PYTHON" -m pip --version >/dev/null 2>&1 || "$VENV_PYTHON" -m ensurepip --upgrade >/dev/null </dev/null ||
      fail "the virtual environment $VENV has no pip; delete it and run again."
    if ! "$VENV_PYTHON" -m pip install --quiet --disable-pip-version-check --upgrade "$SOURCE" </dev/null; then
      fail "installing $PACKAGE failed (see above). Fix the cause and run the installer again."
    fi
  fi
  local version
  version=$("$COMMAND" --version </dev/null 2>&1) || fail "the installed command does not run: $COMMAND --version said: $version"
  step "installed $PACKAGE $version at $COMMAND"
}

# ---------------------------------------------------------------- credentials

KEY="" KEY_ORIGIN=""

# Strip any "Token "/"Bearer " prefixes and whitespace; succeed only for PUBLIC_ID$SECRET_KEY.
normalize_key() {
  local k=$1 prefix='^[[:space:]]*([Tt][Oo][Kk][Ee][Nn]|[Bb][Ee][Aa][Rr][Ee][Rr])[[:space:]]+' pair='^[^[:space:]$]+[$][^[:space:]$]+$'
  while [[ $k =~ $prefix ]]; do k=${k#"${BASH_REMATCH[0]}"}; done
  k=${k#"${k%%[![:space:]]*}"}
  k=${k%"${k##*[![:space:]]}"}
  [[ $k =~ $pair ]] || return 1
  NORMALIZED_KEY=$k
}

can_prompt() { [ "$NON_INTERACTIVE" = 0 ] && [ "$DRY_RUN" = 0 ] && { : </dev/tty; } 2>/dev/null; }

ask_yes() { # ask_yes QUESTION DEFAULT(y|n)
  local answer=""
  printf '%s ' "$1" >/dev/tty
  IFS= read -r answer </dev/tty || answer=""
  case ${answer:-$2} in [Yy]*) return 0 ;; *) return 1 ;; esac
}

explain_key() {
  cat >/dev/tty <<EOF

numerai-mcp needs a Numerai API key to upload and deploy your model.
Create one at numer.ai -> Account -> Custom API Keys, with these scopes:
  needed:   $KEY_SCOPES_NEEDED
  optional: download_submission
  never:    stake (the server never stakes; a key without it is safer)
It is stored in $CRED_FILE, readable only by you,
and no agent-client config will contain it.
EOF
}

prompt_for_key() {
  local entered="" tries=0
  explain_key
  while [ $tries -lt 3 ]; do
    tries=$((tries + 1))
    printf '%s' "Paste the key as PUBLIC_ID\$SECRET_KEY (input hidden; Enter to skip): " >/dev/tty
    IFS= read -rs entered </dev/tty || entered=""
    printf '\n' >/dev/tty
    [ -n "$entered" ] || return 1
    if normalize_key "$entered"; then KEY=$NORMALIZED_KEY KEY_ORIGIN=prompt; return 0; fi
    printf '%s\n' "That is not of the form PUBLIC_ID\$SECRET_KEY (the two parts joined by a '\$'). Try again." >/dev/tty
  done
  return 1
}

key_from_env() {
  if [ -n "${NUMERAI_MCP_AUTH:-}" ]; then
    normalize_key "$NUMERAI_MCP_AUTH" ||
      fail "NUMERAI_MCP_AUTH is not of the form PUBLIC_ID\$SECRET_KEY; fix it (quote it: '\$' is special in shells) and run again."
    KEY=$NORMALIZED_KEY KEY_ORIGIN=NUMERAI_MCP_AUTH
  elif [ -n "${NUMERAI_PUBLIC_ID:-}" ] || [ -n "${NUMERAI_SECRET_KEY:-}" ]; then
    if [ -z "${NUMERAI_PUBLIC_ID:-}" ] || [ -z "${NUMERAI_SECRET_KEY:-}" ]; then
      fail "only one of NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY is set; set both (or NUMERAI_MCP_AUTH) and run again."
    fi
    normalize_key "$NUMERAI_PUBLIC_ID\$$NUMERAI_SECRET_KEY" ||
      fail "NUMERAI_PUBLIC_ID/NUMERAI_SECRET_KEY must not contain spaces or '\$'."
    KEY=$NORMALIZED_KEY KEY_ORIGIN="NUMERAI_PUBLIC_ID/NUMERAI_SECRET_KEY"
  fi
}

stored_key() { # prints nothing; sets KEY from the credentials file when it holds one
  local line=""
  [ -f "$CRED_FILE" ] || return 1
  IFS= read -r line <"$CRED_FILE" || [ -n "$line" ] || return 1
  normalize_key "$line" || return 1
  KEY=$NORMALIZED_KEY KEY_ORIGIN=file
}

# Decides KEY and STORE_KEY (write the credentials file) before anything is installed.
decide_credentials() {
  STORE_KEY=0
  [ "$SANDBOX" = 0 ] || { info "Sandbox mode: no Numerai key is needed."; return 0; }
  key_from_env
  if [ -n "$KEY" ]; then
    if [ "$KEY_IN_ENV" = 1 ] || [ "$EMBED_KEY" = 1 ]; then return 0; fi
    if can_prompt && ! ask_yes "Store the key from $KEY_ORIGIN in $CRED_FILE (readable only by you) so every agent client can use it? [Y/n]" y; then
      KEY_IN_ENV=1
      return 0
    fi
    STORE_KEY=1
    return 0
  fi
  if stored_key; then info "Numerai key: using the one stored in $CRED_FILE."; return 0; fi
  if [ -f "$CRED_FILE" ]; then warn "$CRED_FILE does not hold a PUBLIC_ID\$SECRET_KEY line; a key given now replaces it."; fi
  [ "$KEY_IN_ENV" = 0 ] || fail "--key-in-env, but NUMERAI_MCP_AUTH (or NUMERAI_PUBLIC_ID + NUMERAI_SECRET_KEY) is not set."
  if can_prompt && prompt_for_key; then
    [ "$EMBED_KEY" = 1 ] || STORE_KEY=1
    return 0
  fi
  [ "$EMBED_KEY" = 0 ] || fail "--embed-key, but no key was given: set NUMERAI_MCP_AUTH, or run interactively to paste it."
  if [ "$DRY_RUN" = 1 ] && [ "$NON_INTERACTIVE" = 0 ]; then
    info "[dry-run] would ask for your Numerai key (hidden input) and store it in $CRED_FILE (mode 0600)"
  else
    warn "no Numerai key set. The server still starts (its sandbox and public queries work)." \
      "To add your key later, run this installer again with --reuse: it asks for it with hidden input."
  fi
}

write_credentials_file() {
  [ "$STORE_KEY" = 1 ] || return 0
  local dir line=""
  dir=$(dirname "$CRED_FILE")
  if [ -f "$CRED_FILE" ] && IFS= read -r line <"$CRED_FILE" && [ "$line" = "$KEY" ]; then
    info "Numerai key: already stored in $CRED_FILE"
    [ "$DRY_RUN" = 1 ] || chmod 600 "$CRED_FILE"
    return 0
  fi
  doing "store the Numerai key from $KEY_ORIGIN in $CRED_FILE (mode 0600, directory 0700)"
  [ "$DRY_RUN" = 0 ] || return 0
  (umask 077 && mkdir -p "$dir")
  if [ "$CRED_FILE" = "$DEFAULT_CRED_FILE" ]; then chmod 700 "$dir"; fi
  if [ -f "$CRED_FILE" ]; then info "Numerai key: replacing the key stored in $CRED_FILE."; fi
  local tmp
  tmp=$(umask 077 && mktemp "$dir/.credentials.XXXXXX")
  printf '%s\n' "$KEY" >"$tmp"
  chmod 600 "$tmp"
  mv -f "$tmp" "$CRED_FILE"
}

# ---------------------------------------------------------------- clients

client_config() {
  case $1 in
    codex) printf '%s\n' "$CODEX_CONFIG" ;;
    claude) printf '%s\n' "$CLAUDE_JSON" ;;
    cursor) printf '%s\n' "$CURSOR_JSON" ;;
    desktop) printf '%s\n' "$DESKTOP_JSON" ;;
  esac
}

client_title() {
  case $1 in codex) echo Codex ;; claude) echo "Claude Code" ;; cursor) echo Cursor ;; desktop) echo "Claude Desktop" ;; esac
}

client_present() {
  case $1 in
    codex) command -v codex >/dev/null 2>&1 || [ -d "${CODEX_HOME:-$HOME/.codex}" ] ;;
    claude) command -v claude >/dev/null 2>&1 || [ -f "$CLAUDE_JSON" ] || [ -d "$HOME/.claude" ] ;;
    cursor) command -v cursor >/dev/null 2>&1 || [ -d "$HOME/.cursor" ] ;;
    desktop) [ -d "$(dirname "$DESKTOP_JSON")" ] ;;
  esac
}

# Sets TARGETS to the clients to act on.
select_clients() {
  TARGETS=""
  local name
  if [ -z "$CLIENTS" ] || [ "$CLIENTS" = all ]; then
    for name in $ALL_CLIENTS; do
      if [ "$UNINSTALL" = 1 ] || client_present "$name"; then TARGETS="${TARGETS:+$TARGETS }$name"; fi
    done
    if [ "$CLIENTS" = all ] && [ "$UNINSTALL" = 0 ]; then
      # "all" also means the clients not set up yet, but Claude Desktop has no Linux build.
      local everyone="codex claude cursor desktop"
      if [ "$OS_KIND" = linux ]; then everyone="codex claude cursor"; fi
      for name in $everyone; do
        case " $TARGETS " in *" $name "*) ;; *) TARGETS="$TARGETS $name" ;; esac
      done
      TARGETS=${TARGETS# }
    fi
  else
    TARGETS=$CLIENTS
  fi
}

helper_python() {
  if [ -x "$VENV_PYTHON" ] && python_ok "$VENV_PYTHON"; then printf '%s\n' "$VENV_PYTHON"
  elif [ -n "$PYTHON" ]; then printf '%s\n' "$PYTHON"
  else return 1; fi
}

# The config helper: edits exactly one client config (see its docstring). The key, when it
# must be embedded, reaches it through the environment, never through argv.
config_helper() {
  local py
  py=$(helper_python) || fail "editing client configs needs Python 3.11 or newer; none was found."
  "$py" - "$@" <<'NUMERAI_MCP_CONFIG_HELPER'
"""Edit one agent client's config so that it starts (or no longer starts) the numerai server.

Only the `numerai` entry changes: every other entry, key and comment is kept. TOML is edited
line by line (tomllib only parses), JSON is re-serialised with its own indentation. Writes are
atomic (temp file + rename) with a backup beside the file; a file that does not parse, or that
could not be edited safely, is left byte-identical and the helper exits 3 saying why.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import os
import re
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field

NAME = "numerai"
SERVERS_TOML = "mcp_servers"
SERVERS_JSON = "mcpServers"
OUR_COMMANDS = {"numerai-mcp", "numerai-mcp.exe"}
SECRET_ENV = "NUMERAI_MCP_INSTALL_SECRET"
BACKUP_SUFFIX = ".numerai-mcp.bak"
REFUSED = 3
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
KEY_PART = re.compile(r"[ \t]*(?:([A-Za-z0-9_-]+)|(\"(?:[^\"\\\n]|\\.)*\")|('[^'\n]*'))[ \t]*")
SECRET_LOOKING = re.compile(r"(?i)((?:key|token|secret|auth|password)[^=:\n]*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)")


class Refused(Exception):
    """The config is left untouched; the message says why and what to do next."""


@dataclass
class Wanted:
    """What our entry must contain; every other key of the entry is the user's."""

    command: str
    args: list[str]
    env_set: dict[str, str] = field(default_factory=dict)
    env_unset: list[str] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    typed: bool = False


def is_ours(entry: object) -> bool:
    command = entry.get("command") if isinstance(entry, dict) else None
    return isinstance(command, str) and re.split(r"[\\/]", command)[-1] in OUR_COMMANDS


def describe(entry: object) -> str:
    if isinstance(entry, dict):
        for key in ("command", "url"):
            if isinstance(entry.get(key), str):
                return f"{key} = {entry[key]}"
    return "not written by this installer"


def merge(existing: dict | None, wanted: Wanted) -> dict:
    """Our entry as it should be: the managed keys set, everything the user added kept."""
    entry: dict = {"type": "stdio"} if wanted.typed else {}
    entry.update(existing or {})
    if wanted.typed:
        entry["type"] = "stdio"
    entry["command"] = wanted.command
    entry["args"] = list(wanted.args)
    env = entry.get("env", {})
    if not isinstance(env, dict):
        raise Refused("its numerai entry has an 'env' that is not a table; fix that entry by hand")
    env = {k: v for k, v in env.items() if k not in wanted.env_unset}
    env.update(wanted.env_set)
    if env or "env" in entry or wanted.typed:
        entry["env"] = env
    if wanted.forward:
        names = entry.get("env_vars", [])
        if not isinstance(names, list):
            raise Refused("its numerai entry has an 'env_vars' that is not a list; fix that entry by hand")
        entry["env_vars"] = names + [n for n in wanted.forward if n not in names]
    return entry


# ------------------------------------------------------------------ TOML, line by line

@dataclass
class Stmt:
    kind: str  # "trivia" (blank or comment line), "header" or "kv"
    start: int  # first line
    end: int  # one past the last line
    path: tuple  # header: the table; kv: table + dotted key
    table: tuple  # the table the statement belongs to


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}" if value else "{}"
    raise Refused(f"its numerai entry holds a value this installer cannot rewrite ({type(value).__name__})")


def parse_key(text: str, pos: int) -> tuple[list[str], int]:
    """A dotted TOML key starting at text[pos]: its parts and the position after it."""
    parts = []
    while True:
        match = KEY_PART.match(text, pos)
        if not match:
            raise Refused(f"could not read the key in line {text.strip()!r}; edit the file by hand")
        bare, basic, literal = match.groups()
        parts.append(bare if bare is not None else tomllib.loads(f"k = {basic or literal}")["k"])
        pos = match.end()
        if not text.startswith(".", pos):
            return parts, pos
        pos += 1


def split_toml(text: str) -> tuple[list[str], list[Stmt]]:
    lines = text.splitlines(keepends=True)
    stmts: list[Stmt] = []
    table: tuple = ()
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            stmts.append(Stmt("trivia", i, i + 1, table, table))
            i += 1
            continue
        if stripped.startswith("["):
            double = stripped.startswith("[[")
            parts, pos = parse_key(stripped, 2 if double else 1)
            table = tuple(parts)
            stmts.append(Stmt("header", i, i + 1, table, table))
            i += 1
            continue
        parts, _ = parse_key(stripped, 0)
        end = i + 1
        while True:  # a value may span lines: take the fewest lines that parse on their own
            try:
                tomllib.loads("".join(lines[i:end]))
                break
            except tomllib.TOMLDecodeError:
                if end >= len(lines):
                    raise Refused("could not split it into statements; edit the file by hand") from None
                end += 1
        stmts.append(Stmt("kv", i, end, table + tuple(parts), table))
        i = end
    return lines, stmts


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def apply_ops(lines: list[str], ops: list[tuple[int, int, list[str]]]) -> str:
    """Replace lines[start:end] by new lines for each op (start == end inserts)."""
    out: list[str] = []
    done = 0
    for start, end, new in sorted(ops, key=lambda op: (op[0], op[1])):
        out.extend(lines[done:start])
        out.extend(new)
        done = max(done, end)
    out.extend(lines[done:])
    return "".join(out)


def ours_marks(stmts: list[Stmt], our: tuple) -> list[bool]:
    """Statements of our entry, with the blank/comment lines that sit between two of them."""
    marks = [s.kind != "trivia" and s.path[: len(our)] == our for s in stmts]
    solid = [i for i, s in enumerate(stmts) if s.kind != "trivia"]
    for pos, i in enumerate(solid[:-1]):
        nxt = solid[pos + 1]
        if marks[i] and marks[nxt]:
            for j in range(i + 1, nxt):
                marks[j] = True
    return marks


def remove_ours(text: str, our: tuple) -> str:
    lines, stmts = split_toml(text)
    marks = ours_marks(stmts, our)
    keep = [True] * len(lines)
    for s, mine in zip(stmts, marks):
        if mine:
            for n in range(s.start, s.end):
                keep[n] = False
    n = 0
    while n < len(lines):  # a removed block leaves no doubled blank line behind it
        if keep[n]:
            n += 1
            continue
        start = n
        while n < len(lines) and not keep[n]:
            n += 1
        after_blank = n == len(lines) or not lines[n].strip()
        if start > 0 and keep[start - 1] and not lines[start - 1].strip() and after_blank:
            keep[start - 1] = False
    return "".join(line for line, k in zip(lines, keep) if k)


def render_block(entry: dict, our: tuple, nl: str) -> list[str]:
    head = ".".join(toml_key(p) for p in our)
    plain = [(k, v) for k, v in entry.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in entry.items() if isinstance(v, dict)]
    out = [f"[{head}]{nl}"] + [f"{toml_key(k)} = {toml_value(v)}{nl}" for k, v in plain]
    for key, table in tables:
        out += [nl, f"[{head}.{toml_key(key)}]{nl}"]
        out += [f"{toml_key(k)} = {toml_value(v)}{nl}" for k, v in table.items()]
    return out


def append_block(text: str, entry: dict, our: tuple) -> str:
    nl = newline_of(text)
    if text and not text.endswith("\n"):
        text += nl
    lead = [nl] if text.strip() else []
    return text + "".join(lead + render_block(entry, our, nl))


def update_in_place(text: str, old: dict, new: dict, our: tuple) -> str:
    """Rewrite only the statements whose values change; insert the missing ones."""
    nl = newline_of(text)
    if text and not text.endswith("\n"):
        text += nl
    lines, stmts = split_toml(text)
    ops: list[tuple[int, int, list[str]]] = []
    main_header = next((s for s in stmts if s.kind == "header" and s.path == our), None)
    if main_header is None:
        raise Refused("its numerai entry has no [mcp_servers.numerai] header")
    by_path = {s.path: s for s in stmts if s.kind == "kv" and s.path[: len(our)] == our}

    def last_line_of(table: tuple, header: Stmt) -> int:
        kvs = [s for s in stmts if s.kind == "kv" and s.table == table]
        return kvs[-1].end if kvs else header.end

    def kv_line(stmt: Stmt, value: object) -> list[str]:
        rel = stmt.path[len(stmt.table):]
        return [".".join(toml_key(p) for p in rel) + f" = {toml_value(value)}{nl}"]

    def set_leaf(rel: tuple, value: object, missing: list[tuple]) -> None:
        stmt = by_path.get(our + rel)
        if stmt is not None:
            ops.append((stmt.start, stmt.end, [] if value is None else kv_line(stmt, value)))
        elif value is not None:
            missing.append(rel)

    top_missing: list[tuple] = []
    for key in [k for k in new if not isinstance(new[k], dict)] + [k for k in old if k not in new]:
        if old.get(key) != new.get(key):
            set_leaf((key,), new.get(key), top_missing)
    for key in [k for k in new if isinstance(new[k], dict)]:
        old_table, new_table = old.get(key) or {}, new[key]
        if old_table == new_table:
            continue
        inline = by_path.get(our + (key,))
        if inline is not None:  # `env = { ... }` inside our main table
            ops.append((inline.start, inline.end, kv_line(inline, new_table)))
            continue
        sub_missing: list[tuple] = []
        for name in list(new_table) + [n for n in old_table if n not in new_table]:
            if old_table.get(name) != new_table.get(name):
                set_leaf((key, name), new_table.get(name), sub_missing)
        if not sub_missing:
            continue
        sub_header = next((s for s in stmts if s.kind == "header" and s.path == our + (key,)), None)
        rendered = [f"{toml_key(rel[-1])} = {toml_value(new_table[rel[-1]])}{nl}" for rel in sub_missing]
        if sub_header is not None:
            ops.append((last_line_of(our + (key,), sub_header),) * 2 + (rendered,))
        elif any(p[: len(our) + 1] == our + (key,) for p in by_path):  # dotted `env.X = ...` keys
            dotted = [s for p, s in by_path.items() if p[: len(our) + 1] == our + (key,)]
            rendered = [f"{toml_key(key)}.{line}" for line in rendered]
            ops.append((dotted[-1].end, dotted[-1].end, rendered))
        else:
            mine = [s for s in stmts if s.kind != "trivia" and s.path[: len(our)] == our]
            head = ".".join(toml_key(p) for p in our + (key,))
            ops.append((mine[-1].end, mine[-1].end, [nl, f"[{head}]{nl}"] + rendered))
    if top_missing:
        rendered = [f"{toml_key(rel[0])} = {toml_value(new[rel[0]])}{nl}" for rel in top_missing]
        at = last_line_of(our, main_header)
        ops.append((at, at, rendered))
    return apply_ops(lines, ops)


def drop_empty_servers(doc: dict) -> dict:
    if doc.get(SERVERS_TOML) == {}:
        del doc[SERVERS_TOML]
    return doc


def load_doc(text: str, path: str, fmt: str) -> dict:
    """The parsed config, or Refused saying where it does not parse."""
    try:
        doc = tomllib.loads(text) if fmt == "toml" else json.loads(text) if text.strip() else {}
    except tomllib.TOMLDecodeError as exc:
        problem = f"TOML ({exc})"
    except json.JSONDecodeError as exc:
        problem = f"JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    else:
        problem = ""
    if problem:
        raise Refused(f"{path} is not valid {problem}; it was left untouched. Fix or move it, then run the installer again")
    if not isinstance(doc, dict):
        raise Refused(f"{path} does not hold a JSON object; it was left untouched")
    return doc


def servers_of(doc: dict, path: str, fmt: str) -> dict:
    key = SERVERS_TOML if fmt == "toml" else SERVERS_JSON
    servers = doc.get(key, {})
    if not isinstance(servers, dict):
        raise Refused(f"{path}: '{key}' is not an object; it was left untouched. Fix it by hand")
    return servers


UNCHANGED = object()


def next_entry(existing: object, action: str, wanted: Wanted | None, force: bool, path: str) -> object:
    """Our entry after the action: a dict, None when it goes away, or UNCHANGED."""
    mine = is_ours(existing)
    if action == "unregister":
        if existing is None:
            return UNCHANGED
        if not mine and not force:
            raise NotOurs(describe(existing))
        return None
    if existing is not None and not mine and not force:
        raise Refused(
            f"{path} already has an MCP server named 'numerai' that this installer did not write "
            f"({describe(existing)}). It was left untouched. Remove or rename that entry, "
            "or run the installer again with --force to replace it"
        )
    entry = merge(existing if mine else None, wanted)
    return UNCHANGED if mine and entry == existing else entry


class NotOurs(Exception):
    """Uninstall found a `numerai` entry that another tool wrote: it is left alone."""


def edit_toml(text: str, path: str, action: str, wanted: Wanted | None, force: bool) -> str:
    doc = load_doc(text, path, "toml")
    our = (SERVERS_TOML, NAME)
    existing = servers_of(doc, path, "toml").get(NAME)
    if existing is not None:  # our entry must be made of statements we can find line by line
        try:
            rest = tomllib.loads(remove_ours(text, our)).get(SERVERS_TOML, {})
        except tomllib.TOMLDecodeError:
            rest = {NAME: None}
        if isinstance(rest, dict) and NAME in rest:
            raise Refused(
                f"{path} defines mcp_servers.numerai in a form this installer does not edit (inside an "
                "inline table); it was left untouched. Edit that entry by hand"
            )
    entry = next_entry(existing, action, wanted, force, path)
    if entry is UNCHANGED:
        return text
    expected = copy.deepcopy(doc)
    if entry is None:
        del expected[SERVERS_TOML][NAME]
        new_text = remove_ours(text, our)
    else:
        expected.setdefault(SERVERS_TOML, {})[NAME] = entry
        if is_ours(existing) and any(s.kind == "header" and s.path == our for s in split_toml(text)[1]):
            new_text = update_in_place(text, existing, entry, our)
        else:
            new_text = append_block(remove_ours(text, our) if existing is not None else text, entry, our)
    try:
        result = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        result = None
    if result is None or drop_empty_servers(result) != drop_empty_servers(expected):
        raise Refused(
            f"{path} could not be edited safely (the result did not read back as intended); "
            "it was left untouched. Edit the numerai entry by hand"
        )
    return new_text


# ------------------------------------------------------------------ JSON

def json_indent(text: str) -> str | int:
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            lead = line[: len(line) - len(stripped)]
            return "\t" if lead.startswith("\t") else len(lead)
    return 2


def edit_json(text: str, path: str, action: str, wanted: Wanted | None, force: bool) -> str:
    doc = load_doc(text, path, "json")
    servers = servers_of(doc, path, "json")
    entry = next_entry(servers.get(NAME), action, wanted, force, path)
    if entry is UNCHANGED:
        return text
    if entry is None:
        del servers[NAME]
    else:
        servers[NAME] = entry
        doc[SERVERS_JSON] = servers
    return json.dumps(doc, indent=json_indent(text), ensure_ascii=False) + "\n"


# ------------------------------------------------------------------ files and output

def write_atomic(path: str, text: str, private: bool, retired: tuple[str, ...] = ()) -> str | None:
    """Replace the file's content atomically; return the backup's path, if there was a file.

    `retired` are secrets this edit takes out of the file (now in the credentials file): the
    backup masks them, so that no file we write keeps a plain-text key.
    """
    real = os.path.realpath(path)  # keep a symlinked config (dotfiles) a symlink
    folder = os.path.dirname(real)
    os.makedirs(folder, exist_ok=True)
    backup = None
    mode = 0o600
    if os.path.exists(real):
        mode = os.stat(real).st_mode & 0o777
        backup = real + BACKUP_SUFFIX
        with open(real, "rb") as src:
            data = src.read()
        for secret in retired:
            data = data.replace(secret.encode(), b"****")
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as dst:
            dst.write(data)
        os.chmod(backup, 0o600)
    if private:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(real) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return backup


def masked(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "****")
    return SECRET_LOOKING.sub(lambda m: m.group(1) + '"****"', text)


def show_diff(old: str, new: str, path: str, secret: str | None) -> None:
    # No context lines: neighbouring entries may hold other tools' tokens.
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), path, path, n=0, lineterm=""):
        print("    " + masked(line, secret))


def retired_secrets(text: str, path: str, fmt: str, wanted: Wanted | None) -> tuple[str, ...]:
    """Values of the env keys this edit removes from our entry (a key embedded earlier)."""
    if wanted is None or not wanted.env_unset:
        return ()
    existing = servers_of(load_doc(text, path, fmt), path, fmt).get(NAME)
    env = existing.get("env") if is_ours(existing) else None
    if not isinstance(env, dict):
        return ()
    return tuple(v for k, v in env.items() if k in wanted.env_unset and isinstance(v, str) and len(v) >= 8)


def wanted_from(args: argparse.Namespace) -> Wanted:
    env_set = dict(item.split("=", 1) for item in args.set_env)
    if args.embed_secret:
        secret = os.environ.get(SECRET_ENV, "")
        if not secret:
            raise Refused(f"{SECRET_ENV} is empty; nothing to embed")
        env_set[args.embed_secret] = secret
    return Wanted(args.command, args.arg, env_set, args.unset_env, args.forward_env, args.typed)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="install-mcp.sh config helper")
    parser.add_argument("action", choices=["register", "unregister", "status"])
    parser.add_argument("--label", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--format", choices=["toml", "json"], required=True)
    parser.add_argument("--command", default="")
    parser.add_argument("--arg", action="append", default=[])
    parser.add_argument("--set-env", action="append", default=[])
    parser.add_argument("--unset-env", action="append", default=[])
    parser.add_argument("--forward-env", action="append", default=[])
    parser.add_argument("--embed-secret", default="")
    parser.add_argument("--typed", action="store_true")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    label, path = args.label, args.file
    secret = os.environ.get(SECRET_ENV) or None
    edit = edit_toml if args.format == "toml" else edit_json
    try:
        exists = os.path.exists(path)
        if exists and not os.path.isfile(path):
            raise Refused(f"{path} is not a regular file; it was left untouched")
        with open(path, encoding="utf-8", newline="") if exists else open(os.devnull, encoding="utf-8") as fh:
            old = fh.read()
        wanted = wanted_from(args) if args.command else None
        if args.action == "status":  # for clients whose own CLI does the writing
            print(entry_status(old, path, args.format, wanted))
            return 0
        new = edit(old, path, args.action, wanted, args.force)
    except NotOurs as exc:
        print(f"{label}: left alone the 'numerai' entry in {path}: another tool wrote it ({exc}); --force removes it")
        return 0
    except Refused as exc:
        print(f"{label}: {masked(str(exc), secret)}.", file=sys.stderr)
        return REFUSED
    except UnicodeDecodeError:
        print(f"{label}: {path} is not UTF-8 text; it was left untouched.", file=sys.stderr)
        return REFUSED
    if new == old:
        what = "no numerai entry in" if args.action == "unregister" else "already up to date:"
        print(f"{label}: {what} {path}")
        return 0
    if args.dry_run:
        plan = {"register": "update" if exists else "create", "unregister": "remove the numerai entry from"}[args.action]
        print(f"[dry-run] {label}: would {plan} {path}:")
        show_diff(old, new, path, secret)
        return 0
    backup = write_atomic(path, new, bool(args.embed_secret), retired_secrets(old, path, args.format, wanted))
    verb = {"register": "updated" if exists else "created", "unregister": "removed the numerai entry from"}[args.action]
    print(f"{label}: {verb} {path}" + (f" (backup: {backup})" if backup else ""))
    return 0


def entry_status(text: str, path: str, fmt: str, wanted: Wanted | None) -> str:
    """absent | foreign | current | stale: what a client's own CLI would have to do."""
    existing = servers_of(load_doc(text, path, fmt), path, fmt).get(NAME)
    if existing is None:
        return "absent"
    if not is_ours(existing):
        return "foreign"
    return "current" if wanted is None or merge(existing, wanted) == existing else "stale"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
NUMERAI_MCP_CONFIG_HELPER
}

# The server's arguments and environment, as every client entry gets them.
entry_args() {
  HELPER_ARGS=(--command "$(native_path "$COMMAND")" --arg=serve)
  if [ "$SANDBOX" = 1 ]; then HELPER_ARGS+=(--arg=--sandbox); fi
  if [ "$CRED_FILE" != "$DEFAULT_CRED_FILE" ] && [ "$SANDBOX" = 0 ] && [ "$EMBED_KEY" = 0 ] && [ "$KEY_IN_ENV" = 0 ]; then
    # The server looks in the default place unless told otherwise; this path holds no secret.
    HELPER_ARGS+=(--set-env "NUMERAI_MCP_CREDENTIALS_FILE=$(native_path "$CRED_FILE")")
  else
    HELPER_ARGS+=(--unset-env NUMERAI_MCP_CREDENTIALS_FILE)
  fi
  if [ "$EMBED_KEY" = 1 ]; then
    HELPER_ARGS+=(--embed-secret NUMERAI_MCP_AUTH)
  elif [ "$STORE_KEY" = 1 ] || [ "$KEY_ORIGIN" = file ]; then
    # The file holds the key now: a copy embedded earlier would only shadow it.
    HELPER_ARGS+=(--unset-env NUMERAI_MCP_AUTH)
  fi
  if [ "$DRY_RUN" = 1 ]; then HELPER_ARGS+=(--dry-run); fi
  if [ "$FORCE" = 1 ]; then HELPER_ARGS+=(--force); fi
}

run_helper() { # run_helper ACTION CLIENT FORMAT [extra args...]; the key goes through the environment
  local action=$1 name=$2 format=$3
  shift 3
  if [ "$EMBED_KEY" = 1 ] && [ "$action" != unregister ]; then
    NUMERAI_MCP_INSTALL_SECRET=$KEY config_helper "$action" --label "$(client_title "$name")" --format "$format" --file "$(client_config "$name")" "$@"
  else
    config_helper "$action" --label "$(client_title "$name")" --format "$format" --file "$(client_config "$name")" "$@"
  fi
}

# Claude Code's own CLI writes ~/.claude.json when it is installed (it rewrites that file
# often, so its own writer is safest). It takes -e values in argv, so an embedded key is
# written by the helper instead.
claude_cli_usable() { command -v claude >/dev/null 2>&1 && [ "$EMBED_KEY" = 0 ]; }

foreign_claude_entry() {
  warn "Claude Code: $CLAUDE_JSON already has an MCP server named '$SERVER_NAME' that this installer did not" \
    "write; it was left untouched. Remove or rename it (claude mcp remove --scope user $SERVER_NAME)," \
    "or run the installer again with --force to replace it."
}

register_claude_with_cli() {
  local state args=() arg env_args=()
  state=$(run_helper status claude json "${HELPER_ARGS[@]}" --typed) || return 1
  case $state in
    current) info "Claude Code: already up to date: $CLAUDE_JSON"; return 0 ;;
    foreign) [ "$FORCE" = 1 ] || { foreign_claude_entry; return 1; } ;;
  esac
  for arg in "${HELPER_ARGS[@]}"; do
    case $arg in --arg=*) args+=("${arg#--arg=}") ;; NUMERAI_MCP_CREDENTIALS_FILE=*) env_args+=(-e "$arg") ;; esac
  done
  local add=(claude mcp add --scope user ${env_args[@]+"${env_args[@]}"} "$SERVER_NAME" -- "$(native_path "$COMMAND")" "${args[@]}")
  if [ "$DRY_RUN" = 1 ]; then
    [ "$state" = absent ] || info "[dry-run] Claude Code: would run: claude mcp remove --scope user $SERVER_NAME"
    info "[dry-run] Claude Code: would run: ${add[*]}"
    return 0
  fi
  if [ "$state" != absent ]; then claude mcp remove --scope user "$SERVER_NAME" </dev/null >/dev/null || return 1; fi
  "${add[@]}" </dev/null >/dev/null || { warn "'claude mcp add' failed; see its message above."; return 1; }
  info "Claude Code: registered with 'claude mcp add --scope user' in $CLAUDE_JSON"
}

register_client() {
  local name=$1
  case $name in
    codex)
      local forward=()
      if [ "$KEY_IN_ENV" = 1 ]; then forward=(--forward-env NUMERAI_MCP_AUTH --forward-env NUMERAI_PUBLIC_ID --forward-env NUMERAI_SECRET_KEY); fi
      run_helper register codex toml "${HELPER_ARGS[@]}" ${forward[@]+"${forward[@]}"} ;;
    claude)
      if claude_cli_usable; then register_claude_with_cli; else run_helper register claude json "${HELPER_ARGS[@]}" --typed; fi ;;
    cursor | desktop) run_helper register "$name" json "${HELPER_ARGS[@]}" ;;
  esac
}

unregister_client() {
  local name=$1 extra=() format=json
  if [ "$DRY_RUN" = 1 ]; then extra+=(--dry-run); fi
  if [ "$FORCE" = 1 ]; then extra+=(--force); fi
  if [ "$name" = codex ]; then format=toml; fi
  [ -e "$(client_config "$name")" ] || return 0
  if [ "$name" = claude ] && command -v claude >/dev/null 2>&1; then
    local state
    state=$(run_helper status claude json --command "$COMMAND") || return 1
    case $state in
      absent) info "Claude Code: no numerai entry in $CLAUDE_JSON"; return 0 ;;
      foreign)
        if [ "$FORCE" = 0 ]; then
          info "Claude Code: left alone the '$SERVER_NAME' entry in $CLAUDE_JSON: another tool wrote it; --force removes it"
          return 0
        fi ;;
    esac
    if [ "$DRY_RUN" = 1 ]; then info "[dry-run] Claude Code: would run: claude mcp remove --scope user $SERVER_NAME"; return 0; fi
    if claude mcp remove --scope user "$SERVER_NAME" </dev/null >/dev/null; then
      info "Claude Code: removed the numerai entry with 'claude mcp remove --scope user'"
      return 0
    fi
    warn "'claude mcp remove' failed; editing $CLAUDE_JSON directly instead."
  fi
  run_helper unregister "$name" "$format" ${extra[@]+"${extra[@]}"}
}

manual_snippet() {
  local server_args='"serve"'
  if [ "$SANDBOX" = 1 ]; then server_args='"serve", "--sandbox"'; fi
  cat <<EOF
No agent client was found (looked for Codex, Claude Code, Cursor and Claude Desktop).
Register one with --client NAME, or add this entry to your client's MCP config by hand:
  {"mcpServers": {"$SERVER_NAME": {"command": "$(native_path "$COMMAND")", "args": [$server_args]}}}
EOF
}

# ---------------------------------------------------------------- flows

do_uninstall() {
  local name failed=0
  select_clients
  for name in $TARGETS; do unregister_client "$name" || failed=1; done
  if [ -e "$VENV" ]; then
    [ -f "$VENV/pyvenv.cfg" ] || fail "$VENV is not a virtual environment; not deleting it."
    doing "delete the virtual environment $VENV"
    [ "$DRY_RUN" = 1 ] || rm -rf "$VENV"
  fi
  if [ "$DRY_RUN" = 0 ] && [ -d "$INSTALL_HOME" ]; then rmdir "$INSTALL_HOME" 2>/dev/null || true; fi
  if [ -f "$CRED_FILE" ]; then
    if [ "$PURGE" = 1 ]; then
      doing "delete the stored Numerai key $CRED_FILE"
      if [ "$DRY_RUN" = 0 ]; then
        rm -f "$CRED_FILE"
        rmdir "$(dirname "$CRED_FILE")" 2>/dev/null || true
      fi
    else
      info "Kept your stored Numerai key in $CRED_FILE (--uninstall --purge deletes it)."
    fi
  fi
  [ "$failed" = 0 ] || fail "some client configs could not be changed; see the messages above."
  info "numerai-mcp is uninstalled."
}

next_steps() {
  local titles="" name
  for name in $REGISTERED; do titles="${titles:+$titles, }$(client_title "$name")"; done
  info ""
  info "Next steps:"
  if [ -n "$titles" ]; then
    info "  1. Restart your agent client ($titles) so that it starts the '$SERVER_NAME' server."
  else
    info "  1. Register the server with your agent client (see above), then restart the client."
  fi
  if [ "$SANDBOX" = 1 ]; then
    info "  2. Ask your agent: \"check my Numerai credentials\" (the sandbox answers with a demo account)."
  else
    info "  2. Ask your agent: \"check my Numerai credentials\"."
  fi
  info "  3. See what is installed and usable: $(native_path "$COMMAND") doctor"
}

do_install() {
  find_python
  choose_installer
  if [ -z "$PYTHON" ] && { [ ${#UV[@]} -eq 0 ] || [ "$REUSE" = 1 ]; } && ! venv_healthy; then no_python_help; fi
  if [ "$REUSE" = 1 ] && ! venv_healthy; then
    fail "--reuse, but there is no working install at $VENV; run the installer without --reuse first."
  fi
  select_clients
  decide_credentials
  if [ "$EMBED_KEY" = 1 ]; then
    warn "--embed-key: your Numerai key will be stored in plain text in each client's config." \
      "The credentials file (the default) keeps it out of them."
  fi
  if [ "$REUSE" = 1 ]; then
    info "Reusing the install at $VENV (--reuse)."
  else
    resolve_source
    install_package
  fi
  write_credentials_file
  if [ "$KEY_IN_ENV" = 1 ]; then
    info "The key stays in your environment only. Codex is told to pass NUMERAI_MCP_AUTH," \
      "NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY through; other clients see the key only when" \
      "they are started from a shell that has it set."
  fi
  entry_args
  REGISTERED=""
  local name failed=0
  if [ -z "$TARGETS" ]; then manual_snippet; fi
  for name in $TARGETS; do
    if register_client "$name"; then REGISTERED="${REGISTERED:+$REGISTERED }$name"; else failed=1; fi
  done
  if [ "$DRY_RUN" = 1 ]; then info "[dry-run] nothing was changed."; else next_steps; fi
  [ "$failed" = 0 ] || fail "some clients were not registered; see the messages above, fix them and run again."
}

main() {
  parse_args "$@"
  setup_paths
  if [ "$UNINSTALL" = 1 ]; then
    find_python
    do_uninstall
  else
    do_install
  fi
}

main "$@"
