//! A library whose constructor sleeps forever the moment it is loaded, before any
//! abi_stable check can run: the server must refuse it ("timed out … while loading")
//! from a probe child it kills at the deadline, and keep streaming meanwhile.

/// Runs when the dynamic loader maps the library (`.init_array`), like a C constructor,
/// and never returns: `dlopen` of this file hangs.
extern "C" fn hang_on_load() {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

#[used]
#[cfg_attr(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    link_section = ".init_array"
)]
#[cfg_attr(target_vendor = "apple", link_section = "__DATA,__mod_init_func")]
static HANG_ON_LOAD: extern "C" fn() = hang_on_load;
