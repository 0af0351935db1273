#!/usr/bin/env python3
"""`ipvsadm -R` of one generated file (SERVICES services, DESTS_PER destinations each) through
each given ipvsadm binary, each in its own network namespace, in this one boot of the kernel
lab: wall time of the restore into an empty table, then of the same restore onto the full
table (every line refused: the error path), and the outcome compared: `ipvsadm -S -n` of every
namespace equal, and stdout/stderr/exit status of each restore equal. The restore into the
empty table must succeed whole (exit 0, no stderr) and every namespace's table must then hold
exactly SERVICES services and SERVICES x DESTS_PER destinations: a half-built table fails the
bench instead of being reported. Prints RESULT lines for the make target (mk/libipvs.mk) that
writes benches/results/ipvs.md.

Each namespace gets `lo` up: the kernel refuses an IPv4 destination (EINVAL, "address not
unicast") when inet_addr_type() cannot classify it as RTN_UNICAST/RTN_LOCAL
(ip_vs_new_dest), and in a fresh namespace, with no address on `lo`, there is no local
routing table yet, so every IPv4 address is classed RTN_BROADCAST. IPv6 destinations are not
affected (ipv6_addr_type() is table-free).

usage (root, in the lab): ipvsadm_restore.py NAME=BINARY... [--services 10000] [--dests-per 5]
"""
import argparse
import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def restore_file(services, per):
    lines = []
    for i in range(services):
        vip = f"10.{(i >> 8) & 255}.{i & 255}.1" if i % 2 == 0 else None
        svc = f"-t {vip}:80" if vip else f"-t [2001:db8::{i:x}]:443"
        lines.append(f"-A {svc} -s wrr")
        for j in range(per):
            rip = f"192.168.{j}.{(i % 250) + 1}:{8000 + i // 250}" if vip else \
                f"[2001:db8:1:{j}::{i:x}]:8080"
            lines.append(f"-a {svc} -r {rip} -m -w {1 + (i + j) % 100}")
    return "\n".join(lines) + "\n"


class Side:
    def __init__(self, name, binary):
        self.name = name
        dest = f"/tmp/lbnet-ipvsadm-bench/{name}"
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(f"{dest}/bin")
        shutil.copy2(binary, f"{dest}/bin/ipvsadm")
        # Only our library from the binary's $ORIGIN/../lib: for /usr/sbin/ipvsadm that
        # directory is /usr/lib, whose copy over the lab's 9p does not finish.
        lib = os.path.join(os.path.dirname(os.path.abspath(binary)), "..", "lib")
        ours = sorted(f for f in os.listdir(lib) if f.startswith("libipvs_ffi.so")) \
            if os.path.isdir(lib) else []
        if ours:
            os.makedirs(f"{dest}/lib")
            for f in ours:
                shutil.copy2(os.path.join(lib, f), f"{dest}/lib/{f}", follow_symlinks=False)
        self.binary = f"{dest}/bin/ipvsadm"
        self.ns = f"lbnet-bench-{name}"
        subprocess.run(["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        self.fd = os.open(f"/run/netns/{self.ns}", os.O_RDONLY)

    def run(self, args, stdin=None):
        if libc.setns(self.fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        t = time.monotonic()
        p = subprocess.run(["ipvsadm"] + args, executable=self.binary, input=stdin,
                           capture_output=True, env={"LC_ALL": "C"})
        return time.monotonic() - t, (p.returncode, p.stdout, p.stderr)

    def close(self):
        os.close(self.fd)
        subprocess.run(["ip", "netns", "del", self.ns])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sides", nargs="+")
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--dests-per", type=int, default=5)
    a = ap.parse_args()
    data = restore_file(a.services, a.dests_per).encode()
    nlines = data.count(b"\n")
    sides = [Side(*s.split("=", 1)) for s in a.sides]
    print(f"RESULT file services={a.services} dests={a.services * a.dests_per} lines={nlines}",
          flush=True)
    ok = True  # every side's outcome the same
    complete = True  # the file restored whole into the empty table, refused whole onto the full one
    outs = {}
    try:
        for phase in ("empty", "full"):
            for s in sides:
                secs, res = s.run(["-R"], data)
                rc, out, err = res
                nerr = err.count(b"\n")
                outs.setdefault(phase, []).append((s.name, res))
                print(f"RESULT restore side={s.name} phase={phase} seconds={secs:.2f} "
                      f"exit={rc} stderr_lines={nerr} per_line_us={secs / nlines * 1e6:.0f}",
                      flush=True)
            first = outs[phase][0]
            for name, res in outs[phase][1:]:
                if res != first[1]:
                    ok = False
                    print(f"DIFFER: -R ({phase} table) of {name} and {first[0]}: exit "
                          f"{res[0]} vs {first[1][0]}, stderr {res[2][:300]!r} vs "
                          f"{first[1][2][:300]!r}", file=sys.stderr)
        # The restore into the empty table must have built all of it, and the one onto the
        # full table must have refused every line.
        for phase, want_rc, want_err in (("empty", 0, 0), ("full", None, nlines)):
            for name, (rc, _, err) in outs[phase]:
                nerr = err.count(b"\n")
                if (want_rc is not None and rc != want_rc) or nerr != want_err:
                    complete = False
                    print(f"INCOMPLETE: -R ({phase} table) of {name}: exit {rc}, "
                          f"{nerr} stderr lines (want {want_err}); first: "
                          f"{err[:300]!r}", file=sys.stderr)
        sums = []
        want = (a.services, a.services * a.dests_per)
        for s in sides:
            _, (rc, out, err) = s.run(["-S", "-n"])
            lines = out.split(b"\n")
            got = (sum(l.startswith(b"-A ") for l in lines), sum(l.startswith(b"-a ") for l in lines))
            sums.append((s.name, hashlib.sha256(out).hexdigest()[:16], out.count(b"\n")))
            print(f"RESULT table side={s.name} services={got[0]} dests={got[1]}", flush=True)
            if rc != 0 or got != want:
                complete = False
                print(f"INCOMPLETE: the table of {s.name} holds {got[0]} services and {got[1]} "
                      f"destinations (ipvsadm -S -n exit {rc}), the file {want[0]} and "
                      f"{want[1]}", file=sys.stderr)
        print("RESULT tables " + " ".join(f"{n}={h}/{c}lines" for n, h, c in sums), flush=True)
        if len({h for _, h, _ in sums}) != 1:
            ok = False
            print("DIFFER: ipvsadm -S -n of the namespaces differ", file=sys.stderr)
        for s in sides:
            s.run(["-C"])
    finally:
        for s in sides:
            s.close()
    print(f"RESULT outcome {'same' if ok else 'DIFFERENT'}")
    print(f"RESULT complete {'yes' if complete else 'NO'}")
    return 0 if ok and complete else 1


if __name__ == "__main__":
    sys.exit(main())
