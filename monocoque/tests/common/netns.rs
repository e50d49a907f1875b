//! Two hosts on one machine: the test process's own network namespace ("near") and a fresh
//! namespace ("far"), joined either directly by a veth pair ([`Hosts::new`]) or through a third
//! namespace that routes between them ([`Hosts::routed`]), each link a /30 of its own. [`Hosts`]
//! makes them, partitions and heals the link, shapes it with `tc`, runs a future on a thread
//! inside the far namespace (so that what it binds lives there) and gives the `ip netns exec`
//! prefix for processes (the libzmq peer) on the far host. Dropping it deletes the namespaces
//! and the veth pairs.
//!
//! Names and subnets are unique per [`Hosts`] across concurrent test processes: namespaces are
//! `mcq<pid>-<n>` (and `mcq<pid>-<n>r` for the router), veth ends `mq<pid>n<n>` plus a letter
//! (at most 15 bytes), the subnets the two /30s of a `10.x.y.z/29` picked from the pid and `n`
//! that no route of this namespace covers yet. Namespaces left behind by a test process that
//! died (a kill -9) are deleted by the next one.
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

/// The namespace routing between the hosts ([`Hosts::routed`]).
#[derive(Debug)]
struct Router {
    ns: String,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Hosts {
    ns: String,
    /// Our end of the link (to the far host or to the router).
    near_dev: String,
    /// The far host's end of the link (to us or to the router).
    far_dev: String,
    near: Ipv4Addr,
    far: Ipv4Addr,
    router: Option<Router>,
}

impl Hosts {
    /// The hosts joined directly, or `None` after printing why they cannot be made (the
    /// caller returns, the test passes). Panics instead when `MONOCOQUE_REQUIRE_NETNS=1`.
    pub fn or_skip(test: &str) -> Option<Self> {
        Self::or_skip_with(test, Self::new)
    }

    /// [`or_skip`](Self::or_skip) for [`routed`](Self::routed) hosts.
    pub fn routed_or_skip(test: &str) -> Option<Self> {
        Self::or_skip_with(test, Self::routed)
    }

