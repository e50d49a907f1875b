//! Two hosts on one machine: the test process's own network namespace ("near") and a fresh
//! namespace ("far") joined to it by a veth pair, each end with an address of a /30 subnet of
//! its own. [`Hosts`] makes them, partitions and heals the link, shapes it with `tc`, runs a
//! future on a thread inside the far namespace (so that what it binds lives there) and gives
//! the `ip netns exec` prefix for processes (the libzmq peer) on the far host. Dropping it
//! deletes the far namespace and the veth pair.
//!
//! Names and subnets are unique per [`Hosts`] across concurrent test processes: the namespace
//! is `mcq<pid>-<n>`, the veth ends `mq<pid>n<n>a`/`b` (at most 15 bytes), the subnet a
//! `10.x.y.z/30` picked from the pid and `n` that no route of this namespace covers yet.
//! Namespaces left behind by a test process that died (a kill -9) are deleted by the next one.
//!
//! Where the namespaces cannot be made (not root, no `ip`, no permission), [`Hosts::or_skip`]
//! prints why and the test returns early; with `MONOCOQUE_REQUIRE_NETNS=1` (CI as root) that
//! is a failure instead.

use std::fs::File;
use std::future::Future;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Runs `program args...`; its stdout, or an error quoting the command and its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let shown = format!("`{program} {}`", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Serializes the making of hosts within one process (subnet choice, then its use).
static SETUP: Mutex<()> = Mutex::new(());
static NEXT: AtomicU32 = AtomicU32::new(0);

/// See the module documentation.
#[derive(Debug)]
pub struct Hosts {
    ns: String,
    near_dev: String,
    far_dev: String,
    near: Ipv4Addr,
    far: Ipv4Addr,
}

impl Hosts {
    /// The hosts, or `None` after printing why they cannot be made (the caller returns, the
    /// test passes). Panics instead when `MONOCOQUE_REQUIRE_NETNS=1`.
    pub fn or_skip(test: &str) -> Option<Self> {
        match Self::new() {
            Ok(hosts) => Some(hosts),
            Err(why) if std::env::var("MONOCOQUE_REQUIRE_NETNS").as_deref() == Ok("1") => {
                panic!(
                    "{test}: MONOCOQUE_REQUIRE_NETNS=1 but the netns hosts cannot be made: {why}"
                )
            }
            Err(why) => {
                eprintln!("netns tests skipped ({test}): {why}");
                None
            }
        }
    }

    /// Makes the far namespace, the veth pair and the addresses; `Err` says why it could not.
    pub fn new() -> Result<Self, String> {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            return Err(format!("not root (euid {euid})"));
        }
        run("ip", &["-V"]).map_err(|e| format!("iproute2 missing: {e}"))?;
        let _setup = SETUP.lock().unwrap_or_else(|e| e.into_inner());
        sweep_stale();
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let ns = format!("mcq{pid}-{n}");
        let (near, far) = free_subnet(pid, n)?;
        run("ip", &["netns", "add", &ns])?;
        let hosts = Hosts {
            ns,
            near_dev: format!("mq{pid}n{n}a"),
            far_dev: format!("mq{pid}n{n}b"),
            near,
            far,
        };
        // On an error, dropping `hosts` removes whatever was made.
        hosts.join()?;
        Ok(hosts)
    }

    fn join(&self) -> Result<(), String> {
        let (ns, near, far) = (&self.ns, &self.near_dev, &self.far_dev);
        run(
            "ip",
            &[
                "link", "add", near, "type", "veth", "peer", "name", far, "netns", ns,
            ],
        )?;
        run(
            "ip",
            &["addr", "add", &format!("{}/30", self.near), "dev", near],
        )?;
        run("ip", &["link", "set", near, "up"])?;
        run(
            "ip",
            &[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/30", self.far),
                "dev",
                far,
            ],
        )?;
        run("ip", &["-n", ns, "link", "set", far, "up"])?;
        run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// The far namespace's name.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// Our (near) address.
    pub fn near_ip(&self) -> Ipv4Addr {
        self.near
    }

    /// The far host's address.
    pub fn far_ip(&self) -> Ipv4Addr {
        self.far
    }

    /// `tcp://<far address>:*`, to bind on the far host.
    pub fn far_any_port(&self) -> String {
        format!("tcp://{}:*", self.far)
    }

    /// `tcp://<near address>:*`, to bind on our host.
    pub fn near_any_port(&self) -> String {
        format!("tcp://{}:*", self.near)
    }

    /// Partitions the hosts: the far end of the link goes down. Nothing is reset: packets
    /// are dropped, TCP retransmits into the void.
    pub fn partition(&self) {
        run(
            "ip",
            &["-n", &self.ns, "link", "set", &self.far_dev, "down"],
        )
        .unwrap();
    }

    /// Heals a [`partition`](Self::partition): the far end comes up again (its address and
    /// route come back with it).
    pub fn heal(&self) {
        run("ip", &["-n", &self.ns, "link", "set", &self.far_dev, "up"]).unwrap();
    }

    /// `tc qdisc add dev <end> root <qdisc...>` on both ends of the link (each shapes what
    /// its side sends); `Err` with tc's message when the kernel refuses (no such qdisc).
    pub fn qdisc(&self, qdisc: &[&str]) -> Result<(), String> {
        let near: Vec<&str> = ["qdisc", "add", "dev", &self.near_dev, "root"]
            .into_iter()
            .chain(qdisc.iter().copied())
            .collect();
        run("tc", &near)?;
        let far: Vec<&str> = ["-n", &self.ns, "qdisc", "add", "dev", &self.far_dev, "root"]
            .into_iter()
            .chain(qdisc.iter().copied())
            .collect();
        run("tc", &far)?;
        Ok(())
    }

    /// The command prefix that runs a program on the far host.
    pub fn exec_prefix(&self) -> Vec<String> {
        vec!["ip".into(), "netns".into(), "exec".into(), self.ns.clone()]
    }

    /// Runs `fut` to completion on a thread that has entered the far namespace, blocking the
    /// caller meanwhile: a socket made there (a bind: the listener is made while the bind's
    /// future is polled) lives on the far host, and so does every connection accepted on it.
    /// Inside a tokio runtime, the thread enters it too. Keep `fut` short: only the bind.
    ///
    /// Threads inherit the namespace of the thread that starts them, and the async-std and
    /// smol executors start theirs at their first spawn: a bind's accept loop, spawned from the
    /// far thread, would start them there, and every later connect would be made from the far
    /// host. So first a task is run on `ctx`'s runtime from here.
    pub async fn on_far_host<F>(&self, ctx: &monocoque::Context, fut: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let (ran, started) = futures::channel::oneshot::channel();
        ctx.runtime().spawn(Box::pin(async move {
            let _ = ran.send(());
        }));
        started.await.expect("the runtime runs tasks");
        let tokio = tokio::runtime::Handle::try_current().ok();
        let path = format!("/run/netns/{}", self.ns);
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let _tokio = tokio.as_ref().map(|h| h.enter());
                    let ns = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                    // SAFETY: a valid namespace fd; setns changes only this thread.
                    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
                    assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
                    smol::block_on(fut)
                })
                .join()
                .expect("the far-host thread panicked")
        })
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        // Deleting one end of a veth deletes both; deleting the namespace would too.
        let _ = run("ip", &["link", "del", &self.near_dev]);
        let _ = run("ip", &["netns", "del", &self.ns]);
    }
}

