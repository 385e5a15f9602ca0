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
    /// The value, if set.
    pub fn read(self) -> Option<String> {
        let from_env = std::env::var(self.env).ok();
        let value = match from_env.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => {
                let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
                std::fs::read_to_string(Path::new(&dir).join(self.file)).ok()?
            }
        };
        let value = value.trim();
        (!value.is_empty()).then(|| value.to_string())
    }

    /// How an admin provides it, for error messages.
    pub fn how(self) -> String {
        format!(
            "đặt biến môi trường {} hoặc tệp $CREDENTIALS_DIRECTORY/{}",
            self.env, self.file
        )
    }
}
