//! abi_stable identifies a type by its crate name, its name and its version. This
//! crate's root module stands for plugin-api 1.0's, so it is compiled under that crate
//! name (`make_item_info!` reads `CARGO_PKG_NAME`); the version, 1.0.0, is this
//! package's own. Nothing else in the crate reads the name.
fn main() {
    println!("cargo:rustc-env=CARGO_PKG_NAME=monitoring-plugin-api");
    println!("cargo:rerun-if-changed=build.rs");
}
