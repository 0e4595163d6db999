//! Looking up the account a command runs as (`user = "nobody"`), for dropping
//! privileges. Only root can switch users; anyone else asking for it is refused at
//! load, not at the first run.

use std::ffi::CString;

/// The ids a command runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// The user id.
    pub uid: u32,
    /// The user's primary group.
    pub gid: u32,
}

/// Why an account cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    /// No such user in the password database.
    #[error("no user `{0}` on this machine")]
    Unknown(String),
    /// The server does not run as root, so it cannot switch users.
    #[error("running as user `{0}` needs the server to run as root (it runs as uid {1})")]
    NotRoot(String, u32),
    /// The name cannot be a user name.
    #[error("`{0}` is not a user name")]
    Invalid(String),
}

/// This process's real user id.
pub fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The account `name`, if this process may switch to it.
pub fn lookup(name: &str) -> Result<Account, UserError> {
    let me = current_uid();
    if me != 0 {
        return Err(UserError::NotRoot(name.to_owned(), me));
    }
    find(name)
}

/// The account `name` from the password database, through the thread-safe
/// `getpwnam_r`.
pub fn find(name: &str) -> Result<Account, UserError> {
    let c_name = CString::new(name).map_err(|_| UserError::Invalid(name.to_owned()))?;
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value of this plain C struct.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call, `buffer` for its stated length;
    // `entry`'s strings point into `buffer`, which outlives their use below.
    let status = unsafe {
        libc::getpwnam_r(
            c_name.as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() {
        return Err(UserError::Unknown(name.to_owned()));
    }
    Ok(Account {
        uid: entry.pw_uid,
        gid: entry.pw_gid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_root_and_refuses_who_does_not_exist() {
        assert_eq!(find("root"), Ok(Account { uid: 0, gid: 0 }));
        assert_eq!(
            find("no-such-user-here"),
            Err(UserError::Unknown("no-such-user-here".into()))
        );
        assert!(matches!(find("a\0b"), Err(UserError::Invalid(_))));
    }
}
