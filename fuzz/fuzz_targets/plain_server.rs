#![no_main]
//! `plain_server`: see `monocoque_fuzz::plain_server`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("plain_server", data);
});
