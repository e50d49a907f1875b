#![no_main]
//! `z85`: see `monocoque_fuzz::z85_round_trip`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("z85", data);
});
