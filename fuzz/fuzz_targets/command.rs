#![no_main]
//! `command`: see `monocoque_fuzz::command`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("command", data);
});
