//! `xdplbctl`: command-line control of lbnet's XDP load balancer.
//!
//! The data plane lives in the kernel, pinned under `/sys/fs/bpf/lbnet/<iface>`; every command
//! but `attach` adopts it from there, changes what it was asked to and exits, leaving the data
//! plane running. See `xdplbctl help`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use lbnet::error::CallerOperation;
use lbnet::netns::{ifindex, NetNs};
use lbnet::xdp::{decap, default_pin_dir, AttachMode, Backend, LoadOptions, Proto, Vip, XdpLb};
use lbnet::{Error, Origin, Result};

/// Origin of the errors for command-line arguments this tool refuses.
const ARG: Origin = Origin::Caller(CallerOperation::Argument);

const USAGE: &str = "\
usage: xdplbctl [-i IFACE | -p PIN_DIR] COMMAND ...

  attach IFACE [--netns PATH] [--native] [--max-vips N] [CONFIG FLAGS]
                                   load, attach to IFACE, pin under /sys/fs/bpf/lbnet/IFACE
  detach                           detach and remove the pins
  config [--src4 ADDR] [--src6 ADDR] [--gw-mac MAC] [--flow-src on|off] [--max-pkt N]
         [--new-flow-limit N|off]
                                   tunnel source addresses and next-hop MAC (given together:
                                   one left out is unset); --flow-src on derives each flow's
                                   outer source from the client's address and port (Katran's
                                   scheme: first 16 bits of --src4, first 96 of --src6 kept);
                                   --max-pkt: largest outer IP packet (default 1500), bigger
                                   ones are answered with ICMP too big; --new-flow-limit: new
                                   flows recorded per second per CPU (0 = default 125,000, off =
                                   no limit), above it they follow the ring (counter flood_skip)
  vip add|del tcp|udp ADDR:PORT    add or remove a VIP ([v6]:port for IPv6)
  backends tcp|udp ADDR:PORT [BACKEND[=WEIGHT] ...]
                                   replace a VIP's backends (weight 1 by default)
  weight tcp|udp ADDR:PORT BACKEND WEIGHT
  drain tcp|udp ADDR:PORT BACKEND  weight 0: no new flows, tracked flows stay
  list                             VIPs, backends, weights and ring slots
  stats                            global, per-VIP and per-backend counters
  decap attach IFACE [--netns PATH] [--native] [--pin FILE] [--pass-only]
  decap sources IFACE [--pin FILE] outer source addresses the decap program has seen
  decap detach IFACE [--pin FILE]  backend side: strip the tunnel header in XDP (for kernels
                                   without ipip/ip6_tunnel); pinned at /sys/fs/bpf/lbnet/decap-IFACE;
                                   --pass-only attaches an XDP_PASS program instead (gives a veth
                                   peer the NAPI that native XDP_TX into it needs)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xdplbctl: {e}");
            ExitCode::from(1)
        }
    }
}

fn usage() -> Error {
    Error::invalid(ARG, format!("bad arguments\n{USAGE}"))
}

