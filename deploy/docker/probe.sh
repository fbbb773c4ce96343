#!/bin/bash
# Kubernetes exec probe for toolgate's admin endpoint. The admin port listens on 127.0.0.1 only, and kubelet's
# httpGet probes connect to the pod IP, so they cannot reach it; this runs inside the container instead.
#
#   probe PATH [PORT [FILE...]]     e.g. probe /readyz 15020
#                                        probe /healthz 15020 /var/run/toolgate/svid/svid.pem
#
# Exit 0 when GET http://127.0.0.1:PORT/PATH answers 200, 1 otherwise (the reason goes to stderr, which kubelet
# shows in the pod's events). The probe's timeoutSeconds bounds it.
#
# FILEs: also exit 1 when one of them changed after the sidecar (PID $TOOLGATE_PROBE_PID, default 1) started
# (symbolic links are followed: Secret mounts swap them). The sidecar reads its SVID files once at start (hot
# rotation comes with the identity issue), so as a liveness probe this restarts it onto the certificate that
# spiffe-helper renewed, long before the old one expires.
set -u
path="${1:?usage: probe PATH [PORT [FILE...]]}"
port="${2:-15020}"
shift $(( $# < 2 ? $# : 2 ))

if [ $# -gt 0 ]; then
  pid="${TOOLGATE_PROBE_PID:-1}"
  # Field 22 of /proc/PID/stat: start time in clock ticks after boot (the command name, field 2, is in
  # parentheses and may hold spaces: cut after the last ')').
  stat_line="$(cat "/proc/$pid/stat" 2>/dev/null)" || { echo "probe: no process $pid" >&2; exit 1; }
  read -r -a fields <<< "${stat_line##*) }"
  boot="$(awk '/^btime /{print $2}' /proc/stat)"
  started=$(( boot + fields[19] / $(getconf CLK_TCK) ))
  for f in "$@"; do
    changed="$(stat -L -c %Y "$f" 2>/dev/null)" || { echo "probe: $f is missing" >&2; exit 1; }
    # One second of slack: the start time is rounded down to a whole second.
    if [ "$changed" -gt $(( started + 1 )) ]; then
      echo "probe: $f changed after the sidecar started; restart to load it" >&2
      exit 1
    fi
  done
fi

{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || { echo "probe: nothing listens on 127.0.0.1:$port" >&2; exit 1; }
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$path" "$port" >&3
IFS= read -r status <&3 || { echo "probe: no answer from 127.0.0.1:$port$path" >&2; exit 1; }
status="${status%$'\r'}"
case "$status" in
  "HTTP/1."[01]" 200"*) exit 0 ;;
  *) echo "probe: 127.0.0.1:$port$path answered: $status" >&2; exit 1 ;;
esac
