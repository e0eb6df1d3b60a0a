#!/bin/sh
# What `docker run` does to the entrypoint, without Docker: a new PID
# namespace with its own /proc, pidkit run as PID 1. Needs root.
#
#   sh examples/container/try.sh        (from the repository root)
#
# Then `curl localhost:8000` a few times (each request leaves an orphan),
# `pidkit status app --dir /tmp/pidkit-container` from another terminal, and
# Ctrl-C here: the tree is stopped and the exit status is 130.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
exec unshare --pid --fork --mount-proc \
  deno run -A "$root/cli.ts" run app --dir /tmp/pidkit-container -- \
  deno run -A "$root/examples/container/app.ts"
