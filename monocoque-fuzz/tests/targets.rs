//! The fuzz targets as property tests: a short, bounded run of each inside the normal suite
//! (random inputs, plus inputs grown from valid handshakes, where random bytes would rarely get
//! past the greeting). `cargo xtask fuzz` runs the same targets under libFuzzer for as long as
//! it is given.

use monocoque_fuzz::{TARGETS, run};
use proptest::prelude::*;

/// A ZMTP 3.1 greeting for `mechanism`, as-server octet `server`.
fn greeting(mechanism: &[u8], server: bool) -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 1;
    g[12..12 + mechanism.len()].copy_from_slice(mechanism);
    g[32] = u8::from(server);
    g
}

/// Valid-looking starts for the handshake targets, which the strategies then mutate.
fn seeds() -> Vec<Vec<u8>> {
    let ready = b"\x04\x1c\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER".to_vec();
    let mut null = greeting(b"NULL", false);
    null.extend(&ready);
    null.extend(b"\x00\x03abc\x01\x00\x00\x01x");
    let mut plain = greeting(b"PLAIN", false);
    plain.extend(b"\x04\x13\x05HELLO\x05admin\x06secret");
    plain.extend(b"\x04\x1c\x08INITIATE\x0bSocket-Type\x00\x00\x00\x03REQ");
    let curve = greeting(b"CURVE", false);
    vec![null, plain, curve, Vec::new()]
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds();
    (
        0..seeds.len(),
        any::<u8>(),
        proptest::collection::vec((any::<u16>(), any::<u8>()), 0..8),
    )
        .prop_map(move |(i, read, edits)| {
            let mut data = vec![read];
            data.extend(&seeds[i]);
            for (at, byte) in edits {
                if !data.is_empty() {
                    let at = usize::from(at) % data.len();
                    data[at] = byte;
                }
            }
            data
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(target in 0..TARGETS.len(), data in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(run(TARGETS[target], &data));
    }

    #[test]
    fn mutated_handshakes(target in 3..9usize, data in mutated()) {
        prop_assert!(run(TARGETS[target], &data));
    }
}

#[test]
fn every_target_runs_on_empty_and_seed_inputs() {
    for target in TARGETS {
        for seed in seeds() {
            assert!(run(target, &seed), "{target}");
        }
    }
    assert!(!run("no-such-target", b""));
}

#[test]
fn seeds_reach_the_data_phase() {
    use monocoque_core::SocketType;
    use monocoque_zmtp::proto::{NullMechanism, PlainServer};
    let seeds = seeds();
    let with_read_size = |seed: &Vec<u8>| [&[7u8][..], seed].concat();
    let null = monocoque_fuzz::drive(
        SocketType::Router,
        false,
        Box::new(NullMechanism),
        &with_read_size(&seeds[0]),
    );
    assert_eq!(null, 2, "the NULL seed's two messages arrive");
    // PLAIN: HELLO and INITIATE accepted; the server's READY then ends the handshake.
    let plain = monocoque_fuzz::drive(
        SocketType::Rep,
        true,
        Box::new(PlainServer::new(true)),
        &[with_read_size(&seeds[1]), b"\x00\x00\x00\x02hi".to_vec()].concat(),
    );
    assert!(plain > 0, "the PLAIN seed gets to the data phase");
}

#[test]
fn the_committed_corpus_passes() {
    // fuzz/corpus/<target>/: the seeds, and every input that once found a bug.
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut inputs = 0;
    for target in TARGETS {
        let Ok(dir) = std::fs::read_dir(corpus.join(target)) else {
            continue;
        };
        for entry in dir {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(run(target, &data));
            inputs += 1;
        }
    }
    assert!(
        inputs >= TARGETS.len(),
        "the corpus is missing ({inputs} inputs)"
    );
}
