#![no_main]
//! `frame_decoder`: see `monocoque_fuzz::frame_decoder`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    monocoque_fuzz::run("frame_decoder", data);
});
