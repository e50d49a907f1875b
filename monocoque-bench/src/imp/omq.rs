//! The throughput tools on omq (the `omq-tokio` crate), on tokio.
//!
//! Sockets are made with `Socket::new(.., Options::default())`, which runs
//! their driver tasks on the caller's tokio runtime (a multi-thread one
//! here, as for zmq.rs); `--runtime` is ignored. Messages go out without any
//! flush call: `send` queues a message for the driver, which writes it.
//!
//! omq's linger defaults to zero, unlike libzmq's (forever): closing or
//! dropping a socket discards what it has not written yet. `remote_thr`
//! therefore gives its PUSH socket a linger of [`LINGER`], the one option
//! changed from the defaults, which only matters at close, and closes it
//! explicitly, as omq's documentation says a sender that must deliver
//! everything does.
//!
//! With `--curve` the PULL socket is a CURVE server
//! (`Options::curve_server`, no admission callback: any client that proves
//! its key) and the PUSH socket its client (`Options::curve_client`).

use std::time::{Duration, Instant};

use omq_tokio::{
    CurveKeypair, CurvePublicKey, CurveSecretKey, Message, Options, Socket, SocketType,
};

use super::{Implementation, Job};
use crate::Result;
use crate::curve::CurveKeys;
use crate::output::Throughput;

/// How long `remote_thr`'s close waits for queued messages to be written.
pub const LINGER: Duration = Duration::from_secs(120);

/// omq, on tokio (throughput tools only).
#[derive(Debug, Clone, Copy, Default)]
pub struct Omq;

/// The key pair of Z85 `public` and `secret`.
fn keypair(public: &str, secret: &str) -> Result<CurveKeypair> {
    Ok(CurveKeypair {
        public: CurvePublicKey::from_z85(public)?,
        secret: CurveSecretKey::from_z85(secret)?,
    })
}

/// `options` as the CURVE server of `keys`, when there are keys.
fn server(options: Options, keys: Option<&CurveKeys>) -> Result<Options> {
    Ok(match keys {
        Some(k) => options.curve_server(keypair(&k.server_public, &k.server_secret)?),
        None => options,
    })
}

/// `options` as the CURVE client of `keys`, when there are keys.
fn client(options: Options, keys: Option<&CurveKeys>) -> Result<Options> {
    Ok(match keys {
        Some(k) => {
            let ours = keypair(&k.client_public, &k.client_secret)?;
            options.curve_client(ours, CurvePublicKey::from_z85(&k.server_public)?)
        }
        None => options,
    })
}

impl Implementation for Omq {
    fn local_thr(&self, job: Job<'_>) -> Result<Throughput> {
        crate::block_on_tokio(async {
            let pull = Socket::new(SocketType::Pull, server(Options::default(), job.curve)?);
            pull.bind(job.endpoint).await?;
            let first = pull.recv().await?;
            crate::check_size(first.byte_len(), job.size)?;
            let start = Instant::now();
            for _ in 1..job.count {
                let msg = pull.recv().await?;
                crate::check_size(msg.byte_len(), job.size)?;
            }
            let elapsed = start.elapsed();
            pull.close().await?;
            Ok(Throughput::new(job, elapsed))
        })
    }

    /// Sends a fresh buffer per message, then closes the socket, waiting up
    /// to [`LINGER`] for the queued messages to be written.
    fn remote_thr(&self, job: Job<'_>) -> Result<()> {
        crate::block_on_tokio(async {
            let options = client(Options::default().linger(LINGER), job.curve)?;
            let push = Socket::new(SocketType::Push, options);
            push.connect(job.endpoint).await?;
            for _ in 0..job.count {
                push.send(Message::single(crate::zeroed_body(job.size)))
                    .await?;
            }
            let closing = Instant::now();
            push.close().await?;
            // A close whose linger ran out returns Ok too, having dropped the rest.
            if closing.elapsed() >= LINGER {
                return Err(format!(
                    "queued messages were still unwritten {} s after the last send",
                    LINGER.as_secs()
                )
                .into());
            }
            Ok(())
        })
    }
}
