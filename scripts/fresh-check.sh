#!/usr/bin/env bash
# Proves the README's two commands work on a fresh Debian 12 machine: a clean
# `debootstrap --variant=minbase bookworm` tree (built once, cached), in which a root shell
# installs git, make and ca-certificates, clones this repository and runs `make up`, the
# three login commands `make up` prints, and `make test`. Run as root on Debian 12;
# `--help` for the options. Every run gets a new tree, which is torn down at the end.
# Steps and the cleanup run indirectly (run_step "$fn", the EXIT trap), which shellcheck
# takes for unreachable code once main ends with exit:
# shellcheck disable=SC2317
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/fresh-check.sh [--ref REV] [--keep] [--rebuild-cache]
  --ref REV         the commit to clone (default HEAD; uncommitted edits are not tested)
  --keep            keep the unpacked tree (unmounted, processes stopped) for debugging
  --rebuild-cache   debootstrap again instead of reusing /var/cache/pgrealm-fresh
Logs: /var/tmp/pgrealm-fresh-logs/<timestamp>/. Exit status 0 only when every step passed.
EOF
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITE=bookworm
CACHE_DIR=/var/cache/pgrealm-fresh
CACHE_TAR=$CACHE_DIR/$SUITE-minbase.tar
TREE_PREFIX=/var/tmp/pgrealm-fresh
LOG_ROOT=/var/tmp/pgrealm-fresh-logs
LOCK=/run/lock/pgrealm-fresh.lock
CA_IN_TREE=/etc/pgrealm-fresh/host-ca.crt
# The chroot shares the host's network stack, so its stack and its tests need host blocks
# nothing else uses: not a user's stack (198.18.0.0/16), the host's tests (198.19.0.0/18),
# bench, chaos and bench-network (198.19.128.0/20, .144, .160); and a 127/8 block for the
# engine tests' own servers, not the host tests' 127.192.0.0/12.
FRESH_HOST_BLOCK=198.19.176.0/20
FRESH_TEST_HOST_BLOCK=198.19.192.0/18
FRESH_TEST_BLOCK=127.16.0.0/12
STEPS=(cache tree apt-prereqs clone make-up login make-test cleanup)

REF=HEAD KEEP=0 REBUILD=0
SHA="" TREE="" BUILD="" LOGS="" API_PORT="" FAILED=0 CHROOT_ENV=() NET_BEFORE=""
STEP_PID="" STEP_NAME="" STEP_T0=0
declare -A STATUS=() SECS=() STEPLOG=()

say() { printf '[fresh-check %(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { say "error: $*" >&2; exit 2; }

parse_args() {
  while [ $# -gt 0 ]; do
    case $1 in
      --ref) [ $# -ge 2 ] || die "--ref needs a revision"; REF=$2; shift 2 ;;
      --keep) KEEP=1; shift ;;
      --rebuild-cache) REBUILD=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; exit 2 ;;
    esac
  done
}

preflight() {
  [ "$(id -u)" = 0 ] || die "run as root (it mounts and chroots)"
  local tool
  for tool in git chroot mount umount findmnt flock timeout ss ip tar; do
    command -v "$tool" >/dev/null || die "$tool is missing on this host"
  done
  SHA=$(git -C "$REPO" rev-parse --verify --quiet "$REF^{commit}") || die "no commit $REF"
  mkdir -p "$(dirname "$LOCK")"
  exec 9>"$LOCK"
  # Two runs would fight over the cache, the API port and the loopback blocks.
  flock -n 9 || die "another fresh-check is running"
}

# --- the host's package sources, read at run time (no mirror URL is written here) ---------

host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$SUITE" '
      function flush() { if (deb && ok && uri != "") { print uri; uri = ""; exit } deb = ok = 0; uri = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "uris:"  { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) ok = 1 }
      END { flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -E 's/\[[^]]*\]//' "$f" | awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }'
  done
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  apt-get -q update &&
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 install debootstrap
}

build_cache() {
  local mirror
  mirror=$(host_mirror | sed -n 1p)
  [ -n "$mirror" ] || { echo "no deb source for $SUITE in /etc/apt"; return 1; }
  echo "debootstrap from the host's mirror $mirror"
  mkdir -p "$CACHE_DIR" &&
    debootstrap --variant=minbase "$SUITE" "$BUILD" "$mirror" &&
    tar -C "$BUILD" --numeric-owner --xattrs -cpf "$CACHE_TAR.part" . &&
    mv "$CACHE_TAR.part" "$CACHE_TAR" &&
    discard_build
}