fn run(mut args: Vec<String>) -> Result<()> {
    let mut pin: Option<PathBuf> = None;
    while args.first().map(|a| a.starts_with('-')).unwrap_or(false) {
        let flag = args.remove(0);
        if flag == "-h" || flag == "--help" {
            print!("{USAGE}");
            return Ok(());
        }
        if args.is_empty() {
            return Err(usage());
        }
        let val = args.remove(0);
        match flag.as_str() {
            "-i" => pin = Some(default_pin_dir(&val)),
            "-p" => pin = Some(PathBuf::from(val)),
            _ => return Err(usage()),
        }
    }
    let cmd = if args.is_empty() {
        return Err(usage());
    } else {
        args.remove(0)
    };
    if cmd == "help" {
        print!("{USAGE}");
        return Ok(());
    }
    if cmd == "attach" {
        return attach(args, pin);
    }
    if cmd == "decap" {
        return decap(args);
    }
    let pin = pin.ok_or_else(|| Error::invalid(ARG, "give -i IFACE or -p PIN_DIR"))?;
    let mut lb = XdpLb::adopt(&pin)?;
    match cmd.as_str() {
        "detach" => lb.detach(),
        "config" => config(&mut lb, &args),
        "vip" => {
            let (op, vip) = match args.as_slice() {
                [op, proto, addr] => (op.as_str(), parse_vip(proto, addr)?),
                _ => return Err(usage()),
            };
            match op {
                "add" => lb.add_vip(vip),
                "del" => lb.remove_vip(&vip),
                _ => Err(usage()),
            }
        }
        "backends" => {
            if args.len() < 2 {
                return Err(usage());
            }
            let vip = parse_vip(&args[0], &args[1])?;
            let bs = args[2..]
                .iter()
                .map(|a| parse_backend(a))
                .collect::<Result<Vec<_>>>()?;
            let u = lb.set_backends(&vip, &bs)?;
            println!(
                "{vip}: {} backends, {} ring slots written",
                bs.len(),
                u.written
            );
            Ok(())
        }
        "weight" | "drain" => {
            let (vip, addr, w) = match (cmd.as_str(), args.as_slice()) {
                ("weight", [p, a, b, w]) => (parse_vip(p, a)?, parse_ip(b)?, parse_num(w)?),
                ("drain", [p, a, b]) => (parse_vip(p, a)?, parse_ip(b)?, 0),
                _ => return Err(usage()),
            };
            let u = lb.set_weight(&vip, addr, w)?;
            println!("{vip}: {addr} weight {w}, {} ring slots written", u.written);
            Ok(())
        }
        "list" => {
            for info in lb.vips() {
                println!("{}", info.vip);
                for (b, slots) in &info.backends {
                    println!("  {:<40} weight {:<6} slots {}", b.addr, b.weight, slots);
                }
            }
            Ok(())
        }
        "stats" => {
            for (c, v) in lb.counters()? {
                println!("{:<20} {v}", c.name());
            }
            for info in lb.vips() {
                let s = lb.vip_stats(&info.vip)?;
                println!(
                    "{}: packets {} bytes {} new_flows {} drops {}",
                    info.vip, s.packets, s.bytes, s.lru_misses, s.drops
                );
                for (b, bs) in lb.backend_stats(&info.vip)? {
                    println!(
                        "  backend {} packets {} bytes {}",
                        b.addr, bs.packets, bs.bytes
                    );
                }
            }
            Ok(())
        }
        _ => Err(usage()),
    }
}

fn attach(mut args: Vec<String>, pin: Option<PathBuf>) -> Result<()> {
    if args.is_empty() {
        return Err(usage());
    }
    let iface = args.remove(0);
    let mut ns = NetNs::Current;
    let mut mode = AttachMode::Generic;
    let mut opts = LoadOptions::default();
    let mut rest = Vec::new();
    while !args.is_empty() {
        let flag = args.remove(0);
        match flag.as_str() {
            "--native" => mode = AttachMode::Native,
            "--netns" if !args.is_empty() => ns = NetNs::Path(args.remove(0).into()),
            "--max-vips" if !args.is_empty() => opts.max_vips = parse_num(&args.remove(0))?,
            _ => rest.push(flag),
        }
    }
    let mut lb = XdpLb::load(&opts)?;
    config(&mut lb, &rest)?;
    let l: &mut XdpLb = &mut lb;
    ns.run(|| l.attach(ifindex(&iface)?, mode))?;
    let dir = pin.unwrap_or_else(|| default_pin_dir(&iface));
    lb.pin(&dir)?;
    println!(
        "attached to {iface} ({mode:?}), pinned under {}",
        dir.display()
    );
    Ok(())
}

