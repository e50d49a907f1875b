//! Who runs on each side of a run: a [`Peer`] is one implementation (on one
//! runtime), a [`Variant`] the receiving and the sending peer of a
//! throughput run; [`variants`] (throughput), [`peers`] (latency) and
//! [`scenario_peers`] (fan-out, router) list those the options ask for and
//! the build has.

use monocoque_bench::args::{Impl, Runtime};
use monocoque_bench::imp::built_in;

use crate::options::Options;

/// One implementation, on one runtime where that matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// libzmq through the `zmq` crate: the baseline.
    Libzmq,
    /// monocoque on a runtime.
    Monocoque(Runtime),
    /// zmq.rs, always on tokio.
    Zeromq,
    /// omq (`omq-tokio`), always on tokio; throughput only.
    Omq,
    /// Plain socket with ZMTP framing, perfectly batched: the loopback limit.
    Raw,
}

impl Peer {
    /// The perf tools' `--impl`/`--runtime` options for this peer.
    pub fn tool_args(self) -> Vec<String> {
        match self {
            Peer::Libzmq => vec!["--impl".into(), "libzmq".into()],
            Peer::Monocoque(rt) => vec![
                "--impl".into(),
                "monocoque".into(),
                "--runtime".into(),
                rt.name().into(),
            ],
            Peer::Zeromq => vec!["--impl".into(), "zeromq".into()],
            Peer::Omq => vec!["--impl".into(), "omq".into()],
            Peer::Raw => vec!["--impl".into(), "raw".into()],
        }
    }

    /// The name in tables and charts.
    pub fn label(self) -> String {
        match self {
            Peer::Libzmq => "libzmq".into(),
            Peer::Monocoque(rt) => format!("monocoque/{rt}"),
            Peer::Zeromq => "zmq.rs/tokio".into(),
            Peer::Omq => "omq/tokio".into(),
            Peer::Raw => "raw socket (limit)".into(),
        }
    }

    /// The implementation.
    pub fn imp(self) -> Impl {
        match self {
            Peer::Libzmq => Impl::Libzmq,
            Peer::Monocoque(_) => Impl::Monocoque,
            Peer::Zeromq => Impl::Zeromq,
            Peer::Omq => Impl::Omq,
            Peer::Raw => Impl::Raw,
        }
    }

    /// The runtime, for the implementations that have one.
    pub fn runtime(self) -> Option<Runtime> {
        match self {
            Peer::Libzmq => None,
            Peer::Monocoque(rt) => Some(rt),
            Peer::Zeromq | Peer::Omq => Some(Runtime::Tokio),
            Peer::Raw => None,
        }
    }

    /// The peer's fixed colour in every chart (`#rrggbb`).
    pub fn color(self) -> &'static str {
        match self {
            Peer::Libzmq => "#4d4d4d",
            Peer::Monocoque(Runtime::Tokio) => "#1f77b4",
            Peer::Monocoque(Runtime::AsyncStd) => "#17becf",
            Peer::Monocoque(Runtime::Smol) => "#2ca02c",
            Peer::Monocoque(Runtime::TokioCurrentThread) => "#aec7e8",
            Peer::Monocoque(Runtime::SmolSingleThread) => "#98df8a",
            Peer::Zeromq => "#ff7f0e",
            Peer::Omq => "#8c564b",
            Peer::Raw => "#bcbcbc",
        }
    }
}

/// The two sides of a throughput run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    /// The receiver (PULL, `local_thr`, binds).
    pub recv: Peer,
    /// The sender (PUSH, `remote_thr`, connects).
    pub send: Peer,
}

impl Variant {
    /// Both sides on `peer`.
    pub fn same(peer: Peer) -> Variant {
        Variant {
            recv: peer,
            send: peer,
        }
    }

    /// The name in tables and charts: the peer, or `receiver<-sender`.
    pub fn label(self) -> String {
        if self.recv == self.send {
            self.recv.label()
        } else {
            // Receiver first, like "PULL <- PUSH".
            format!("{}<-{}", self.recv.label(), self.send.label())
        }
    }

    /// libzmq on both sides: what the ratios compare against.
    pub fn is_libzmq_baseline(self) -> bool {
        self.recv == Peer::Libzmq && self.send == Peer::Libzmq
    }

    /// The chart colour: the peer's, or a colour of its own for a mixed pair.
    pub fn color(self) -> &'static str {
        match (self.recv, self.send) {
            (r, s) if r == s => r.color(),
            (Peer::Libzmq, _) => "#9467bd",
            _ => "#d62728",
        }
    }
}

