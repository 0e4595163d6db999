//! A plugin built against plugin-api 0.9, an incompatible major version (the root
//! module is the changed-layout fixture's; only the version differs). The host must
//! refuse it for its version, before looking at the layout.

// abi_stable's derives emit impls inside consts, which this lint flags.
#![allow(non_local_definitions)]

include!("../../changed-layout/src/other_api.rs");