discard_build() {
  [ -n "$BUILD" ] && [ -d "$BUILD" ] || return 0
  stop_procs_in "$BUILD" && unmount_all "$BUILD" && rm -rf --one-file-system "$BUILD" && BUILD=""
}

step_cache() {
  if [ -z "$BUILD" ]; then echo "using cached tree $CACHE_TAR"; return 0; fi
  ensure_debootstrap && build_cache
}

# --- the working tree ----------------------------------------------------------------

unpack_tree() {
  tar -C "$TREE" --numeric-owner --xattrs -xpf "$CACHE_TAR" &&
    chmod 0755 "$TREE"  # mktemp's 0700 would lock the pgrealm/postgres users out of "/"
}

copy_apt_sources() {
  local f k
  rm -f "$TREE/etc/apt/sources.list"  # debootstrap's; the host's files replace it
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    cp "$f" "$TREE$f" || return 1
    # A source is only usable with its key: bring keyrings the minbase tree lacks.
    while read -r k; do
      if [ -f "$k" ] && [ ! -e "$TREE$k" ]; then
        mkdir -p "$(dirname "$TREE$k")" && cp "$k" "$TREE$k" || return 1
      fi
    done < <(grep -hoiE '(signed-by:|signed-by=)[[:space:]]*[^] ]+' "$f" | sed -E 's/^[^:=]*[:=][[:space:]]*//')
  done
}

copy_apt_conf() {
  local f
  # 99* files no package owns are this machine's local settings (the registry's
  # Check-Valid-Until); docker-* and maintainer-script files are not part of a fresh host.
  for f in /etc/apt/apt.conf.d/99*; do
    [ -f "$f" ] || continue
    if ! dpkg -S "$f" >/dev/null 2>&1; then cp "$f" "$TREE$f" || return 1; fi
  done
}

# ca-certificates' postinst rebuilds the tree's bundle from Mozilla's list only, so the
# network's extra CA lives in a file of its own that pip is pointed at.
copy_ca_and_pip() {
  mkdir -p "$TREE$(dirname "$CA_IN_TREE")" &&
    cp -L /etc/ssl/certs/ca-certificates.crt "$TREE$CA_IN_TREE" &&
    {
      echo "[global]"
      echo "cert = $CA_IN_TREE"
      if [ -n "${PIP_DEFAULT_TIMEOUT:-}" ]; then echo "timeout = $PIP_DEFAULT_TIMEOUT"; fi
      # No find-links/extra-index-url: a fresh machine installs from the plain index.
    } >"$TREE/etc/pip.conf"
}

copy_host_identity() {
  # resolv.conf is needed to reach the registries; hosts is a fresh machine's, not the
  # host's (which may carry a pgrealm stack's marked block).
  rm -f "$TREE/etc/resolv.conf" &&
    cp -L /etc/resolv.conf "$TREE/etc/resolv.conf" &&
    printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$TREE/etc/hosts" &&
    echo pgrealm-fresh >"$TREE/etc/hostname"
}

mount_tree() {
  # `unshare -m` (the DCs') needs "/" to be a mount point: bind the tree onto itself.
  mount --bind "$TREE" "$TREE" &&
    mount --make-private "$TREE" &&
    mount -t proc proc "$TREE/proc" &&
    mount --rbind /sys "$TREE/sys" &&
    mount --make-rslave "$TREE/sys" &&
    # /dev without its submounts: the tree gets its own /dev/shm (PostgreSQL's shared
    # memory must not meet the host's) and the host's ptys.
    mount --bind /dev "$TREE/dev" &&
    mount --make-slave "$TREE/dev" &&
    mount --bind /dev/pts "$TREE/dev/pts" &&
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$TREE/dev/shm" &&
    mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$TREE/run" &&
    mkdir -m 1777 "$TREE/run/lock" &&
    # Nothing mounted later under the tree (by the stack, by apt) may reach the host.
    mount --make-rprivate "$TREE"
}

