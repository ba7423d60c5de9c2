#!/usr/bin/env bash
# The README's main job: install what is missing, build, run the demo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/deps.sh"
bash "$root/scripts/build.sh" "$root/build" >/dev/null
exec "$root/build/cli/hookline" demo
