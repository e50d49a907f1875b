//! Who runs a scenario: a [`Peer`] is one implementation (on one runtime),
//! both sides of every run; [`peers`] lists those a scenario can run that
//! the options ask for and the build has.

use monocoque_bench::args::{Impl, Runtime};
use monocoque_bench::imp::built_in;
use serde_json::{Map, Value, json};

use crate::options::Options;

/// Messages per batch of the batched rows ([`Peer::MonocoqueBatched`]): the `Sink`'s batch.
pub const BATCH: u64 = 256;

/// One implementation, on one runtime where that matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// libzmq through the `zmq` crate: the baseline.
    Libzmq,
    /// monocoque on a runtime.
    Monocoque(Runtime),
    /// monocoque on a runtime, its PUSH fed [`BATCH`] messages at a time through the `Sink`
    /// and flushed once per batch (`remote_thr --batch`): throughput rows of their own,
    /// never the default figure.
    MonocoqueBatched(Runtime),
    /// zmq.rs, always on tokio.
    Zeromq,
    /// omq (`omq-tokio`), always on tokio; throughput only.
    Omq,
    /// monocoque-rs (the public `monocoque-rs` crate, vorjdux/monocoque), on tokio; tcp
    /// throughput only.
    MonocoqueRs,
    /// monocoque-rs with write coalescing, flushed every [`BATCH`] messages: its batched
    /// sending, next to [`Peer::MonocoqueBatched`].
    MonocoqueRsCoalescing,
    /// Plain socket with ZMTP framing, perfectly batched: the loopback limit.
    Raw,
}

impl Peer {
    /// The perf tools' `--impl`/`--runtime` options for this peer.
    pub fn tool_args(self) -> Vec<String> {
        let mut args = vec!["--impl".into(), self.imp().name().into()];
        if let Peer::Monocoque(rt) | Peer::MonocoqueBatched(rt) = self {
            args.extend(["--runtime".into(), rt.name().into()]);
        }
        if let Peer::MonocoqueBatched(_) | Peer::MonocoqueRsCoalescing = self {
            args.extend(["--batch".into(), BATCH.to_string()]);
        }
        args
    }

    /// The implementation.
    pub fn imp(self) -> Impl {
        match self {
            Peer::Libzmq => Impl::Libzmq,
            Peer::Monocoque(_) | Peer::MonocoqueBatched(_) => Impl::Monocoque,
            Peer::Zeromq => Impl::Zeromq,
            Peer::Omq => Impl::Omq,
            Peer::MonocoqueRs | Peer::MonocoqueRsCoalescing => Impl::MonocoqueRs,
            Peer::Raw => Impl::Raw,
        }
    }

    /// The runtime, for the implementations that have one.
    pub fn runtime(self) -> Option<Runtime> {
        match self {
            Peer::Monocoque(rt) | Peer::MonocoqueBatched(rt) => Some(rt),
            Peer::Zeromq | Peer::Omq | Peer::MonocoqueRs | Peer::MonocoqueRsCoalescing => {
                Some(Runtime::Tokio)
            }
            Peer::Libzmq | Peer::Raw => None,
        }
    }

    /// The name in tables and charts.
    pub fn label(self) -> String {
        match self {
            Peer::Libzmq => "libzmq".into(),
            Peer::Monocoque(rt) => format!("monocoque/{rt}"),
            Peer::MonocoqueBatched(rt) => format!("monocoque/{rt} batched"),
            Peer::Zeromq => "zmq.rs/tokio".into(),
            Peer::Omq => "omq/tokio".into(),
            Peer::MonocoqueRs => "monocoque-rs/tokio".into(),
            Peer::MonocoqueRsCoalescing => "monocoque-rs/tokio coalescing".into(),
            Peer::Raw => "raw socket (limit)".into(),
        }
    }

