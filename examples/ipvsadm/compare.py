#!/usr/bin/env python3
"""Random ipvsadm command sequences through two (or three) ipvsadm binaries, each in its own
network namespace (IPVS state is per namespace):

* stock: Debian's /usr/sbin/ipvsadm (Debian's build of 1.31, libipvs over libnl);
* ref (optional, --ref): upstream ipvsadm 1.31 built from the same source with its own libipvs
  over libnl;
* ours: the same upstream objects relinked against libipvs_ffi.so.

Every step runs the same command line in each; exit status, stdout and stderr of ours must
equal stock's, and every CHECK_EVERY steps (and at the end of each seed) `ipvsadm -S -n` of
the namespaces must be equal. With --ref, a step where ours equals ref but not stock is a difference
between Debian's ipvsadm program and upstream's (Debian's patches to ipvsadm.c; the library
plays no part since ours and ref share every object but libipvs): it is counted and shown, not
failed. Everything else that differs fails. All run as argv[0] "ipvsadm" with LC_ALL=C, from
copies in /tmp. Prints the figures; exits 1 on any disagreement of ours.

usage (as root, where IPVS exists: the kernel lab):
    compare.py STOCK OURS [--ref REF] [--seeds 1,2,3,4] [--steps 500]
(OURS may have its library in ../lib, copied with it.)
"""
import argparse
import ctypes
import os
import random
import shutil
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
CHECK_EVERY = 10
DEST_HIT = 0.75  # share of -e/-d that name a destination -a created (the rest: random, mostly misses)
SCHEDULERS = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf",
              "mh", "twos", "bogus"]
libc = ctypes.CDLL(None, use_errno=True)


STAGE = "/tmp/lbnet-ipvsadm"


def listing_blocks(out):
    """A listing as a sorted list of blocks: each line that does not start with a space opens a
    block, and the indented lines after it (a service's destinations) belong to it."""
    blocks = []
    for line in out.split(b"\n"):
        if blocks and line.startswith(b" "):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return sorted(blocks)


def stage(name, binary):
    """Copies the binary (and the libipvs_ffi.so* its $ORIGIN/../lib rpath finds, if any) to the
    guest's tmpfs. Only those files: for a system binary (/usr/sbin/ipvsadm) ../lib is /usr/lib,
    whose copy over the lab's 9p took longer than any run."""
    dest = os.path.join(STAGE, name)
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(os.path.join(dest, "bin"))
    shutil.copy2(binary, os.path.join(dest, "bin", "ipvsadm"))
    lib = os.path.join(os.path.dirname(os.path.abspath(binary)), "..", "lib")
    ours = sorted(f for f in os.listdir(lib) if f.startswith("libipvs_ffi.so")) \
        if os.path.isdir(lib) else []
    if ours:
        os.makedirs(os.path.join(dest, "lib"))
        for f in ours:
            shutil.copy2(os.path.join(lib, f), os.path.join(dest, "lib", f), follow_symlinks=False)
    return os.path.join(dest, "bin", "ipvsadm")


