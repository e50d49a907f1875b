//! The load-balancing broker: a ROUTER frontend for REQ clients, a ROUTER backend for REQ
//! workers, and a queue of the workers that are free.
//!
//! A worker announces itself with "READY" and from then on each reply it sends also says "I am
//! free again". The broker only takes a request from a client while some worker is free, and
//! hands it to the worker that has been waiting longest, so a slow worker never piles up work.
//! Envelopes, as the ROUTER sockets see them:
//!
//! * from a client: `[client id, "", request]`
//! * to a worker:   `[worker id, "", client id, "", request]`
//! * from a worker: `[worker id, "", client id, "", reply]` (or `[worker id, "", "READY"]`)
//! * to a client:   `[client id, "", reply]`
//!
//! By default it runs the broker, 10 clients (one request each) and 3 workers in one process and
//! exits once every client has its reply. Options, so that clients or workers can live elsewhere
//! (e.g. libzmq ones):
//!
//! ```text
//! --frontend ENDPOINT   where clients connect (default tcp://127.0.0.1:*)
//! --backend ENDPOINT    where workers connect (default tcp://127.0.0.1:*)
//! --clients N           in-process clients (default 10); 0: wait for external clients
//! --workers N           in-process workers (default 3); 0: wait for external workers
//! --expect N            stop after routing N replies (default: one per in-process client)
//! --timeout-secs S      give up, exiting 1, after S seconds (default 30)
//! ```
//!
//! A worker must reply `"<request> -> done by <worker name>"`; clients check that prefix. The
//! bound endpoints are printed first, as `FRONTEND <endpoint>` and `BACKEND <endpoint>` lines.
//!
//! Run with `cargo run -p monocoque --example lb_broker`, or e.g.
//! `cargo run -p monocoque --example lb_broker -- --clients 0 --expect 5`.

use bytes::Bytes;
use monocoque::{Message, ReqSocket, RouterSocket, SocketOption};
use std::collections::{BTreeMap, VecDeque};
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The command line.
struct Options {
    frontend: String,
    backend: String,
    clients: usize,
    workers: usize,
    expect: Option<usize>,
    timeout: Duration,
}

