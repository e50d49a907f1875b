#![no_main]
//! `curve_server`: see `monocoque_fuzz::curve_server`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("curve_server", data);
});