step_tree() {
  unpack_tree && copy_apt_sources && copy_apt_conf && copy_ca_and_pip &&
    copy_host_identity && mount_tree && echo "tree $TREE ready"
}

# --- running as a fresh root shell in the tree ---------------------------------------------

pick_port() {
  local p
  for p in $(seq 4690 4709); do
    if [ -z "$(ss -Htln "sport = :$p")" ]; then echo "$p"; return 0; fi
  done
  return 1
}

set_chroot_env() {
  CHROOT_ENV=(
    HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb LANG=C.UTF-8
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    SSL_CERT_FILE="$CA_IN_TREE" REQUESTS_CA_BUNDLE="$CA_IN_TREE" PIP_CERT="$CA_IN_TREE"
    PGREALM_API_PORT="$API_PORT" PGREALM_HOST_BLOCK="$FRESH_HOST_BLOCK"
    PGREALM_TEST_HOST_BLOCK="$FRESH_TEST_HOST_BLOCK" PGREALM_TEST_BLOCK="$FRESH_TEST_BLOCK"
  )
}

in_tree() {  # $1: timeout, $2: script for a root login shell in the tree
  timeout --kill-after=60 "$1" \
    chroot "$TREE" /usr/bin/env -i "${CHROOT_ENV[@]}" /bin/bash -lc "$2" </dev/null
}

step_prereqs() {
  in_tree 30m 'set -ex; apt-get update && apt-get install -y git make ca-certificates'
}

stage_bundle() {  # only the chosen commit, as a fresh clone would see it
  local stage rc=0
  stage=$(mktemp -d) || return 1
  git init -q --bare "$stage/src.git" &&
    git -C "$stage/src.git" fetch -q "$REPO" "$SHA:refs/heads/main" &&
    git -C "$stage/src.git" symbolic-ref HEAD refs/heads/main &&
    mkdir -p "$TREE/srv" &&
    git -C "$stage/src.git" bundle create "$TREE/srv/pgrealm.bundle" HEAD main || rc=1
  rm -rf "$stage"
  return "$rc"
}

step_clone() {
  stage_bundle &&
    in_tree 10m "set -ex; cd /root && git clone /srv/pgrealm.bundle pgrealm &&
      test \"\$(git -C pgrealm rev-parse HEAD)\" = $SHA"
}

step_up() { in_tree 60m 'set -ex; cd /root/pgrealm && make up'; }
step_test() { in_tree 180m 'set -ex; cd /root/pgrealm && make test'; }

# The README promises the three printed lines work as printed; psql gets a query and -w
# (never prompt: a login that is not Kerberos must fail, not wait).
write_login_script() {
  local up_log=$1 exp kin psq
  exp=$(grep -m1 -E '^[[:space:]]*export KRB5_CONFIG=' "$up_log" | sed -E 's/^[[:space:]]+//')
  kin=$(grep -m1 -E '^[[:space:]]*kinit -kt ' "$up_log" | sed -E 's/^[[:space:]]+//')
  psq=$(grep -m1 -E '^[[:space:]]*psql "' "$up_log" | sed -E 's/^[[:space:]]+//')
  if [ -z "$exp" ] || [ -z "$kin" ] || [ -z "$psq" ]; then
    echo "make up did not print the three login lines (see $up_log)"
    return 1
  fi
  printf 'set -ex\n%s\n%s\n%s -w -tA -c %s\n' "$exp" "$kin" "$psq" \
    "'select current_user, gss_authenticated from pg_stat_gssapi where pid = pg_backend_pid()'" \
    >"$TREE/root/fresh-login.sh"
  cat "$TREE/root/fresh-login.sh"
}

step_login() {
  local out
  write_login_script "${STEPLOG[make-up]}" || return 1
  out=$(in_tree 5m 'cd /root && bash fresh-login.sh') || {
    echo "$out"
    echo "--- pgrealm client doctor, for the cause:"
    in_tree 5m 'cd /root/pgrealm && export KRB5_CONFIG=/var/lib/pgrealm/demo/krb5.conf &&
      .venv/bin/python -m pgrealm client doctor demo-db --user alice@CORP.EXAMPLE.COM' || true
    return 1
  }
  echo "$out"
  grep -qx 'alice@CORP.EXAMPLE.COM|t' <<<"$out"
}