/// Deletes `mcq<pid>-<n>` namespaces whose process is gone.
fn sweep_stale() {
    let Ok(list) = run("ip", &["netns", "list"]) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some(pid) = name
            .strip_prefix("mcq")
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run("ip", &["netns", "del", name]);
        }
    }
}

/// A /30 in 10.100.0.0 - 10.227.255.255 that no route of this namespace covers or falls in:
/// (near, far) addresses.
fn free_subnet(pid: u32, n: u32) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    let mut index = ((pid & 0x7_ffff) << 2) | (n & 3);
    for _ in 0..32 {
        let a = 100 + (index >> 14) as u8;
        let b = (index >> 6) as u8;
        let c = ((index & 63) << 2) as u8;
        let net = format!("10.{a}.{b}.{c}/30");
        let taken = ["match", "root"].iter().any(|how| {
            run("ip", &["-o", "route", "show", how, &net])
                .map(|out| out.lines().any(|l| !l.starts_with("default")))
                .unwrap_or(true)
        });
        if !taken {
            return Ok((
                Ipv4Addr::new(10, a, b, c + 1),
                Ipv4Addr::new(10, a, b, c + 2),
            ));
        }
        index = (index + 7919) & 0x1f_ffff;
    }
    Err("no free 10.x.y.z/30 subnet found in 32 tries".into())
}
