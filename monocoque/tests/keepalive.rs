//! ZMQ_TCP_KEEPALIVE, _IDLE, _INTVL and _CNT reach the kernel, on connected and on accepted
//! connections: read back with `ss -o` (iproute2), which shows a keepalive timer counting down
//! from TCP_KEEPIDLE. And ZMQ_BACKLOG: `ss -l` shows a listening socket's backlog.

mod common;

use common::*;
use monocoque::{Context, Message, PullSocket, PushSocket, SocketOption};
use std::time::Duration;

/// The timer `ss` shows for each established tcp connection matching `filter` (e.g.
/// `dport = :5555`): `("keepalive", seconds)`, `("on", ..)` (retransmission) or `("", 0)`.
fn timers(filter: &str) -> Vec<(String, f64)> {
    let out = std::process::Command::new("ss")
        .args(["-tnoH", "state", "established"])
        .arg(format!("( {filter} )"))
        .output()
        .expect("ss (iproute2) is needed: .ci/run installs it");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .map(|l| match l.split("timer:(").nth(1) {
            Some(timer) => {
                let mut parts = timer.split(',');
                let kind = parts.next().unwrap_or_default().to_owned();
                let time = parts.next().and_then(parse_ss_time).unwrap_or(0.0);
                (kind, time)
            }
            None => (String::new(), 0.0),
        })
        .collect()
}

/// The connections' timers once their data is all acknowledged: until then `ss` shows the
/// retransmission timer (a delayed ACK takes up to 200 ms) instead of the keepalive one.
/// Polls the kernel's state for at most 5 s.
fn settled_timers(filter: &str) -> Vec<(String, f64)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = timers(filter);
        let settled = !now.is_empty() && now.iter().all(|(kind, _)| kind != "on");
        if settled || std::time::Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The keepalive timers among [`settled_timers`], in seconds.
fn keepalive_timers(filter: &str) -> Vec<f64> {
    (settled_timers(filter).into_iter())
        .filter(|(kind, _)| kind == "keepalive")
        .map(|(_, t)| t)
        .collect()
}

/// `6.993sec`, `1min59sec`, `2h` ... as seconds.
fn parse_ss_time(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let mut unit = String::from(c);
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let value: f64 = number.parse().ok()?;
        number.clear();
        total += value
            * match unit.as_str() {
                "ms" => 0.001,
                "sec" => 1.0,
                "min" => 60.0,
                "h" => 3600.0,
                _ => return None,
            };
    }
    Some(total)
}

fn port(ep: &str) -> u16 {
    ep.rsplit(':').next().unwrap().parse().unwrap()
}

fn keepalive(idle: u64) -> [SocketOption; 4] {
    [
        SocketOption::TcpKeepalive(Some(true)),
        SocketOption::TcpKeepaliveIdle(Some(Duration::from_secs(idle))),
        SocketOption::TcpKeepaliveIntvl(Some(Duration::from_secs(2))),
        SocketOption::TcpKeepaliveCnt(Some(3)),
    ]
}

async fn keepalive_options_reach_both_ends(ctx: Context) -> TestResult {
    let mut pull = PullSocket::new(&ctx);
    for option in keepalive(40) {
        pull.set_option(option)?;
    }
    let ep = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    let mut push = PushSocket::new(&ctx);
    for option in keepalive(20) {
        push.set_option(option)?;
    }
    push.connect(&ep).await?;
    push.send(Message::from("up")).await?;
    bounded(pull.recv()).await?;
    let p = port(&ep);
    // Our connecting end (its peer port is the bound one) counts down from 20 s, the
    // accepted end from 40 s; the OS default would be 2 hours, or no timer at all.
    let connected = keepalive_timers(&format!("dport = :{p}"));
    let accepted = keepalive_timers(&format!("sport = :{p}"));
    assert!(
        matches!(connected[..], [t] if t > 15.0 && t <= 20.0),
        "{connected:?}"
    );
    assert!(
        matches!(accepted[..], [t] if t > 35.0 && t <= 40.0),
        "{accepted:?}"
    );
    // Off, or left to the OS (off on Linux): no keepalive timer.
    let mut off = PushSocket::new(&ctx);
    off.set_option(SocketOption::TcpKeepalive(Some(false)))?;
    let mut plain = PullSocket::new(&ctx);
    let plain_ep = plain.bind("tcp://127.0.0.1:*").await?.to_string();
    off.connect(&plain_ep).await?;
    off.send(Message::from("up")).await?;
    bounded(plain.recv()).await?;
    let q = port(&plain_ep);
    let both = settled_timers(&format!("dport = :{q} or sport = :{q}"));
    assert_eq!(both.len(), 2, "{both:?}");
    assert!(both.iter().all(|(kind, _)| kind.is_empty()), "{both:?}");
    for s in [push, off] {
        s.close().await;
    }
    for s in [pull, plain] {
        s.close().await;
    }
    Ok(())
}

/// The backlog `ss` shows for the tcp listener on `port` (its Send-Q column).
fn listen_backlog(port: u16) -> u64 {
    let out = std::process::Command::new("ss")
        .args(["-ltnH"])
        .arg(format!("( sport = :{port} )"))
        .output()
        .expect("ss (iproute2) is needed: .ci/run installs it");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no listener on {port}"));
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// ZMQ_BACKLOG: 100 by default, as libzmq's; set, for endpoints bound after it.
async fn backlog_reaches_the_listener(ctx: Context) -> TestResult {
    let mut pull = PullSocket::new(&ctx);
    let default = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    pull.set_option(SocketOption::Backlog(7))?;
    let seven = pull.bind("tcp://127.0.0.1:*").await?.to_string();
    assert_eq!(listen_backlog(port(&default)), 100);
    assert_eq!(listen_backlog(port(&seven)), 7);
    pull.close().await;
    Ok(())
}

on_all_runtimes!(
    keepalive_options_reach_both_ends,
    backlog_reaches_the_listener
);

#[test]
fn ss_times_parse() {
    assert_eq!(parse_ss_time("6.993sec"), Some(6.993));
    assert_eq!(parse_ss_time("1min59sec"), Some(119.0));
    assert_eq!(parse_ss_time("2h"), Some(7200.0));
}
