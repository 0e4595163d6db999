//! Temperatures on macOS, Windows and the BSDs, through sysinfo's components (SMC, WMI,
//! sysctl). These give no fans, and sysinfo's `max` is the highest reading seen rather
//! than a threshold, so `high` stays unknown.

use monitoring_plugin_api::sections::{Sensors, Temperature};
use sysinfo::Components;

/// The machine's components, refreshed each tick.
pub struct Source(Components);

impl Source {
    /// Lists the components; `None` when the OS gives none.
    pub fn open() -> Option<Self> {
        let components = Components::new_with_refreshed_list().ok()?;
        (!components.is_empty()).then_some(Self(components))
    }

    /// One tick's readings, sorted by chip then label.
    pub fn read(&mut self) -> Sensors {
        self.0.refresh(false);
        let mut temperatures: Vec<Temperature> = self
            .0
            .iter()
            .filter_map(|component| {
                let celsius = f64::from(component.temperature()?);
                celsius.is_finite().then(|| Temperature {
                    chip: component.id().unwrap_or(std::env::consts::OS).to_owned(),
                    label: component.label().to_owned(),
                    celsius: (celsius * 10.0).round() / 10.0,
                    high: None,
                    critical: component
                        .critical()
                        .map(f64::from)
                        .filter(|c| c.is_finite()),
                })
            })
            .collect();
        temperatures.sort_by(|a, b| (&a.chip, &a.label).cmp(&(&b.chip, &b.label)));
        Sensors {
            temperatures,
            fans: Vec::new(),
        }
    }
}
