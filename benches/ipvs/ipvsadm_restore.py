#!/usr/bin/env python3
"""`ipvsadm -R` of one generated file (SERVICES services, DESTS_PER destinations each) through
each given ipvsadm binary, each in its own network namespace, in this one boot of the kernel
lab: wall time of the restore into an empty table, then of the same restore onto the full
table (every line refused: the error path), and the outcome compared: `ipvsadm -S -n` of every
namespace equal, and stdout/stderr/exit status of each restore equal. Prints RESULT lines for
the make target (mk/libipvs.mk) that writes benches/results/ipvs.md.

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
    ok = True
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
        sums = []
        for s in sides:
            _, (rc, out, err) = s.run(["-S", "-n"])
            sums.append((s.name, hashlib.sha256(out).hexdigest()[:16], out.count(b"\n")))
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
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
