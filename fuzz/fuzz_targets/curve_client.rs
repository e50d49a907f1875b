#![no_main]
//! `curve_client`: see `monocoque_fuzz::curve_client`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("curve_client", data);
});
