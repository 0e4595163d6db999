//! A plugin built against a different plugin-api than the host's: the root module has
//! the same name and version but another layout (the constructor takes other
//! arguments). The host must refuse it with a one-line "ABI layout mismatch".

// abi_stable's derives emit impls inside consts, which this lint flags.
#![allow(non_local_definitions)]

include!("other_api.rs");
