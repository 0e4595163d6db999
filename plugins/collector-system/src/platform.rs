//! Where each fact comes from on each operating system.

use std::io;

use serde::Serialize;
use sysinfo::System;

/// Facts about the machine that do not change while it runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    /// `Linux`, `Windows`, `Darwin`…
    pub os_name: String,
    /// The kernel's build string (`uname -v`).
    pub os_version: String,
    /// The kernel release (`uname -r`).
    pub os_release: String,
    /// Instruction set, e.g. `x86_64`.
    pub architecture: String,
    /// Hardware type (`uname -m`).
    pub machine: String,
    /// Processor model name.
    pub processor: String,
    /// Host name.
    pub hostname: String,
}

/// Reads the identity facts.
pub fn identity() -> io::Result<Identity> {
    let processor = processor_brand();
    #[cfg(unix)]
    {
        let uname = rustix::system::uname();
        let text = |s: &std::ffi::CStr| s.to_string_lossy().into_owned();
        let machine = text(uname.machine());
        Ok(Identity {
            os_name: text(uname.sysname()),
            os_version: text(uname.version()),
            os_release: text(uname.release()),
            architecture: machine.clone(),
            machine,
            processor,
            hostname: text(uname.nodename()),
        })
    }
    #[cfg(not(unix))]
    {
        let name = match std::env::consts::OS {
            "windows" => "Windows".to_owned(),
            other => other.to_owned(),
        };
        Ok(Identity {
            os_name: name,
            os_version: System::os_version().unwrap_or_default(),
            os_release: System::kernel_version().unwrap_or_default(),
            architecture: System::cpu_arch(),
            machine: System::cpu_arch(),
            processor,
            hostname: System::host_name().unwrap_or_default(),
        })
    }
}

fn processor_brand() -> String {
    System::new()
        .ok()
        .and_then(|mut system| {
            system.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
            system
                .cpus()
                .first()
                .map(|cpu| cpu.brand().trim().to_owned())
        })
        .unwrap_or_default()
}

/// Boot time as ISO 8601 local time, like Python's `datetime.fromtimestamp(...).isoformat()`.
pub fn boot_time() -> io::Result<String> {
    let seconds = System::boot_time().map_err(io::Error::other)?;
    let seconds = i64::try_from(seconds).map_err(io::Error::other)?;
    let utc = chrono::DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| io::Error::other(format!("boot time {seconds} is out of range")))?;
    Ok(utc
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string())
}

/// Running processes. On Linux, counting `/proc` entries costs a directory read instead
/// of sysinfo's full process scan.
pub fn process_count() -> io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        let mut count = 0;
        for entry in std::fs::read_dir("/proc")? {
            let name = entry?.file_name();
            if name
                .to_str()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            {
                count += 1;
            }
        }
        Ok(count)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut system = System::new().map_err(io::Error::other)?;
        system.refresh_processes_specifics(
            sysinfo::ProcessesToUpdate::All,
            true,
            sysinfo::ProcessRefreshKind::nothing(),
        );
        Ok(system.processes().len() as u64)
    }
}