# --- steps and the summary ------------------------------------------------------------------

# The step runs as a background job: `wait` returns at once on SIGTERM/SIGINT (a foreground
# child would delay the trap until it ended), and on_exit stops the job.
run_step() {  # $1: step name, $2: function; its output goes to the step's log
  local name=$1 fn=$2 t0=$SECONDS log rc=0
  log=$(printf '%s/%02d-%s.log' "$LOGS" "${#STEPLOG[@]}" "$name")
  STEPLOG[$name]=$log
  say "$name ... (log: $log)"
  STEP_NAME=$name STEP_T0=$t0
  "$fn" >"$log" 2>&1 9>&- &  # the lock stays with this script, not with what it starts
  STEP_PID=$!
  wait "$STEP_PID" || rc=$?
  STEP_PID=""
  if [ "$rc" = 0 ]; then STATUS[$name]=PASS; else STATUS[$name]=FAIL; FAILED=1; fi
  SECS[$name]=$((SECONDS - t0))
  say "$name: ${STATUS[$name]} in ${SECS[$name]}s"
  if [ "${STATUS[$name]}" = FAIL ]; then tail -n 30 "$log" | sed 's/^/    | /'; return 1; fi
}

summary() {
  local s
  echo
  echo "fresh-check of $SHA ($REF), API port ${API_PORT:-?}, logs in $LOGS"
  for s in "${STEPS[@]}"; do
    printf '  %-12s %-4s %7s  %s\n' "$s" "${STATUS[$s]:-SKIP}" "${SECS[$s]:+${SECS[$s]}s}" "${STEPLOG[$s]:-}"
  done
  if [ "$KEEP" = 1 ] && [ -d "$TREE" ]; then echo "tree kept (unmounted): $TREE; rm -rf it when done"; fi
}

main_steps() {
  run_step cache step_cache
  run_step tree step_tree
  run_step apt-prereqs step_prereqs
  run_step clone step_clone
  # make test brings up its own stacks, so it runs (and tells) even when make up failed.
  if run_step make-up step_up; then run_step login step_login || true; fi
  run_step make-test step_test || true
}

# --- cleanup: always, also after a failure or an interrupt ---------------------------------

procs_in() {  # PIDs whose root is $1 (chrooted there, also from another mount namespace)
  local dir=$1 id p r
  id=$(stat -c %d:%i "$dir") || return 0
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    if [ "$r" = "$dir" ] || [ "${r#"$dir"/}" != "$r" ] ||
      [ "$(stat -L -c %d:%i "$p/root" 2>/dev/null)" = "$id" ]; then
      echo "${p#/proc/}"
    fi
  done
}

