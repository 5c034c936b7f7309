//! Feeds arbitrary bytes, starting from seeds of Apple .mobileconfig files (XML and binary property lists, CMS-signed), to the profile import
//! (format detection, parsing, mapping, certificate checks, validation); see
//! `profile_common.rs` for what is checked.

#![no_main]

#[path = "profile_common.rs"]
mod profile_common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| profile_common::check(data));