fn decap(mut args: Vec<String>) -> Result<()> {
    if args.len() < 2 {
        return Err(usage());
    }
    let op = args.remove(0);
    let iface = args.remove(0);
    let mut ns = NetNs::Current;
    let mut mode = AttachMode::Generic;
    let mut pin = PathBuf::from(format!("/sys/fs/bpf/lbnet/decap-{iface}"));
    let mut pass_only = false;
    while !args.is_empty() {
        let flag = args.remove(0);
        match flag.as_str() {
            "--native" => mode = AttachMode::Native,
            "--pass-only" => pass_only = true,
            "--netns" if !args.is_empty() => ns = NetNs::Path(args.remove(0).into()),
            "--pin" if !args.is_empty() => pin = args.remove(0).into(),
            _ => return Err(usage()),
        }
    }
    match op.as_str() {
        "attach" => {
            let p = pin.clone();
            ns.run(move || {
                let idx = ifindex(&iface)?;
                if pass_only {
                    decap::attach_pass_pinned(idx, mode, &p)
                } else {
                    decap::attach_decap_pinned(idx, mode, &p)
                }
            })?;
            let what = if pass_only { "xdp_pass" } else { "decap" };
            println!("{what} attached, pinned at {}", pin.display());
            Ok(())
        }
        "detach" => decap::detach_decap_pinned(&pin),
        "sources" => {
            for (a, n) in decap::decap_sources(&pin)? {
                println!("{a} {n}");
            }
            Ok(())
        }
        _ => Err(usage()),
    }
}

fn config(lb: &mut XdpLb, args: &[String]) -> Result<()> {
    let (mut s4, mut s6, mut mac) = (None, None, None);
    let (mut flow_src, mut max_pkt, mut flow_limit) = (None, None, None);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let val = it.next().ok_or_else(usage)?;
        match flag.as_str() {
            "--src4" => s4 = Some(val.parse().map_err(|_| Error::invalid(ARG, "bad --src4"))?),
            "--src6" => s6 = Some(val.parse().map_err(|_| Error::invalid(ARG, "bad --src6"))?),
            "--gw-mac" => mac = Some(parse_mac(val)?),
            "--flow-src" => {
                flow_src = Some(match val.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err(Error::invalid(ARG, "--flow-src: on or off")),
                })
            }
            "--max-pkt" => {
                max_pkt = Some(
                    u16::try_from(parse_num(val)?)
                        .map_err(|_| Error::invalid(ARG, "--max-pkt: at most 65535"))?,
                )
            }
            "--new-flow-limit" => {
                flow_limit = Some(match val.as_str() {
                    "off" => lbnet::xdp::abi::CONN_RATE_UNLIMITED,
                    n => parse_num(n)?,
                })
            }
            _ => return Err(usage()),
        }
    }
    if s4.is_some() || s6.is_some() || mac.is_some() {
        lb.set_config(s4, s6, mac)?;
    }
    if let Some(on) = flow_src {
        lb.set_flow_source(on)?;
    }
    if let Some(max) = max_pkt {
        lb.set_max_packet_size(max)?;
    }
    if let Some(n) = flow_limit {
        lb.set_new_flow_limit(n)?;
    }
    Ok(())
}

fn parse_num(s: &str) -> Result<u32> {
    s.parse()
        .map_err(|_| Error::invalid(ARG, format!("not a number: {s}")))
}

fn parse_ip(s: &str) -> Result<IpAddr> {
    s.parse()
        .map_err(|_| Error::invalid(ARG, format!("not an address: {s}")))
}

fn parse_mac(s: &str) -> Result<[u8; 6]> {
    let parts: Vec<u8> = s
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::invalid(ARG, format!("not a MAC: {s}")))?;
    parts
        .try_into()
        .map_err(|_| Error::invalid(ARG, format!("not a MAC: {s}")))
}

fn parse_vip(proto: &str, addr: &str) -> Result<Vip> {
    let proto = match proto {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        _ => {
            return Err(Error::invalid(
                ARG,
                format!("protocol {proto}: want tcp or udp"),
            ))
        }
    };
    let sa: std::net::SocketAddr = addr
        .parse()
        .map_err(|_| Error::invalid(ARG, format!("not ADDR:PORT: {addr}")))?;
    Ok(Vip {
        addr: sa.ip(),
        port: sa.port(),
        proto,
    })
}

fn parse_backend(s: &str) -> Result<Backend> {
    let (a, w) = match s.split_once('=') {
        Some((a, w)) => (a, parse_num(w)?),
        None => (s, 1),
    };
    Ok(Backend {
        addr: parse_ip(a)?,
        weight: w,
    })
}
