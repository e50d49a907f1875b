#![no_main]
//! `null_server`: see `monocoque_fuzz::null_server`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("null_server", data);
});
