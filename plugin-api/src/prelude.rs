//! Everything a plugin needs: `use monitoring_plugin_api::prelude::*;`.

pub use crate::{
    declare_collector, declare_sink, Alert, AlertLevel, AlertRecord, AlertState, Collector,
    Notification, PluginError, Sink, SinkEvent,
};
pub use serde::{Deserialize, Serialize};
