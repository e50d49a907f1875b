//! Who runs on each side of a run: a [`Peer`] is one implementation (on one
//! runtime), a [`Variant`] the receiving and the sending peer of a
//! throughput run, both [`Contender`]s of the reports; [`variants`]
//! (throughput), [`peers`] (latency) and [`scenario_peers`] (fan-out,
//! router) list those the options ask for and the build has.

use monocoque_bench::args::{Impl, Runtime};
use monocoque_bench::imp::built_in;
use serde_json::{Map, Value, json};

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
        let mut args = vec!["--impl".into(), self.imp().name().into()];
        if let Peer::Monocoque(rt) = self {
            args.extend(["--runtime".into(), rt.name().into()]);
        }
        args
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

    /// libzmq on both sides: what the ratios compare against.
    pub fn is_libzmq_baseline(self) -> bool {
        self.recv == Peer::Libzmq && self.send == Peer::Libzmq
    }
}

/// What the reports need of a series (a [`Peer`] or a [`Variant`]).
pub trait Contender: Copy + PartialEq {
    /// The name in tables and charts.
    fn label(self) -> String;
    /// The fixed colour in every chart (`#rrggbb`).
    fn color(self) -> &'static str;
    /// libzmq (on both sides): what the ratios divide by.
    fn is_baseline(self) -> bool;
    /// Who ran, as JSON fields: `impl` and `runtime`, or `receiver` and
    /// `sender`.
    fn json(self) -> Map<String, Value>;
}

impl Contender for Peer {
    fn label(self) -> String {
        match self {
            Peer::Libzmq => "libzmq".into(),
            Peer::Monocoque(rt) => format!("monocoque/{rt}"),
            Peer::Zeromq => "zmq.rs/tokio".into(),
            Peer::Omq => "omq/tokio".into(),
            Peer::Raw => "raw socket (limit)".into(),
        }
    }

    fn color(self) -> &'static str {
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

    fn is_baseline(self) -> bool {
        self == Peer::Libzmq
    }

    fn json(self) -> Map<String, Value> {
        let fields =
            json!({"impl": self.imp().name(), "runtime": self.runtime().map(Runtime::name)});
        fields.as_object().cloned().unwrap_or_default()
    }
}

impl Contender for Variant {
    /// The peer, or `receiver<-sender` (like "PULL <- PUSH").
    fn label(self) -> String {
        if self.recv == self.send {
            self.recv.label()
        } else {
            format!("{}<-{}", self.recv.label(), self.send.label())
        }
    }

    /// The peer's, or a colour of its own for a mixed pair.
    fn color(self) -> &'static str {
        match (self.recv, self.send) {
            (r, s) if r == s => r.color(),
            (Peer::Libzmq, _) => "#9467bd",
            _ => "#d62728",
        }
    }

    fn is_baseline(self) -> bool {
        self.is_libzmq_baseline()
    }

    fn json(self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("receiver".into(), Value::Object(self.recv.json()));
        fields.insert("sender".into(), Value::Object(self.send.json()));
        fields
    }
}

/// Whether the options ask for `imp` and the build has it; a note when
/// asked for but not built in.
fn wanted(opts: &Options, imp: Impl, notes: &mut Vec<String>) -> bool {
    if !opts.impls.contains(&imp) {
        return false;
    }
    let built = built_in(imp);
    if !built {
        notes.push(format!(
            "{imp} rows skipped: built without the `{}` feature of monocoque-bench",
            imp.feature()
        ));
    }
    built
}

/// The throughput variants the options ask for, in report order; a note
/// for each implementation asked for but not built in.
pub fn variants(opts: &Options, notes: &mut Vec<String>) -> Vec<Variant> {
    let peers = peers(opts, notes);
    let mut out: Vec<Variant> = peers.iter().map(|&p| Variant::same(p)).collect();
    for (imp, peer) in [(Impl::Zeromq, Peer::Zeromq), (Impl::Omq, Peer::Omq)] {
        if wanted(opts, imp, notes) {
            out.push(Variant::same(peer));
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
    if wanted(opts, Impl::Libzmq, notes) {
        out.push(Peer::Libzmq);
    }
    if wanted(opts, Impl::Monocoque, notes) {
        out.extend(opts.runtimes.iter().map(|&rt| Peer::Monocoque(rt)));
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
    if wanted(opts, Impl::Zeromq, notes) {
        out.push(Peer::Zeromq);
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
        let json = Value::Object(v.json());
        assert_eq!(
            json["receiver"],
            json!({"impl": "monocoque", "runtime": "async-std"})
        );
        assert_eq!(json["sender"], json!({"impl": "libzmq", "runtime": null}));
    }
}
