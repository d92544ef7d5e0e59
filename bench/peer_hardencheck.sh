#!/bin/sh
# hardencheck as an --extra peer of the peer benchmark kit (../shared/bench, README there):
#   --extra 'hardencheck=sh /path/to/bench/peer_hardencheck.sh {ssh_config} {known_hosts} {checks} {work} {results}'
# The kit's lab writes ansible-inventory.yml (host names) beside its ssh_config. With the real
# checks, the controls are bench/peer-checks/ (generic resources); with the null profile (every
# command `echo ok`) they are generated from the kit's checks as resource.command controls.
set -eu
ssh_config=$1 known_hosts=$2 checks=$3 work=$4 results=$5
here=$(cd "$(dirname "$0")" && pwd)
py=${HC_PYTHON:-$here/../.venv/bin/python}
lab=$(dirname "$ssh_config")
# as after a pip install, hardencheck runs from byte-compiled modules (the first run writes them)
unset PYTHONDONTWRITEBYTECODE
controls=$here/peer-checks
# the null profile's checks file: every check is `cmd: echo ok` (the real one has `cmd: |-` blocks)
if ! grep -E '^\s+cmd:' "$checks" | grep -qvE '^\s+cmd: echo ok$'; then
  controls=$work/controls
  "$py" "$here/peer_checks.py" write "$checks" "$controls" --commands-only
fi
inventory=$lab/ansible-inventory.yml
[ -f "$inventory" ] || inventory=$lab/hc-inventory.yml     # a delay_proxy.py --write-lab dir
"$py" -m hardencheck scan -i "$inventory" --ssh-config "$ssh_config" --known-hosts "$known_hosts" \
  --library "$controls" --tom "$controls/tom/bench.yml" --out "$work/out" --no-history --format json \
  --forks "${HC_FORKS:-64}" --quiet >"$work/hardencheck.log" 2>&1 || [ $? -le 2 ]
"$py" "$here/peer_checks.py" verdicts "$work"/out/*/results.json "$results"
