//! A library whose constructor calls `abort()` the moment it is loaded, before any
//! abi_stable check can run: the server must refuse it ("crashed while loading:
//! SIGABRT") from a probe child and survive.

/// Runs when the dynamic loader maps the library (`.init_array`), like a C constructor.
extern "C" fn abort_on_load() {
    std::process::abort();
}

#[used]
#[cfg_attr(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    link_section = ".init_array"
)]
#[cfg_attr(target_vendor = "apple", link_section = "__DATA,__mod_init_func")]
static ABORT_ON_LOAD: extern "C" fn() = abort_on_load;