    /// The fixed colour in every chart (`#rrggbb`).
    pub fn color(self) -> &'static str {
        match self {
            Peer::Libzmq => "#4d4d4d",
            Peer::Monocoque(Runtime::Tokio) => "#1f77b4",
            Peer::Monocoque(Runtime::AsyncStd) => "#17becf",
            Peer::Monocoque(Runtime::Smol) => "#2ca02c",
            Peer::Monocoque(Runtime::TokioCurrentThread) => "#aec7e8",
            Peer::Monocoque(Runtime::SmolSingleThread) => "#98df8a",
            Peer::MonocoqueBatched(Runtime::Tokio) => "#393b79",
            Peer::MonocoqueBatched(Runtime::AsyncStd) => "#6b6ecf",
            Peer::MonocoqueBatched(Runtime::Smol) => "#637939",
            Peer::MonocoqueBatched(Runtime::TokioCurrentThread) => "#9c9ede",
            Peer::MonocoqueBatched(Runtime::SmolSingleThread) => "#b5cf6b",
            Peer::Zeromq => "#ff7f0e",
            Peer::Omq => "#8c564b",
            Peer::MonocoqueRs => "#e377c2",
            Peer::MonocoqueRsCoalescing => "#f7b6d2",
            Peer::Raw => "#bcbcbc",
        }
    }

    /// Who ran, as JSON fields: `impl` and `runtime`, and `batch` for the batched rows.
    pub fn json(self) -> Map<String, Value> {
        let mut fields =
            json!({"impl": self.imp().name(), "runtime": self.runtime().map(Runtime::name)});
        if let Peer::MonocoqueBatched(_) | Peer::MonocoqueRsCoalescing = self {
            fields["batch"] = json!(BATCH);
        }
        fields.as_object().cloned().unwrap_or_default()
    }
}

/// The peers on the implementations `of` that the options ask for and the
/// build has, in report order: libzmq, monocoque on each runtime of
/// `--runtimes` (the one-thread set-ups only with `one_thread`), zmq.rs,
/// omq, monocoque-rs, raw.
pub fn peers(opts: &Options, of: &[Impl], one_thread: bool) -> Vec<Peer> {
    let order = [
        Impl::Libzmq,
        Impl::Monocoque,
        Impl::Zeromq,
        Impl::Omq,
        Impl::MonocoqueRs,
        Impl::Raw,
    ];
    let wanted = |imp: &Impl| of.contains(imp) && opts.impls.contains(imp) && built_in(*imp);
    let mut out = Vec::new();
    for imp in order.into_iter().filter(wanted) {
        match imp {
            Impl::Libzmq => out.push(Peer::Libzmq),
            Impl::Monocoque => out.extend(
                (opts.runtimes.iter())
                    .filter(|rt| one_thread || !rt.is_single_thread())
                    .map(|&rt| Peer::Monocoque(rt)),
            ),
            Impl::Zeromq => out.push(Peer::Zeromq),
            Impl::Omq => out.push(Peer::Omq),
            Impl::MonocoqueRs => out.push(Peer::MonocoqueRs),
            Impl::Raw => out.push(Peer::Raw),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_lists() {
        let m = Peer::Monocoque(Runtime::AsyncStd);
        assert_eq!(m.label(), "monocoque/async-std");
        assert_eq!(
            m.tool_args(),
            ["--impl", "monocoque", "--runtime", "async-std"]
        );
        let batched = Peer::MonocoqueBatched(Runtime::Tokio);
        assert_eq!(batched.label(), "monocoque/tokio batched");
        assert_eq!(
            batched.tool_args(),
            [
                "--impl",
                "monocoque",
                "--runtime",
                "tokio",
                "--batch",
                "256"
            ]
        );
        assert_eq!(batched.json()["batch"], json!(256));
        assert_eq!(Peer::Omq.label(), "omq/tokio");
        assert_eq!(Peer::Omq.tool_args(), ["--impl", "omq"]);
        assert_ne!(Peer::Omq.color(), Peer::Zeromq.color());
        assert_eq!(
            Value::Object(m.json()),
            json!({"impl": "monocoque", "runtime": "async-std"})
        );
        let opts = Options::from_args(["--runtimes=smol,tokio-current-thread".into()]).unwrap();
        let all = [Impl::Raw, Impl::Monocoque];
        let smol = Peer::Monocoque(Runtime::Smol);
        assert_eq!(peers(&opts, &all, false), [smol, Peer::Raw]);
        let one = Peer::Monocoque(Runtime::TokioCurrentThread);
        assert_eq!(peers(&opts, &all, true), [smol, one, Peer::Raw]);
    }
}
