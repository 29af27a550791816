//! The one integration-test binary (each extra `tests/*.rs` file would be another binary to
//! link, and linking is slow on the build machines).

mod transcripts;
mod e2e;
mod faults;