class Side:
    """One ipvsadm binary in one network namespace."""

    def __init__(self, name, binary):
        self.name = name
        self.binary = stage(name, binary)
        self.ns = f"lbnet-ipvsadm-{name}"
        subprocess.run(["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        for cmd in (["link", "set", "lo", "up"], ["link", "add", "dum0", "type", "dummy"],
                    ["link", "set", "dum0", "up"]):
            subprocess.run(["ip", "-n", self.ns] + cmd, check=True)
        self.fd = os.open(f"/run/netns/{self.ns}", os.O_RDONLY)

    def run(self, args, stdin=None):
        # This (single-threaded) process moves into the side's namespace and spawns ipvsadm
        # there with vfork (no preexec_fn): much cheaper than a fork per command under TCG.
        if libc.setns(self.fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {self.ns}")
        p = subprocess.run(["ipvsadm"] + args, executable=self.binary, input=stdin,
                           capture_output=True,
                           env={"LC_ALL": "C", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                           timeout=120)
        return p.returncode, p.stdout, p.stderr

    def close(self):
        os.close(self.fd)
        subprocess.run(["ip", "netns", "del", self.ns])


class Gen:
    """Random ipvsadm command lines over a small pool of services and destinations, so that
    commands hit existing and missing objects alike."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.known = []  # services that -A created (picked often, so that most commands apply)
        # Destinations that -a created, as (service, ["-r", addr]) exactly as the -a spelt them:
        # -e and -d pick one of these most of the time (DEST_HIT), so that edits and deletes
        # run their success paths too, not only "No such destination".
        self.dests = []
        self.last = None  # (service, dest) of the command just generated, for added()

    def added(self, cmd):
        """Called with each command that succeeded (what -R restores is what the table held)."""
        if not cmd:
            return
        svc, dest = self.last or (None, None)
        if cmd[0] == "-A":
            s = cmd[1:3] + (["-6"] if "-6" in cmd else [])
            if s not in self.known:
                self.known.append(s)
        elif cmd[0] == "-a" and svc is not None and (svc, dest) not in self.dests:
            self.dests.append((svc, dest))
        elif cmd[0] == "-d" and svc is not None:
            self.dests = [d for d in self.dests if d != (svc, dest)]
        elif cmd[0] == "-D" and svc is not None:
            self.dests = [d for d in self.dests if d[0] != svc]
        elif cmd[0] == "-C":
            self.dests = []

    def existing_dest(self):
        """(service, dest) for -e/-d: one that -a created, DEST_HIT of the time when there is
        one (it may have gone since by a path not tracked, e.g. -D spelt differently: a miss),
        else a random service and destination (mostly misses)."""
        if self.dests and self.maybe(DEST_HIT):
            svc, dest = self.r.choice(self.dests)
            return list(svc), list(dest)
        s = self.svc()
        return s, self.dest(s)

    def pick(self, *xs):
        return self.r.choice(xs)

    def maybe(self, p=0.5):
        return self.r.random() < p

    def svc(self):
        r = self.r
        if self.known and self.maybe(0.6):
            return list(r.choice(self.known))
        k = r.randrange(100)
        port = self.pick("80", "443")
        if k < 30:
            return [self.pick("-t", "-u", "--sctp-service"), f"10.0.0.{r.randint(1, 3)}:{port}"]
        if k < 55:
            return [self.pick("-t", "-u", "--sctp-service"), f"[2001:db8::{r.randint(1, 3)}]:{port}"]
        if k < 75:
            return ["-f", str(r.randint(1, 3))]
        if k < 92:
            return ["-f", str(r.randint(1, 3)), "-6"]
        return self.pick(["-t", "10.0.0.1"], ["-t", "999.0.0.1:80"], ["-f", "0"],
                         ["-t", "[2001:db8::1]"], ["-u", "10.0.0.2:http"], ["-f", "x"])

    def svc_opts(self, svc):
        r, a = self.r, []
        v6 = "-6" in svc or any("[" in s for s in svc)
        if self.maybe(0.8):
            a += ["-s", self.pick(*SCHEDULERS)]
        if self.maybe(0.3):
            t = self.pick(None, "1", "360", "2678400", "2678401", "0")
            a += ["-p"] if t is None else ["-p", t]
            if self.maybe(0.4):
                a += ["-M", self.pick("64", "128", "129", "0") if v6 else
                      self.pick("255.255.255.0", "255.255.0.0", "255.255.255.255", "1.2.3.4")]
            if self.maybe(0.15):
                a += ["--pe", self.pick("sip", "bogus")]
        if self.maybe(0.1):
            a += ["-o"]
        if self.maybe(0.2):
            a += ["-b", self.pick("sh-fallback", "sh-port", "sh-fallback,sh-port", "mh-fallback",
                                  "mh-port", "flag-1", "flag-2", "flag-3", "bogus")]
        return a

    def dest(self, svc):
        r = self.r
        v6 = "-6" in svc or any("[" in s for s in svc)
        if self.maybe(0.85):
            if v6:
                d = f"[2001:db8:1::{r.randint(1, 3)}]"
            else:
                d = f"192.168.1.{r.randint(1, 4)}"
        else:
            d = f"[2001:db8:1::{r.randint(1, 3)}]" if not v6 else f"192.168.1.{r.randint(1, 4)}"
        if self.maybe(0.7):
            d += ":" + self.pick("80", "8080")
        return ["-r", d]

    def dest_opts(self):
        a = []
        fwd = self.pick(None, "-g", "-i", "-m", "-m")
        if fwd:
            a += [fwd]
        if self.maybe(0.6):
            a += ["-w", self.pick("0", "1", "5", "100", "65535", "2147483648", "-1", "x")]
        if self.maybe(0.25):
            a += ["-x", self.pick("0", "10", "100", "200")]
        if self.maybe(0.25):
            a += ["-y", self.pick("0", "10", "100", "200")]
        if fwd == "-i" and self.maybe(0.4):
            t = self.pick("ipip", "gue", "gre", "bogus")
            a += ["--tun-type", t]
            if t == "gue" and self.maybe(0.8):
                a += ["--tun-port", self.pick("6080", "0")]
            if self.maybe(0.5):
                a += [self.pick("--tun-nocsum", "--tun-csum", "--tun-remcsum")]
        elif self.maybe(0.03):
            a += ["--tun-type", "gre"]
        return a

    def listing(self):
        r = self.r
        k = r.randrange(100)
        if k < 45:
            a = [self.pick("-L", "-l", "--list")]
            if self.maybe(0.9):
                a += ["-n"]
            for o in ("--stats", "--rate", "--exact", "--thresholds", "--persistent-conn",
                      "--nosort", "--sort"):
                if self.maybe(0.2):
                    a.append(o)
            return a
        if k < 60:
            return ["-L", "-n"] + self.svc() + (["--stats"] if self.maybe(0.3) else [])
        if k < 68:
            return ["-L", "--timeout"]
        if k < 76:
            return ["-L", "--daemon"]
        if k < 84:
            return ["-L", "-c", "-n"] if self.maybe(0.7) else ["-L", "-c"]
        if k < 92:
            return ["-S"] + (["-n"] if self.maybe(0.8) else [])
        return self.pick(["-L", "-n", "--stats", "--rate"], ["-L", "-c", "--stats"],
                         ["-L", "--timeout", "--persistent-conn"], ["--version"], ["-h"])

    def daemon(self):
        if self.maybe(0.5):
            a = ["--start-daemon", self.pick("master", "backup", "both", "bogus")]
            if self.maybe(0.9):
                a += ["--mcast-interface", self.pick("dum0", "dum0", "nosuch0")]
            if self.maybe(0.5):
                a += ["--syncid", self.pick("0", "7", "255", "256")]
            if self.maybe(0.2):
                a += ["--sync-maxlen", self.pick("1472", "100")]
            if self.maybe(0.2):
                a += ["--mcast-group", self.pick("224.0.0.82", "ff02::82", "10.1.1.1")]
            if self.maybe(0.2):
                a += ["--mcast-port", "8850"]
            if self.maybe(0.2):
                a += ["--mcast-ttl", self.pick("2", "0")]
            return a
        return ["--stop-daemon", self.pick("master", "backup", "bogus")]

    def command(self):
        r = self.r
        k = r.randrange(1000)
        self.last = None
        if k < 200:
            s = self.svc()
            return ["-A"] + s + self.svc_opts(s)
        if k < 260:
            s = self.svc()
            return ["-E"] + s + self.svc_opts(s)
        if k < 300:
            s = self.svc()
            self.last = (tuple(s), None)
            return ["-D"] + s
        if k < 540:
            s = self.svc()
            d = self.dest(s)
            self.last = (tuple(s), tuple(d))
            return ["-a"] + s + d + self.dest_opts()
        if k < 620:
            s, d = self.existing_dest()
            self.last = (tuple(s), tuple(d))
            return ["-e"] + s + d + self.dest_opts()
        if k < 680:
            s, d = self.existing_dest()
            self.last = (tuple(s), tuple(d))
            return ["-d"] + s + d
        if k < 710:
            return ["-Z"] + (self.svc() if self.maybe(0.6) else [])
        if k < 850:
            return self.listing()
        if k < 880:
            vals = ("0", "1", "120", "900", "2678400", "2678401", "x")
            return ["--set", self.pick(*vals), self.pick(*vals), self.pick(*vals)]
        if k < 930:
            return self.daemon()
        if k < 940:
            return ["-C"]
        if k < 985:
            return ["RESTORE"]
        return self.pick(["--bogus"], ["-A"], ["-a", "-t", "10.0.0.1:80"], ["-A", "-t"],
                         ["-Q"], [], ["-A", "-f", "1", "-s", "wlc", "extra"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("stock")
    ap.add_argument("ours")
    ap.add_argument("--ref", help="upstream ipvsadm 1.31 with its own libipvs (libnl): a third "
                    "namespace, to tell Debian's program changes from library differences")
    ap.add_argument("--seeds", default="1,2,3,4")
    ap.add_argument("--steps", type=int, default=500)
    a = ap.parse_args()
    sides = [Side("stock", a.stock)] + ([Side("ref", a.ref)] if a.ref else []) + \
        [Side("ours", a.ours)]
    steps = agreed = succeeded = checks = checks_agreed = debian = nosort_reordered = 0
    kinds = {}
    shown = {"fail": 0, "debian": 0}
    t0 = time.monotonic()

    def show(what, label, args, results):
        if shown[what] >= 8:
            return
        shown[what] += 1
        tag = "DISAGREE" if what == "fail" else "DEBIAN-DIFFERS (ours == upstream ref)"
        print(f"{tag} {label}: ipvsadm {' '.join(args)}", file=sys.stderr)
        for side, (rc, out, err) in zip(sides, results):
            print(f"  {side.name}: exit {rc}\n    stdout: {out!r}\n    stderr: {err!r}",
                  file=sys.stderr)

    def run_all(label, args, stdin=None):
        """Runs args in every side; returns (ours agrees, stock's result)."""
        nonlocal debian, nosort_reordered
        res = [side.run(args, stdin) for side in sides]
        stock, ours, ref = res[0], res[-1], res[1] if len(res) == 3 else None
        if ours == stock:
            return True, stock
        if "--nosort" in args and ours[0] == stock[0] and ours[2] == stock[2] \
                and listing_blocks(ours[1]) == listing_blocks(stock[1]):
            # Unsorted, ipvsadm lists services in the kernel's hash-table order, and the
            # kernel mixes the namespace into the hash (ip_vs_svc_hashkey: ahash ^= (size_t)ipvs
            # >> 8): two namespaces list the same table in different orders, stock against
            # stock too. Equal as blocks (a service line with its destination lines), same exit
            # status and stderr: the same answer.
            nosort_reordered += 1
            return True, stock
        if ours == ref:
            debian += 1
            show("debian", label, args, res)
            return True, stock
        show("fail", label, args, res)
        return False, stock

    def check_tables(label):
        nonlocal checks, checks_agreed
        checks += 1
        ok, _ = run_all(label, ["-S", "-n"])
        checks_agreed += ok

    try:
        for seed in [int(s) for s in a.seeds.split(",")]:
            g = Gen(seed)
            for side in sides:  # a clean start: no services, no daemons, default timeouts
                for args in (["-C"], ["--stop-daemon", "master"], ["--stop-daemon", "backup"],
                             ["--set", "900", "120", "300"]):
                    side.run(args)
            for i in range(a.steps):
                cmd = g.command()
                label = f"seed {seed} step {i}"
                if cmd == ["RESTORE"]:
                    # -R of a saved table: the stock namespace's -S -n, restored in every
                    # namespace, after -C half of the time (else onto the table: errors for
                    # what exists).
                    _, (_, saved, _) = run_all(label + " (save)", ["-S", "-n"])
                    if g.maybe(0.5):
                        run_all(label + " (clear)", ["-C"])
                    cmd, stdin = ["-R"], saved
                else:
                    stdin = None
                kind = cmd[0] if cmd else "(none)"
                ok, (rc, _, _) = run_all(label, cmd, stdin)
                steps += 1
                agreed += ok
                succeeded += rc == 0
                if rc == 0:
                    g.added(cmd)
                n, s = kinds.get(kind, (0, 0))
                kinds[kind] = (n + 1, s + (rc == 0))
                if (i + 1) % CHECK_EVERY == 0:
                    check_tables(label + " (-S -n)")
            check_tables(f"seed {seed} end (-S -n)")
            print(f"seed {seed}: {a.steps} steps done, {agreed}/{steps} agreed so far "
                  f"({time.monotonic() - t0:.0f} s)", flush=True)
        for side in sides:
            side.run(["--stop-daemon", "master"])
            side.run(["--stop-daemon", "backup"])
            side.run(["-C"])
    finally:
        for side in sides:
            side.close()
    secs = time.monotonic() - t0
    print("ipvsadm compare: command        runs  succeeded")
    for k in sorted(kinds):
        print(f"ipvsadm compare: {k:<14} {kinds[k][0]:>5} {kinds[k][1]:>10}")
    print(f"ipvsadm compare: {steps} steps over seeds {a.seeds}, {agreed} agreed (exit status, "
          f"stdout, stderr of ours equal to Debian's ipvsadm{' or, with --ref, to upstream 1.31 over libnl' if a.ref else ''}), "
          f"{succeeded} succeeded (exit 0); ipvsadm -S -n equal in {checks_agreed}/{checks} "
          f"checks; {debian} commands where Debian's ipvsadm differs from upstream's (ours "
          f"equal to upstream); {nosort_reordered} --nosort listings equal as blocks in another "
          f"order (the kernel's per-namespace hash order); {secs:.0f} s")
    if agreed != steps or checks_agreed != checks:
        print(f"ipvsadm compare: FAILED: {steps - agreed} steps and {checks - checks_agreed} "
              f"table checks disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
