#!/bin/sh
# Entry point of the toolgate image: the JVM with the image's container flags, then toolgate's CLI, e.g.
#   run --config /etc/toolgate/config/toolgate.yaml
#
# TOOLGATE_JAVA_OPTS    JVM flags (the image sets container-friendly defaults; replace them whole to change one)
# TOOLGATE_JAR          the shaded jar (default: /opt/toolgate/toolgate.jar)
# TOOLGATE_WAIT_FOR     files that must exist and be non-empty before the sidecar starts, space-separated (e.g. the
#                       SVID files spiffe-helper writes: the sidecar reads them once at start)
# TOOLGATE_WAIT_SECONDS how long to wait for them (default: 60); then exit 1 and let Kubernetes restart the container
set -eu

if [ -n "${TOOLGATE_WAIT_FOR:-}" ]; then
  limit="${TOOLGATE_WAIT_SECONDS:-60}"
  deadline=$(( $(date +%s) + limit ))
  for f in $TOOLGATE_WAIT_FOR; do
    until [ -s "$f" ]; do
      if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "toolgate: $f is missing or empty after ${limit}s (expected: written by the identity helper)" >&2
        exit 1
      fi
      sleep 0.2
    done
  done
fi

# Word splitting of the JVM flags is intended.
# shellcheck disable=SC2086
exec java ${TOOLGATE_JAVA_OPTS:-} -jar "${TOOLGATE_JAR:-/opt/toolgate/toolgate.jar}" "$@"
