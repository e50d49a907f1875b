//! ACCEPT_FAILED: with the process out of file descriptors, accepting fails; the monitor says
//! so, the listener pauses and goes on, and the connection waiting in the backlog is accepted
//! once descriptors are free again.
//!
//! One test for the three runtimes, run one after the other: the file limit is the process's.

mod common;

use common::*;
use monocoque::{Context, PullSocket, SocketEvent};
use std::io::Write;
use std::process::{Command, Stdio};

/// The lowest file descriptor number not in use (the one a new file gets): with the soft
/// limit there, the next one the process opens fails with EMFILE.
fn lowest_free_fd() -> u64 {
    use std::os::fd::AsRawFd;
    let probe = std::fs::File::open("/dev/null").unwrap();
    probe.as_raw_fd() as u64
}

async fn accept_fails_while_out_of_descriptors(ctx: Context) -> TestResult {
    let mut pull = PullSocket::new(&ctx);
    let mut events = pull.monitor();
    let ep = pull.bind("tcp://127.0.0.1:*").await?;
    let port = ep.to_string().rsplit(':').next().unwrap().to_owned();
    // A client in another process, told when to connect (its descriptors are its own).
    let mut client = Command::new("bash")
        .arg("-c")
        .arg(format!("read; exec 3<>/dev/tcp/127.0.0.1/{port}; read"))
        .stdin(Stdio::piped())
        .spawn()?;
    let mut tell = client.stdin.take().unwrap();
    let normal = soft_open_files();
    set_soft_open_files(lowest_free_fd());
    tell.write_all(b"go\n")?;
    let failed = wait_event(&mut events, |e| match e {
        SocketEvent::AcceptFailed { error, .. } => Some(error),
        _ => None,
    })
    .await;
    set_soft_open_files(normal);
    assert_eq!(failed.raw_os_error(), Some(libc::EMFILE), "{failed}");
    // Descriptors again: the waiting connection is accepted.
    wait_event(&mut events, |e| {
        matches!(e, SocketEvent::Accepted { .. }).then_some(())
    })
    .await;
    drop(tell);
    client.wait()?;
    pull.close().await;
    Ok(())
}

#[test]
fn accept_failed_on_every_runtime() {
    run_tokio(
        "accept_failed::tokio",
        accept_fails_while_out_of_descriptors,
    );
    run_async_std(
        "accept_failed::async_std",
        accept_fails_while_out_of_descriptors,
    );
    run_smol("accept_failed::smol", accept_fails_while_out_of_descriptors);
}
