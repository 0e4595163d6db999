//! `declare_collector!` and `declare_sink!`: the one line that turns a type into a
//! loadable plugin.
//!
//! They emit the library header `abi_stable` looks for, spelled with `$crate` paths so
//! that plugin crates need no direct `abi_stable` dependency. The exported symbol name
//! is pinned by a test against `abi_stable::library::ROOT_MODULE_LOADER_NAME`. They also
//! implement [`Exported`](crate::Exported) for the declared type, so that the contract
//! checks of [`testing`](crate::testing) call the very root module the host loads.

/// Exports a [`Collector`](crate::Collector) implementation as this library's plugin.
#[macro_export]
macro_rules! declare_collector {
    ($collector:ty) => {
        $crate::__declare_plugin!(
            $crate::collector_metadata::<$collector>(env!("CARGO_PKG_VERSION")),
            $crate::collector_module::<$collector>,
            $collector
        );
    };
}

/// Exports a [`Sink`](crate::Sink) implementation as this library's plugin.
#[macro_export]
macro_rules! declare_sink {
    ($sink:ty) => {
        $crate::__declare_plugin!(
            $crate::sink_metadata::<$sink>(env!("CARGO_PKG_VERSION")),
            $crate::sink_module::<$sink>,
            $sink
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __declare_plugin {
    ($metadata:expr, $module:path, $plugin:ty) => {
        extern "C" fn __monitoring_plugin_metadata() -> $crate::PluginMetadata {
            $metadata
        }

        #[doc(hidden)]
        pub fn __monitoring_plugin_root() -> $crate::PluginModRef {
            $module(__monitoring_plugin_metadata)
        }

        // The same function the library header below calls, so tests (see
        // `monitoring_plugin_api::testing`) go through exactly what the host loads.
        impl $crate::Exported for $plugin {
            fn root_module() -> $crate::PluginModRef {
                __monitoring_plugin_root()
            }
        }

        /// The library header the host's loader reads (see `abi_stable::library`).
        #[doc(hidden)]
        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static __MONITORING_PLUGIN_HEADER: $crate::abi_stable::library::LibHeader = {
            extern "C" fn erased_root_module() -> $crate::abi_stable::library::RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader(__monitoring_plugin_root)
            }
            // SAFETY: `erased_root_module` returns the `PluginModRef` whose layout is
            // recorded here, exactly as `#[export_root_module]` would generate.
            unsafe {
                $crate::abi_stable::library::LibHeader::from_constructor::<$crate::PluginModRef>(
                    erased_root_module,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn exported_symbol_is_the_one_abi_stable_looks_for() {
        assert_eq!(
            abi_stable::library::ROOT_MODULE_LOADER_NAME,
            "_1as_0lib_1header_0root_bmodule_bloader"
        );
    }
}
