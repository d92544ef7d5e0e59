#!/bin/sh
# The README's peer table: hardencheck through the peer benchmark kit (../shared/bench, its README)
# on the same 25 checks as a raw OpenSSH fan-out, paramiko, pytest-testinfra and ansible-core, in
# one run on one machine. As root:
#
#     sh bench/peer_bench.sh /path/to/shared/bench        # about 35 minutes on 2 cores
#
# 1. real profile, 1/10/30 hosts: baseline_ssh, paramiko_single, testinfra_serial, ansible_shell
# 2. real profile, 60 hosts: the same without ansible_shell (4 to 5 minutes a run)
# 3. null profile (every command `echo ok`: the tools' own overhead), 10 and 60 hosts
# 4. 10 hosts behind the kit's delaying TCP proxy (10 ms each way, 20 ms round trip)
# Then report.py prints the tables of each part. Results: $HC_LAB/results/peer-*.jsonl.
set -eu
kit=$(cd "${1:?usage: peer_bench.sh KIT_DIR [RUNS]}" && pwd)
runs=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
export HC_LAB=${HC_LAB:-${TMPDIR:-/tmp}/hc-bench-lab}
hc="hardencheck=sh $here/peer_hardencheck.sh {ssh_config} {known_hosts} {checks} {work} {results}"
# byte-compiled modules, as a pip install leaves them (the timed runs then only read them)
"${HC_PYTHON:-$here/../.venv/bin/python}" -m compileall -q "$here/../hardencheck" >/dev/null
cd "$kit"
[ -x "$HC_LAB/venv/bin/python" ] || ./setup.sh
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$HC_LAB/results/peer-$stamp
mkdir -p "$HC_LAB/results"
python3 run_bench.py --sizes 1,10,30 --runs "$runs" --out "$out-real.jsonl" \
  --peers baseline_ssh,paramiko_single,testinfra_serial,ansible_shell --extra "$hc"
python3 run_bench.py --sizes 60 --runs "$runs" --out "$out-real60.jsonl" \
  --peers baseline_ssh,paramiko_single,testinfra_serial --extra "$hc"
python3 run_bench.py --profile null --sizes 10,60 --runs "$runs" --out "$out-null.jsonl" \
  --peers baseline_ssh,paramiko_single --extra "$hc"
./lab.sh up 10 >/dev/null
rtt=$HC_LAB-rtt
rm -rf "$rtt"
python3 delay_proxy.py --hosts 10 --write-lab "$rtt" --from-lab "$HC_LAB" >/dev/null
python3 delay_proxy.py --hosts 10 --delay-ms 10 --lifetime 3600 --pidfile "$rtt/proxy.pid" &
sleep 1
HC_LAB=$rtt python3 run_bench.py --reuse-lab --sizes 10 --runs "$runs" --out "$out-rtt20.jsonl" \
  --peers baseline_ssh,paramiko_single,testinfra_serial --extra "$hc"
kill "$(cat "$rtt/proxy.pid")" 2>/dev/null || true
./lab.sh down >/dev/null
for part in real real60 null rtt20; do
  echo; echo "## $part"; python3 report.py "$out-$part.jsonl"
done
