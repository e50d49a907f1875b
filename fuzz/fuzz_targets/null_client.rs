#![no_main]
//! `null_client`: see `monocoque_fuzz::null_client`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("null_client", data);
});