stop_procs_in() {
  local dir=$1 pids _
  mapfile -t pids < <(procs_in "$dir")
  [ ${#pids[@]} -gt 0 ] || return 0
  echo "stopping ${#pids[@]} processes left in $dir: $(ps -o pid=,comm= -p "${pids[*]}" | tr -s ' \n' ' ')"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 20); do
    sleep 0.5
    mapfile -t pids < <(procs_in "$dir")
    [ ${#pids[@]} -gt 0 ] || return 0
  done
  echo "SIGKILL to ${pids[*]} (after 10s)"
  kill -KILL "${pids[@]}" 2>/dev/null || true
  sleep 1
  mapfile -t pids < <(procs_in "$dir")
  [ ${#pids[@]} -eq 0 ] || { echo "still running in $dir: ${pids[*]}"; return 1; }
}

mounts_under() { findmnt -rn -o TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1' | sort -r; }

unmount_all() {
  local dir=$1 m
  [ -n "$(mounts_under "$dir")" ] || return 0
  umount -R "$dir" 2>/dev/null || true
  while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done < <(mounts_under "$dir")
  [ -z "$(mounts_under "$dir")" ] || { echo "still mounted:"; mounts_under "$dir"; return 1; }
}

stop_stack() {  # the README's own way first; the process sweep catches what it leaves
  [ -x "$TREE/root/pgrealm/.venv/bin/python" ] && [ -d "$TREE/proc/self" ] || return 0
  in_tree 10m 'cd /root/pgrealm && make down' || echo "make down failed (ignored)"
}

# The tree goes away: keep the logs of the stack and of the test homes a failure kept
# (server, Samba, PostgreSQL) beside the step logs.
save_artifacts() {
  local f dest
  while IFS= read -r -d '' f; do
    dest=$LOGS/artifacts${f#"$TREE"}
    mkdir -p "$(dirname "$dest")" && cp "$f" "$dest"
  done < <(find "$TREE/var/lib/pgrealm" "$TREE"/tmp/pgrealm-test-* -type f -size -20M \
    \( -name '*.log' -o -path '*/log/*' \) -print0 2>/dev/null)
}

host_net() { { ip -o link show | awk -F': ' '{print "link " $2}'; ip netns list 2>/dev/null | sed 's/^/netns /'; } | sort; }

check_host_net() {
  # A stopped stack leaves none of its interfaces or namespaces, only the blackhole route
  # of its block (so nothing sent there leaves the machine): the check removes the tree
  # stack's. Anything new belongs to someone else on this host: reported, never deleted.
  ip route del blackhole "$FRESH_HOST_BLOCK" 2>/dev/null || true
  local new
  new=$(comm -13 <(echo "$NET_BEFORE") <(host_net) | tr '\n' ' ')
  if [ -n "$new" ]; then echo "WARNING: appeared on the host during the run: $new"; fi
}

remove_tree() {
  [ -n "$(mounts_under "$TREE")" ] && { echo "not removing $TREE: still mounted"; return 1; }
  if [ "$KEEP" = 1 ]; then
    touch "$TREE/.pgrealm-fresh-keep" && echo "kept $TREE"
  else
    rm -rf --one-file-system "$TREE"
  fi
}

step_cleanup() {
  local rc=0
  if [ -n "$TREE" ] && [ -d "$TREE" ]; then
    stop_stack
    save_artifacts
    stop_procs_in "$TREE" || rc=1
    unmount_all "$TREE" || rc=1
    remove_tree || rc=1
  fi
  discard_build || rc=1
  check_host_net
  return "$rc"
}

# Runs killed outright (SIGKILL, a reboot) leave trees behind; we hold the lock, so none of
# the trees is in use.
reap_stale() {
  local d
  for d in "$TREE_PREFIX".* "$TREE_PREFIX"-build.*; do
    [ -d "$d" ] || continue
    say "cleaning up $d from an earlier run"
    if ! { stop_procs_in "$d" && unmount_all "$d"; }; then die "cannot clean up $d"; fi
    [ -e "$d/.pgrealm-fresh-keep" ] || rm -rf --one-file-system "$d"
  done
}

kill_job() {  # $1 and its descendants, children first (the step's host-side processes)
  local child
  for child in $(ps -o pid= --ppid "$1"); do kill_job "$child"; done
  kill -TERM "$1" 2>/dev/null || true
}

on_exit() {
  local rc=$?
  trap '' INT TERM
  set +e
  if [ -n "$STEP_PID" ]; then
    say "interrupted: stopping $STEP_NAME"
    kill_job "$STEP_PID"
    wait "$STEP_PID" 2>/dev/null
    STATUS[$STEP_NAME]=INTR SECS[$STEP_NAME]=$((SECONDS - STEP_T0))
  fi
  run_step cleanup step_cleanup
  summary
  [ "$rc" != 0 ] || rc=$FAILED
  exit "$rc"
}

main() {
  parse_args "$@"
  preflight
  reap_stale
  LOGS=$LOG_ROOT/$(date +%Y%m%d-%H%M%S)
  mkdir -p "$LOGS"
  API_PORT=$(pick_port) || die "no free port in 4690-4709"
  set_chroot_env
  NET_BEFORE=$(host_net)
  git -C "$REPO" diff --quiet HEAD 2>/dev/null || say "note: uncommitted changes in $REPO are not tested"
  say "checking $SHA; logs in $LOGS"
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  # Made here, not in the (background) steps, so that the cleanup knows them.
  TREE=$(mktemp -d "$TREE_PREFIX.XXXXXX")
  if [ ! -f "$CACHE_TAR" ] || [ "$REBUILD" = 1 ]; then BUILD=$(mktemp -d "$TREE_PREFIX-build.XXXXXX"); fi
  main_steps
  # Exit here: bash reads a script as it runs, so it must never read past `main` in a file
  # that was edited during the run.
  exit "$FAILED"
}

main "$@"