/// The throughput variants the options ask for, in report order; a note
/// for each implementation asked for but not built in.
pub fn variants(opts: &Options, notes: &mut Vec<String>) -> Vec<Variant> {
    let mut out = Vec::new();
    let peers = peers(opts, notes);
    let have_libzmq = peers.contains(&Peer::Libzmq);
    for &p in &peers {
        if matches!(p, Peer::Libzmq | Peer::Monocoque(_)) {
            out.push(Variant::same(p));
        }
    }
    if let Some(&p) = peers.iter().find(|p| matches!(p, Peer::Monocoque(_)))
        && opts.mixed
        && have_libzmq
    {
        out.push(Variant {
            recv: p,
            send: Peer::Libzmq,
        });
        out.push(Variant {
            recv: Peer::Libzmq,
            send: p,
        });
    }
    if opts.impls.contains(&Impl::Zeromq) {
        if built_in(Impl::Zeromq) {
            out.push(Variant::same(Peer::Zeromq));
        } else {
            notes.push(
                "zmq.rs rows skipped: built without the `zeromq` feature of monocoque-bench".into(),
            );
        }
    }
    if opts.impls.contains(&Impl::Omq) {
        if built_in(Impl::Omq) {
            out.push(Variant::same(Peer::Omq));
        } else {
            notes.push(
                "omq rows skipped: built without the `omq` feature of monocoque-bench".into(),
            );
        }
    }
    if opts.impls.contains(&Impl::Raw) {
        out.push(Variant::same(Peer::Raw));
    }
    out
}

/// libzmq and monocoque on each runtime, as asked for and built: the peers
/// of the latency scenario (the latency tools run on nothing else: not on
/// zmq.rs, omq or the raw socket). Adds a note for each one asked for but
/// not built in.
pub fn peers(opts: &Options, notes: &mut Vec<String>) -> Vec<Peer> {
    let mut out = Vec::new();
    let want_libzmq = opts.impls.contains(&Impl::Libzmq);
    let want_mono = opts.impls.contains(&Impl::Monocoque);
    if want_libzmq && built_in(Impl::Libzmq) {
        out.push(Peer::Libzmq);
    } else if want_libzmq {
        notes.push(
            "libzmq rows skipped: built without the `libzmq` feature of monocoque-bench".into(),
        );
    }
    if want_mono && built_in(Impl::Monocoque) {
        out.extend(opts.runtimes.iter().map(|&rt| Peer::Monocoque(rt)));
    } else if want_mono {
        notes.push(
            "monocoque rows skipped: built without the `monocoque-impl` feature of monocoque-bench"
                .into(),
        );
    }
    out
}

/// The [`peers`] and zmq.rs, as asked for and built: the peers of the
/// PUB/SUB fan-out and ROUTER <-> DEALERs scenarios (their tools run on
/// libzmq, monocoque and zmq.rs; not on omq or the raw socket). Adds a note
/// for each one asked for but not built in.
pub fn scenario_peers(opts: &Options, notes: &mut Vec<String>) -> Vec<Peer> {
    let mut out = peers(opts, notes);
    // Their tools spawn a task per socket with the runtime's global spawn function, which the
    // one-thread set-ups do not have.
    out.retain(|p| !matches!(p, Peer::Monocoque(rt) if rt.is_single_thread()));
    if opts.impls.contains(&Impl::Zeromq) {
        if built_in(Impl::Zeromq) {
            out.push(Peer::Zeromq);
        } else {
            notes.push(
                "zmq.rs rows skipped: built without the `zeromq` feature of monocoque-bench".into(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let m = Peer::Monocoque(Runtime::AsyncStd);
        let v = Variant {
            recv: m,
            send: Peer::Libzmq,
        };
        assert_eq!(v.label(), "monocoque/async-std<-libzmq");
        assert!(!v.is_libzmq_baseline());
        assert!(Variant::same(Peer::Libzmq).is_libzmq_baseline());
        assert_eq!(
            m.tool_args(),
            ["--impl", "monocoque", "--runtime", "async-std"]
        );
        assert_eq!(Variant::same(m).color(), m.color());
        assert_eq!(Peer::Omq.label(), "omq/tokio");
        assert_eq!(Peer::Omq.tool_args(), ["--impl", "omq"]);
        assert_eq!(Peer::Omq.imp(), Impl::Omq);
        assert_ne!(Peer::Omq.color(), Peer::Zeromq.color());
    }
}
