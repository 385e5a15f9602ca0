//! The one way a credential is read: an environment variable, else a file of that name in
//! `$CREDENTIALS_DIRECTORY` (systemd's `LoadCredential`). Never from the TOML, never logged.
//! Surrounding whitespace and line ends are not part of a secret (files are usually written
//! with a final newline); an empty value counts as absent.

use std::path::Path;

/// A credential the service needs: its variable and its credential file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential {
    pub env: &'static str,
    pub file: &'static str,
}

pub const SMTP_PASSWORD: Credential = Credential {
    env: "NHACVIEC_SMTP_PASSWORD",
    file: "smtp-password",
};
pub const WEBHOOK_SECRET: Credential = Credential {
    env: "NHACVIEC_WEBHOOK_SECRET",
    file: "webhook-secret",
};
/// Signs the agencies' links (`links`).
pub const LINK_SECRET: Credential = Credential {
    env: "NHACVIEC_LINK_SECRET",
    file: "link-secret",
};
/// The previous link secret, kept during a rotation so links already sent still open.
pub const LINK_SECRET_PREVIOUS: Credential = Credential {
    env: "NHACVIEC_LINK_SECRET_PREVIOUS",
    file: "link-secret-previous",
};
pub const ZALO_SECRET_KEY: Credential = Credential {
    env: "NHACVIEC_ZALO_SECRET_KEY",
    file: "zalo-secret-key",
};

impl Credential {
    /// The value, if set (a credential file that is there but unusable counts as unset: see
    /// [`Credential::read_checked`] to tell the admin why).
    pub fn read(self) -> Option<String> {
        self.read_checked().ok().flatten()
    }

    /// The value, if set; `Err` with the reason (Vietnamese) when the credential file is there
    /// but refused: not a regular file, too large, not UTF-8.
    pub fn read_checked(self) -> Result<Option<String>, SecretError> {
        let from_env = std::env::var(self.env).ok();
        let value = match from_env.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => {
                let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") else {
                    return Ok(None);
                };
                let path = Path::new(&dir).join(self.file);
                if std::fs::symlink_metadata(&path).is_err() {
                    return Ok(None);
                }
                read_file(&path).map_err(|why| SecretError { path, why })?
            }
        };
        let value = value.trim();
        Ok((!value.is_empty()).then(|| value.to_string()))
    }

    /// How an admin provides it, for error messages; why the credential file present was not
    /// used, when it was not.
    pub fn how(self) -> String {
        let how = format!(
            "đặt biến môi trường {} hoặc tệp $CREDENTIALS_DIRECTORY/{}",
            self.env, self.file
        );
        let refused = std::env::var_os("CREDENTIALS_DIRECTORY")
            .map(|dir| Path::new(&dir).join(self.file))
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .and_then(|p| read_file(&p).err());
        match refused {
            Some(why) => format!("{how} (tệp hiện có không dùng được: {why})"),
            None => how,
        }
    }
}

/// A credential file that is there but refused: its path and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {why}", path.display())]
pub struct SecretError {
    pub path: std::path::PathBuf,
    pub why: FileRefused,
}

/// Why a credential file is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileRefused {
    #[error("không mở được ({0})")]
    Open(String),
    #[error("không đọc được ({0})")]
    Metadata(String),
    #[error("không phải tệp thường (FIFO, thiết bị hay thư mục)")]
    NotRegular,
    #[error("quá lớn ({0} byte, tối đa {MAX_FILE_BYTES})")]
    TooLarge(u64),
    #[error("không đọc được dạng UTF-8 ({0})")]
    NotUtf8(String),
}

/// A credential file is a few hundred bytes at most.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// A credential file's text: a regular file (never a FIFO, which would block, or a device such
/// as /dev/zero, which never ends) of at most [`MAX_FILE_BYTES`], in UTF-8. Opened without
/// blocking and checked on the open handle, so it cannot be swapped in between.
fn read_file(path: &Path) -> Result<String, FileRefused> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| FileRefused::Open(e.to_string()))?;
    let meta = file
        .metadata()
        .map_err(|e| FileRefused::Metadata(e.to_string()))?;
    if !meta.is_file() {
        return Err(FileRefused::NotRegular);
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(FileRefused::TooLarge(meta.len()));
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|e| FileRefused::NotUtf8(e.to_string()))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_file_must_be_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok");
        std::fs::write(&ok, "0123456789abcdef\n").unwrap();
        assert_eq!(read_file(&ok).unwrap(), "0123456789abcdef\n");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert_eq!(
            read_file(&big).unwrap_err(),
            FileRefused::TooLarge(MAX_FILE_BYTES + 1)
        );
        assert!(read_file(&big).unwrap_err().to_string().contains("quá lớn"));
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path the CString owns.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Returns at once (no writer would ever come): refused, not read.
        assert_eq!(read_file(&fifo).unwrap_err(), FileRefused::NotRegular);
        assert_eq!(
            read_file(Path::new("/dev/zero")).unwrap_err(),
            FileRefused::NotRegular
        );
        assert!(FileRefused::NotRegular
            .to_string()
            .contains("không phải tệp thường"));
    }
}
