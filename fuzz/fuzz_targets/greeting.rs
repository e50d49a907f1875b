#![no_main]
//! `greeting`: see `monocoque_fuzz::greeting`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("greeting", data);
});
