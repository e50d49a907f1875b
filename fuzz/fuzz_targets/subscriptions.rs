#![no_main]
//! `subscriptions`: see `monocoque_fuzz::subscriptions`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("subscriptions", data);
});
