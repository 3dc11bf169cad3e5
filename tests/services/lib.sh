# shellcheck shell=bash disable=SC2034  # the constants below are used by the scripts that source this
# Shared helpers for tests/services/{up,down,status}. Sourced, not run.
#
# Layout:
#   tests/services/.cache/   downloads and installs (kafka jars, node_modules, runtime rootfs), kept across runs
#   tests/services/.run/<s>/ per-service state: pid file, log, data dirs (thrown away on each fresh start)

SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="$SERVICES_DIR/.cache"
RUN_DIR="$SERVICES_DIR/.run"
ALL_SERVICES=(kafka etcd couchdb docker)

KAFKA_HOST=127.0.0.1 KAFKA_PORT=9092 KAFKA_CONTROLLER_PORT=9093
ETCD_HOST=127.0.0.1 ETCD_PORT=2379 ETCD_PEER_PORT=2380
COUCHDB_HOST=127.0.0.1 COUCHDB_PORT=5984
COUCHDB_USER=whisk_admin COUCHDB_PASSWORD=some_passw0rd

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

now() { date +%s.%N; }
# elapsed START -> "12.3s"
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1fs", e - s }'; }

# check_services NAME... : reject unknown service names
check_services() {
  local s known
  for s in "$@"; do
    known=0
    for k in "${ALL_SERVICES[@]}"; do [[ $s == "$k" ]] && known=1; done
    ((known)) || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
  done
}

# port_open HOST PORT : true if something accepts TCP connections there
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

pidfile() { echo "$RUN_DIR/$1/pid"; }

# alive PID : the process exists and is not a zombie (our services are reparented to PID 1 when the
# shell that started them exits, and it may reap them late)
alive() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [[ ${stat%% *} != Z ]]
}

# svc_pid NAME : print the pid from NAME's pid file if that process is still alive
svc_pid() {
  local f pid
  f="$(pidfile "$1")"
  [[ -f $f ]] || return 1
  pid="$(cat "$f")"
  [[ -n $pid ]] && alive "$pid" || return 1
  echo "$pid"
}

# spawn NAME LOGFILE CMD... : start CMD detached in its own session (pgid = pid), record its pid
spawn() {
  local name="$1" logfile="$2"
  shift 2
  mkdir -p "$RUN_DIR/$name"
  # setsid: the service survives the shell that started it, and `down` can signal its whole group.
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$(pidfile "$name")"
}

# stop_pid NAME : SIGTERM the process group from NAME's pid file, SIGKILL after a grace period
stop_pid() {
  local name="$1" pid i
  if ! pid="$(svc_pid "$name")"; then
    rm -f "$(pidfile "$name")"
    return 1
  fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "$name: did not stop within 15s, sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$(pidfile "$name")"
}

# wait_until NAME LOGFILE TIMEOUT_S CMD... : poll CMD every 0.25s; on timeout name the service and its log
wait_until() {
  local name="$1" logfile="$2" timeout="$3" deadline pid
  shift 3
  deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if pid="$(cat "$(pidfile "$name")" 2>/dev/null)" && [[ -n $pid ]] && ! alive "$pid"; then
      tail -n 30 "$logfile" >&2 || true
      die "$name exited during startup; see its log: $logfile"
    fi
    if (($(date +%s) >= deadline)); then
      tail -n 30 "$logfile" >&2 || true
      die "$name not ready after ${timeout}s; see its log: $logfile"
    fi
    sleep 0.25
  done
}

# apt_install PKG... : install the Debian packages that are missing, without letting their maintainer
# scripts start daemons (etcd-server, docker.io and containerd ship services that would grab our ports).
apt_install() {
  local p missing=() created_policy=0
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "apt: installing ${missing[*]}"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# added by tests/services: no service starts during package installs\nexit 101\n' \
      >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local rc=0 aptlog="$RUN_DIR/apt.log"
  mkdir -p "$RUN_DIR"
  # the package lists may be missing or stale on a fresh machine: update once and retry
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; }; } \
    >>"$aptlog" 2>&1 || rc=$?
  ((created_policy)) && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || { tail -n 20 "$aptlog" >&2; die "apt-get install ${missing[*]} failed; see $aptlog"; }
}

# need_cmd CMD PKG : install Debian package PKG if CMD is not on PATH
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_install "$2"; }

# file_hash FILE... : short content hash, used as cache keys
file_hash() { cat "$@" | sha256sum | cut -c1-16; }
