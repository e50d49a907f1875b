#![no_main]
//! `plain_client`: see `monocoque_fuzz::plain_client`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("plain_client", data);
});