    fn or_skip_with(test: &str, make: fn() -> Result<Self, String>) -> Option<Self> {
        match make() {
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

    /// Makes the far namespace and a veth pair from ours to it; `Err` says why it could not.
    pub fn new() -> Result<Self, String> {
        Self::make(false)
    }

    /// Makes the far namespace, a router namespace forwarding between us and it, and a veth
    /// pair to each side of the router; `Err` says why it could not.
    pub fn routed() -> Result<Self, String> {
        Self::make(true)
    }

    fn make(routed: bool) -> Result<Self, String> {
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
        let net = free_subnet(pid, n)?;
        let at = |k: u8| Ipv4Addr::from(u32::from(net) + u32::from(k));
        let ns = format!("mcq{pid}-{n}");
        run("ip", &["netns", "add", &ns])?;
        let mut hosts = Hosts {
            ns,
            near_dev: format!("mq{pid}n{n}a"),
            far_dev: format!("mq{pid}n{n}b"),
            near: at(1),
            far: if routed { at(6) } else { at(2) },
            router: None,
        };
        // On an error, dropping `hosts` removes whatever was made.
        if routed {
            let router = format!("mcq{pid}-{n}r");
            run("ip", &["netns", "add", &router])?;
            hosts.router = Some(Router { ns: router.clone() });
            let (to_near, to_far) = (format!("mq{pid}n{n}c"), format!("mq{pid}n{n}d"));
            hosts.pair(None, &hosts.near_dev, (&router, &to_near), (at(1), at(2)))?;
            hosts.pair(
                Some(&router),
                &to_far,
                (&hosts.ns, &hosts.far_dev),
                (at(5), at(6)),
            )?;
            ip(Some(&router), &["link", "set", "lo", "up"])?;
            run(
                "ip",
                &[
                    "netns",
                    "exec",
                    &router,
                    "sh",
                    "-c",
                    "echo 1 > /proc/sys/net/ipv4/ip_forward",
                ],
            )?;
            let (far, near) = (format!("{}/32", at(6)), at(2).to_string());
            ip(None, &["route", "add", &far, "via", &near])?;
            ip(
                Some(&hosts.ns),
                &["route", "add", "default", "via", &at(5).to_string()],
            )?;
        } else {
            hosts.pair(
                None,
                &hosts.near_dev,
                (&hosts.ns, &hosts.far_dev),
                (at(1), at(2)),
            )?;
        }
        ip(Some(&hosts.ns), &["link", "set", "lo", "up"])?;
        Ok(hosts)
    }

    /// A veth pair from `dev` in namespace `from` (ours: `None`) to `peer.1` in namespace
    /// `peer.0`, with addresses `addrs` (/30), both ends up.
    fn pair(
        &self,
        from: Option<&str>,
        dev: &str,
        peer: (&str, &str),
        addrs: (Ipv4Addr, Ipv4Addr),
    ) -> Result<(), String> {
        let (peer_ns, peer_dev) = peer;
        ip(
            from,
            &[
                "link", "add", dev, "type", "veth", "peer", "name", peer_dev, "netns", peer_ns,
            ],
        )?;
        ip(
            from,
            &["addr", "add", &format!("{}/30", addrs.0), "dev", dev],
        )?;
        ip(from, &["link", "set", dev, "up"])?;
        let far = format!("{}/30", addrs.1);
        ip(Some(peer_ns), &["addr", "add", &far, "dev", peer_dev])?;
        ip(Some(peer_ns), &["link", "set", peer_dev, "up"])?;
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

    /// Partitions the hosts: the far host's end of its link goes down (the veth's other end
    /// loses its carrier). Nothing is reset: packets are dropped, TCP retransmits into the
    /// void.
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

    /// Partitions [`routed`](Self::routed) hosts with every link up: the router silently
    /// drops what it would forward either way (blackhole routes to both hosts). Nothing on
    /// either host notices anything but silence (no carrier change, no local drop, no ICMP), as
    /// when a link further along the path fails; a SYN sent meanwhile is lost, and retried by
    /// the kernel a second later.
    pub fn blackhole(&self) {
        for host in [self.near, self.far] {
            self.router_ip(&["route", "add", "blackhole", &format!("{host}/32")]);
        }
    }

    /// Ends a [`blackhole`](Self::blackhole).
    pub fn restore(&self) {
        for host in [self.near, self.far] {
            self.router_ip(&["route", "del", "blackhole", &format!("{host}/32")]);
        }
    }

    fn router_ip(&self, args: &[&str]) {
        let router = self.router.as_ref().expect("routed hosts");
        ip(Some(&router.ns), args).unwrap();
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
        // Deleting one end of a veth deletes both; deleting a namespace deletes its ends.
        let _ = run("ip", &["link", "del", &self.near_dev]);
        let _ = run("ip", &["netns", "del", &self.ns]);
        if let Some(router) = &self.router {
            let _ = run("ip", &["netns", "del", &router.ns]);
        }
    }
}

/// `ip [-n ns] args...`.
fn ip(ns: Option<&str>, args: &[&str]) -> Result<String, String> {
    match ns {
        Some(ns) => {
            let all: Vec<&str> = ["-n", ns].into_iter().chain(args.iter().copied()).collect();
            run("ip", &all)
        }
        None => run("ip", args),
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

/// A /29 in 10.100.0.0 - 10.227.255.255 that no route of this namespace covers or falls in:
/// its network address.
fn free_subnet(pid: u32, n: u32) -> Result<Ipv4Addr, String> {
    let mut index = ((pid & 0x3_ffff) << 2) | (n & 3);
    for _ in 0..32 {
        let net = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 100, 0, 0)) + (index << 3));
        let prefix = format!("{net}/29");
        let taken = ["match", "root"].iter().any(|how| {
            run("ip", &["-o", "route", "show", how, &prefix])
                .map(|out| out.lines().any(|l| !l.starts_with("default")))
                .unwrap_or(true)
        });
        if !taken {
            return Ok(net);
        }
        index = (index + 7919) & 0xf_ffff;
    }
    Err("no free 10.x.y.z/29 subnet found in 32 tries".into())
}
