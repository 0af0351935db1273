//! Interrupted dumps against the host kernel: links created while the watcher dumps a table
//! too big for one datagram make the kernel flag the dump `NLM_F_DUMP_INTR` (the namespace's
//! `dev_base_seq` moved between parts); the watcher must repeat the dump and still converge.

mod linkwatch_util;

use std::time::Duration;

use lbnet::linkwatch::{LinkWatcher, WatchOptions};
use linkwatch_util::{as_ip, Consumer, Ns};

#[test]
fn dumps_interrupted_by_link_creation_are_repeated_and_converge() {
    let ns = Ns::new("intr");
    let mut script = String::new();
    for i in 0..200 {
        script.push_str(&format!("link add a{i} type veth peer name b{i}\n"));
    }
    run_batch(&ns, &script);
    let mut w = LinkWatcher::new(WatchOptions {
        netns: ns.netns(),
        ..WatchOptions::default()
    })
    .unwrap();
    let mut c = Consumer::new(&w);

    // Create 300 more pairs from another process while resynchronising in a loop.
    let mut script = String::new();
    for i in 0..300 {
        script.push_str(&format!("link add c{i} type veth peer name d{i}\n"));
    }
    let mut writer = ns.ip_batch(script);
    let mut rounds = 0;
    while writer.child.try_wait().unwrap().is_none() {
        w.resync_now().unwrap();
        c.drain(&mut w, Duration::ZERO);
        rounds += 1;
    }
    writer.fed();
    c.drain(&mut w, Duration::from_millis(1500));
    let st = w.stats();
    eprintln!("{rounds} resync rounds while links were created: {st:?}");
    assert!(st.dumps_interrupted > 0, "no dump was interrupted: {st:?}");
    assert!(
        st.dump_retries > 0,
        "no interrupted dump was repeated: {st:?}"
    );
    assert_eq!(c.table.len(), 1 + 2 * 500);
    assert_eq!(as_ip(&c.table), ns.kernel_links());
}

fn run_batch(ns: &Ns, script: &str) {
    ns.ip_batch(script.to_string()).finish();
}
