//! Where each fact comes from on each operating system.

use std::io;

use monitoring_plugin_api::sections::System as Section;
use sysinfo::System;

/// The `system` section's facts that do not change while the machine runs; the
/// process count and boot time are left for the caller.
pub fn identity() -> io::Result<Section> {
    let processor = processor_brand();
    #[cfg(unix)]
    {
        let uname = rustix::system::uname();
        let text = |s: &std::ffi::CStr| s.to_string_lossy().into_owned();
        let machine = text(uname.machine());
        let (os_name, os_release) = (text(uname.sysname()), text(uname.release()));
        Ok(Section {
            platform: python_platform(&os_name, &os_release, &machine, libc().as_deref()),
            os_name,
            os_version: text(uname.version()),
            os_release,
            architecture: machine.clone(),
            machine,
            processor,
            hostname: text(uname.nodename()),
            domainname: domainname(&uname),
            ..Section::default()
        })
    }
    #[cfg(not(unix))]
    {
        let name = match std::env::consts::OS {
            "windows" => "Windows".to_owned(),
            other => other.to_owned(),
        };
        let release = System::kernel_version().unwrap_or_default();
        Ok(Section {
            platform: python_platform(&name, &release, &System::cpu_arch(), None),
            os_name: name,
            os_version: System::os_version().unwrap_or_default(),
            os_release: release,
            architecture: System::cpu_arch(),
            machine: System::cpu_arch(),
            processor,
            hostname: System::host_name().unwrap_or_default(),
            ..Section::default()
        })
    }
}

/// `uname`'s NIS domain name, which only Linux and Android have.
#[cfg(unix)]
fn domainname(uname: &rustix::system::Uname) -> Option<String> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return Some(uname.domainname().to_string_lossy().into_owned());
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = uname;
        None
    }
}

/// Python's `platform.platform()` as far as it can be rebuilt without Python: the
/// parts `{os_name}-{os_release}-{machine}`, then `-with-{libc}` when the C library is
/// known, joined and cleaned up as Python's `platform._platform` does (characters
/// unsafe in file names become `-`, spaces `_`, `unknown` is dropped, runs of `-` fold
/// into one, no trailing `-`).
///
/// Python also puts `platform.processor()` (`uname -p`) after the machine; that is
/// `unknown`, hence blank, with upstream coreutils (Debian, Ubuntu), so it is left out:
/// on such systems the strings agree, on ones whose `uname -p` answers (Fedora) ours
/// lacks that one part. Outside Linux, Python names platforms its own way (`macOS-…`,
/// `Windows-10-…-SP0`); this gives the same three leading parts in the same order.
pub fn python_platform(
    os_name: &str,
    os_release: &str,
    machine: &str,
    libc: Option<&str>,
) -> String {
    let mut parts = vec![os_name, os_release, machine];
    if let Some(libc) = libc {
        parts.extend(["with", libc]);
    }
    let joined = parts
        .iter()
        .map(|part| part.trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let cleaned = joined
        .replace(' ', "_")
        .replace(['/', '\\', ':', ';', '"', '(', ')'], "-")
        .replace("unknown", "");
    let mut folded = String::with_capacity(cleaned.len());
    for c in cleaned.chars() {
        if !(c == '-' && folded.ends_with('-')) {
            folded.push(c);
        }
    }
    folded.trim_end_matches('-').to_owned()
}

/// The C library as Python's `platform.libc_ver()` names it (`glibc2.36`), read from
/// the running glibc; `None` for other C libraries, where the suffix is left off.
#[cfg(unix)]
fn libc() -> Option<String> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: gnu_get_libc_version takes no arguments and returns a pointer to a
        // static, NUL-terminated string inside glibc, valid for the process's life.
        let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
        let version = version.to_str().ok()?.trim();
        (!version.is_empty()).then(|| format!("glibc{version}"))
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_is_built_as_python_builds_it() {
        assert_eq!(
            python_platform("Linux", "6.1.0-18-amd64", "x86_64", Some("glibc2.36")),
            "Linux-6.1.0-18-amd64-x86_64-with-glibc2.36"
        );
        assert_eq!(
            python_platform("Linux", "6.6.7", "aarch64", None),
            "Linux-6.6.7-aarch64"
        );
        // Python's clean-up: unsafe characters, `unknown`, empty parts, doubled dashes.
        assert_eq!(
            python_platform("Linux", "5.15.0 (custom)/x", "unknown", Some("glibc2.31")),
            "Linux-5.15.0_-custom-x-with-glibc2.31"
        );
        assert_eq!(python_platform("Linux", "", " ", None), "Linux");
    }

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn the_glibc_suffix_names_the_running_glibc() {
        let libc = libc().expect("glibc names its version");
        let version = libc.strip_prefix("glibc").expect("glibc prefix");
        assert!(
            version.split('.').all(|n| n.parse::<u32>().is_ok()),
            "{libc}"
        );
    }
}
