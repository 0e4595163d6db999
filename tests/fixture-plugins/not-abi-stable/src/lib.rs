//! A perfectly good shared library that is not a monitoring plugin: it has no
//! abi_stable root module, so the host must refuse it by name.

/// Something a C program might call.
#[unsafe(no_mangle)]
pub extern "C" fn fixture_answer() -> i32 {
    42
}
