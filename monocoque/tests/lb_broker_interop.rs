//! The `lb_broker` example against libzmq (pyzmq) peers: the example's broker and clients with
//! libzmq REQ workers (`--workers 0`), and its broker and workers with libzmq REQ clients
//! (`--clients 0`). Loopback only, each test bounded by [`TEST_TIMEOUT`].
//!
//! The example binary is built by `cargo test` and `cargo nextest` along with the tests (unless
//! only some test targets are selected); when it is missing the tests fail and say how to build
//! it. Without pyzmq they fail, saying how to install it.

mod common;

use common::*;
use monocoque::Message;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the example may run (it exits 1 by itself after this, too).
const BROKER_TIMEOUT_SECS: u64 = 45;
/// How long one poll of a peer's output waits before checking whether to stop.
const POLL: Duration = Duration::from_millis(50);

/// How long a libzmq worker takes per request.
const WORK: Duration = Duration::from_millis(20);

/// `target/<profile>/examples/lb_broker`, next to this test's `deps` directory.
fn example_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test binary");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let bin = profile_dir
        .join("examples")
        .join(format!("lb_broker{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the lb_broker example is not built ({} is missing): run `cargo build -p monocoque \
         --examples` (plain `cargo test` and `cargo nextest run` build it, `cargo test --test \
         lb_broker_interop` alone does not)",
        bin.display()
    );
    bin
}

