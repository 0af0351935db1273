#!/usr/bin/env bash
# examples/c/ipvsctl/demo.sh IPVSCTL: `make demo-ipvsctl` (in the kernel lab). Builds a small
# table with ipvsctl, then shows `ipvsctl -Ln` beside `ipvsadm -Ln` and their diff.
set -euo pipefail
IPVSCTL=${1:?usage: demo.sh path/to/ipvsctl}
"$IPVSCTL" -C
"$IPVSCTL" -A -t 10.0.0.1:80 -s wrr
"$IPVSCTL" -a -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 3
"$IPVSCTL" -a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 1
"$IPVSCTL" -A -u [2001:db8::1]:53 -s sh -b sh-port -p 60 -M 64
"$IPVSCTL" -a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -g
"$IPVSCTL" -A -f 7 -s mh -b mh-fallback
"$IPVSCTL" -a -f 7 -r 192.168.1.3 -i --tun-type gue --tun-port 6080 --tun-csum
"$IPVSCTL" -Ln >/tmp/ipvsctl.out
ipvsadm -Ln >/tmp/ipvsadm.out
echo "== ipvsctl -Ln | ipvsadm -Ln"
paste -d'|' /tmp/ipvsctl.out /tmp/ipvsadm.out | awk -F'|' '{printf "%-70s | %s\n", $1, $2}'
if diff -u /tmp/ipvsadm.out /tmp/ipvsctl.out; then echo "== identical"; else echo "== differ"; exit 1; fi
"$IPVSCTL" -C
