#![no_main]
//! `endpoint`: see `monocoque_fuzz::endpoint`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("endpoint", data);
});