/// The running example: its stdout lines arrive on a channel; killed on drop.
struct Broker {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Broker {
    fn start(args: &[&str]) -> Broker {
        let bin = example_binary();
        let mut child = Command::new(&bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Broker {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The endpoint printed on the `<label> <endpoint>` line.
    fn endpoint(&mut self, label: &str) -> String {
        let prefix = format!("{label} ");
        loop {
            let line = self.lines.recv_timeout(READY_TIMEOUT).unwrap_or_else(|_| {
                panic!("lb_broker printed no {label} line; got {:?}", self.seen)
            });
            self.seen.push(line.clone());
            if let Some(ep) = line.strip_prefix(&prefix) {
                return ep.to_owned();
            }
        }
    }

    /// Waits for the example to exit; returns its status and everything it printed.
    fn wait(&mut self, deadline: Instant) -> (ExitStatus, Vec<String>) {
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for lb_broker") {
                // Its stdout closes with it: take what is left.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
                    self.seen.push(line);
                }
                return (status, self.seen.clone());
            }
            if Instant::now() > deadline {
                panic!(
                    "lb_broker still running at the deadline; printed {:?}",
                    self.seen
                );
            }
            while let Ok(line) = self.lines.try_recv() {
                self.seen.push(line);
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A libzmq REQ peer in script mode, connected to `endpoint`.
fn libzmq_req(endpoint: &str) -> PyPeer {
    PeerSpec::new("REQ")
        .connect(endpoint)
        .timeout_ms(TEST_TIMEOUT.as_millis() as u64)
        .arg("--max-seconds")
        .arg(TEST_TIMEOUT.as_secs().to_string())
        .spawn()
}

/// Sends one message from a script-mode peer and waits for `SENT 1`.
fn send(peer: &mut PyPeer, msg: &Message) {
    peer.send_line(&format!("SEND {}", hex_frames(msg)));
    match peer.read_line_timeout(LINE_TIMEOUT) {
        Some(line) if line == "SENT 1" => {}
        other => peer.fail(&format!("expected SENT 1, got {other:?}")),
    }
}

/// A libzmq worker of the load-balancing pattern: "READY", then for each
/// `[client id, "", request]` it answers `[client id, "", "<request> -> done by <name>"]`,
/// until `stop` is set. Returns how many requests it served.
fn run_worker(mut peer: PyPeer, name: &str, stop: &AtomicBool) -> usize {
    send(&mut peer, &Message::from("READY"));
    peer.send_line("RECV");
    let mut served = 0;
    while !stop.load(Ordering::Relaxed) {
        let Some(line) = peer.read_line_timeout(POLL) else {
            continue;
        };
        let Some(hex) = line.strip_prefix("MSG ") else {
            peer.fail(&format!("expected a MSG line, got {line:?}"));
        };
        let mut msg = parse_hex_frames(hex).unwrap_or_else(|e| peer.fail(&e));
        if msg.len() != 3 || !msg.frames()[1].is_empty() {
            peer.fail(&format!("expected [client id, \"\", request], got {msg:?}"));
        }
        let request = msg.pop_back().expect("three frames");
        std::thread::sleep(WORK); // the "work", so that requests spread over the workers
        let mut reply = request.to_vec();
        reply.extend_from_slice(format!(" -> done by {name}").as_bytes());
        msg.push_back(reply);
        send(&mut peer, &msg);
        peer.send_line("RECV");
        served += 1;
    }
    served
}

/// A libzmq REQ client: `requests` requests in lock-step, each reply checked to come from one of
/// the example's workers for exactly this request.
fn run_client(mut peer: PyPeer, name: &str, requests: usize) {
    for r in 1..=requests {
        let request = format!("{name}-request-{r}");
        send(&mut peer, &Message::from(request.clone()));
        peer.send_line("RECV");
        let line = peer
            .read_line_timeout(LINE_TIMEOUT)
            .unwrap_or_else(|| peer.fail("no reply"));
        let reply = line
            .strip_prefix("MSG ")
            .map(parse_hex_frames)
            .and_then(Result::ok)
            .unwrap_or_else(|| peer.fail(&format!("expected a MSG line, got {line:?}")));
        let text = String::from_utf8_lossy(&reply.frames()[0]).into_owned();
        let expected = format!("{request} -> done by worker-");
        if reply.len() != 1 || !text.starts_with(&expected) {
            peer.fail(&format!("reply {reply:?} to {request:?}"));
        }
    }
}

#[test]
fn lb_broker_with_libzmq_workers() {
    require_pyzmq("lb_broker_with_libzmq_workers");
    let deadline = Instant::now() + TEST_TIMEOUT;
    let timeout = BROKER_TIMEOUT_SECS.to_string();
    let mut broker = Broker::start(&[
        "--workers",
        "0",
        "--clients",
        "10",
        "--timeout-secs",
        &timeout,
    ]);
    let _frontend = broker.endpoint("FRONTEND");
    let backend = broker.endpoint("BACKEND");

    let stop = AtomicBool::new(false);
    let (status, output, served) = std::thread::scope(|s| {
        // Start all three peers first, so that they announce themselves at about the same time.
        let peers: Vec<PyPeer> = (0..3).map(|_| libzmq_req(&backend)).collect();
        let workers: Vec<_> = peers
            .into_iter()
            .enumerate()
            .map(|(k, peer)| {
                let stop = &stop;
                s.spawn(move || run_worker(peer, &format!("py-worker-{}", k + 1), stop))
            })
            .collect();
        let (status, output) = broker.wait(deadline);
        stop.store(true, Ordering::Relaxed);
        let served: Vec<usize> = workers
            .into_iter()
            .map(|w| w.join().expect("worker thread"))
            .collect();
        (status, output, served)
    });

    assert!(
        status.success(),
        "lb_broker failed ({status}); printed {output:?}"
    );
    assert!(
        output.iter().any(|l| l == "done: 10 requests served"),
        "{output:?}"
    );
    let replies = output
        .iter()
        .filter(|l| l.starts_with("client-") && l.contains(": got its reply from "))
        .count();
    assert_eq!(replies, 10, "{output:?}");
    assert_eq!(
        served.iter().sum::<usize>(),
        10,
        "served per libzmq worker: {served:?}"
    );
    println!("libzmq workers served {served:?}");
}

#[test]
fn lb_broker_with_libzmq_clients() {
    require_pyzmq("lb_broker_with_libzmq_clients");
    const CLIENTS: usize = 3;
    const REQUESTS: usize = 4;
    let deadline = Instant::now() + TEST_TIMEOUT;
    let timeout = BROKER_TIMEOUT_SECS.to_string();
    let expect = (CLIENTS * REQUESTS).to_string();
    let mut broker = Broker::start(&[
        "--clients",
        "0",
        "--workers",
        "3",
        "--expect",
        &expect,
        "--timeout-secs",
        &timeout,
    ]);
    let frontend = broker.endpoint("FRONTEND");
    let _backend = broker.endpoint("BACKEND");

    std::thread::scope(|s| {
        for k in 1..=CLIENTS {
            let peer = libzmq_req(&frontend);
            s.spawn(move || run_client(peer, &format!("py-client-{k}"), REQUESTS));
        }
    });
    let (status, output) = broker.wait(deadline);
    assert!(
        status.success(),
        "lb_broker failed ({status}); printed {output:?}"
    );
    let done = format!("done: {expect} requests served");
    assert!(output.contains(&done), "{output:?}");
}