impl Options {
    fn parse() -> Result<Self, String> {
        let mut opts = Options {
            frontend: "tcp://127.0.0.1:*".into(),
            backend: "tcp://127.0.0.1:*".into(),
            clients: 10,
            workers: 3,
            expect: None,
            timeout: Duration::from_secs(30),
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
            let number = |v: String| v.parse::<usize>().map_err(|e| format!("{flag} {v}: {e}"));
            match flag.as_str() {
                "--frontend" => opts.frontend = value()?,
                "--backend" => opts.backend = value()?,
                "--clients" => opts.clients = number(value()?)?,
                "--workers" => opts.workers = number(value()?)?,
                "--expect" => opts.expect = Some(number(value()?)?),
                "--timeout-secs" => opts.timeout = Duration::from_secs(number(value()?)? as u64),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if opts.clients == 0 && opts.expect.unwrap_or(0) == 0 {
            return Err("with --clients 0, say how many requests to serve with --expect N".into());
        }
        Ok(opts)
    }
}

/// A routing id for printing: as text when it is printable, else as hex.
fn show_id(id: &[u8]) -> String {
    if !id.is_empty() && id.iter().all(|b| b.is_ascii_graphic()) {
        String::from_utf8_lossy(id).into_owned()
    } else {
        id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// An in-process worker: "READY", then answers requests until the process ends.
async fn worker(mut socket: ReqSocket, name: String) -> monocoque::Result<()> {
    socket.send("READY").await?;
    loop {
        // [client id, "", request]: the REQ socket already took off the worker's own envelope.
        let mut msg = socket.recv().await?;
        let request = msg.pop_back().unwrap_or_default();
        let mut reply = String::from_utf8_lossy(&request).into_owned();
        reply.push_str(" -> done by ");
        reply.push_str(&name);
        msg.push_back(reply); // [client id, "", reply]
        socket.send(msg).await?;
    }
}

/// An in-process client: one request, one reply, whose prefix it checks. Returns the worker.
async fn client(mut socket: ReqSocket, name: String) -> monocoque::Result<String> {
    let request = format!("hello from {name}");
    socket.send(request.clone()).await?;
    let reply = socket.recv().await?;
    let reply = String::from_utf8_lossy(&reply.frames()[0]).into_owned();
    let worker = reply
        .strip_prefix(&format!("{request} -> done by "))
        .unwrap_or_else(|| panic!("{name}: reply {reply:?} is not for {request:?}"));
    socket.close().await;
    Ok(worker.to_owned())
}

/// The broker loop: returns once `expect` replies have gone back to clients.
async fn broker(
    frontend: &mut RouterSocket,
    backend: &mut RouterSocket,
    expect: usize,
    served: &AtomicUsize,
) -> monocoque::Result<BTreeMap<String, usize>> {
    let mut free_workers = VecDeque::<Bytes>::new();
    let mut per_worker = BTreeMap::<String, usize>::new();
    while served.load(Ordering::Relaxed) < expect {
        tokio::select! {
            // Always listen to workers.
            msg = backend.recv() => {
                let frames = msg?.into_frames();
                let [worker_id, delimiter, rest @ ..] = &frames[..] else {
                    eprintln!("broker: dropping a malformed worker message");
                    continue;
                };
                if !delimiter.is_empty() {
                    eprintln!("broker: dropping a worker message without a delimiter");
                    continue;
                }
                match rest {
                    [ready] if &ready[..] == b"READY" => {
                        println!("broker: worker {} is ready", show_id(worker_id));
                    }
                    [client_id, empty, reply @ ..] if empty.is_empty() && !reply.is_empty() => {
                        let mut to_client = Message::from_frames([client_id.clone(), Bytes::new()]);
                        reply.iter().for_each(|f| to_client.push_back(f.clone()));
                        frontend.send(to_client).await?;
                        served.fetch_add(1, Ordering::Relaxed);
                        *per_worker.entry(show_id(worker_id)).or_default() += 1;
                    }
                    _ => {
                        eprintln!("broker: dropping a malformed reply");
                        continue;
                    }
                }
                free_workers.push_back(worker_id.clone());
            }
            // Listen to clients only while a worker is free to take the request.
            msg = frontend.recv(), if !free_workers.is_empty() => {
                let mut msg = msg?; // [client id, "", request]
                let worker_id = free_workers.pop_front().expect("a free worker");
                msg.push_front(Bytes::new());
                msg.push_front(worker_id);
                backend.send(msg).await?;
            }
        }
    }
    Ok(per_worker)
}

async fn run(opts: Options, served: Arc<AtomicUsize>) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = monocoque::tokio::context();
    let mut frontend = RouterSocket::new(&ctx);
    // At the end, give the last replies up to a second to reach external clients.
    frontend.set_option(SocketOption::Linger(Some(Duration::from_secs(1))))?;
    let frontend_ep = frontend.bind(opts.frontend.as_str()).await?;
    let mut backend = RouterSocket::new(&ctx);
    backend.set_option(SocketOption::Linger(Some(Duration::ZERO)))?;
    let backend_ep = backend.bind(opts.backend.as_str()).await?;
    println!("FRONTEND {frontend_ep}");
    println!("BACKEND {backend_ep}");
    std::io::stdout().flush()?;

    let mut workers = Vec::new();
    for k in 1..=opts.workers {
        let name = format!("worker-{k}");
        let mut socket = ReqSocket::new(&ctx);
        socket.set_option(SocketOption::RoutingId(Bytes::from(name.clone())))?;
        socket.connect(&backend_ep).await?;
        workers.push(tokio::spawn(worker(socket, name)));
    }
    let mut clients = Vec::new();
    for k in 1..=opts.clients {
        let name = format!("client-{k}");
        let mut socket = ReqSocket::new(&ctx);
        socket.set_option(SocketOption::RoutingId(Bytes::from(name.clone())))?;
        socket.set_option(SocketOption::RcvTimeo(Some(opts.timeout)))?;
        socket.connect(&frontend_ep).await?;
        clients.push((name.clone(), tokio::spawn(client(socket, name))));
    }

    let expect = opts.expect.unwrap_or(opts.clients);
    let per_worker = broker(&mut frontend, &mut backend, expect, &served).await?;

    for (name, handle) in clients {
        let worker = handle.await.map_err(|e| format!("{name}: {e}"))??;
        println!("{name}: got its reply from {worker}");
    }
    for (worker, count) in &per_worker {
        println!("broker: {worker} handled {count} requests");
    }
    for handle in &workers {
        handle.abort();
    }
    frontend.close().await; // flushes replies to external clients
    backend.close().await;
    println!("done: {expect} requests served");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let opts = match Options::parse() {
        Ok(opts) => opts,
        Err(why) => {
            eprintln!("lb_broker: {why}");
            eprintln!(
                "usage: lb_broker [--frontend EP] [--backend EP] [--clients N] [--workers N] [--expect N] [--timeout-secs S]"
            );
            std::process::exit(2);
        }
    };
    let timeout = opts.timeout;
    let served = Arc::new(AtomicUsize::new(0));
    match tokio::time::timeout(timeout, run(opts, served.clone())).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "timed out after {timeout:?} with {} replies served",
            served.load(Ordering::Relaxed)
        )
        .into()),
    }
}
