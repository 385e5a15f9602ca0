//! The service's state as the commands open it: found once from the config (`state_dir`,
//! `NHACVIEC_STATE_DIR`), then read-only (`reader`), beside a running service (`side`), and
//! the stored answers and figures read through it.

use anyhow::Context as _;
use nhacviec::answers::{Extension, Response};
use nhacviec::config::Config;
use nhacviec::store::{self, Store};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The state directory and the service's database in it.
pub struct State {
    pub dir: PathBuf,
    pub db: PathBuf,
}

/// What the monitoring figures read from the store: responses, extensions and each agency's
/// and task's last reminder.
pub type Stored = (
    Vec<Response>,
    Vec<Extension>,
    HashMap<(String, String, String), chrono::DateTime<chrono::Utc>>,
);

impl State {
    pub fn of(config_dir: &Path, config: &Config) -> anyhow::Result<State> {
        let dir = nhacviec::deliver::state_dir(config_dir, config)?;
        let db = dir.join(nhacviec::daemon::DB_FILE);
        Ok(State { dir, db })
    }

    /// Whether the service has made its database (there but unreadable is an error, not a
    /// fresh state).
    pub fn exists(&self) -> anyhow::Result<bool> {
        Ok(store::exists(&self.db)?)
    }

    /// Whether a service holds the database.
    pub fn running(&self) -> bool {
        store::writer_active(&self.db)
    }

    /// The database read-only; none before the service's first pass.
    pub fn reader(&self) -> anyhow::Result<Option<Store>> {
        Ok(self
            .exists()?
            .then(|| Store::open_reader(&self.db))
            .transpose()?)
    }

    /// The database read-only, which must be there.
    pub fn open_reader(&self) -> anyhow::Result<Store> {
        Ok(Store::open_reader(&self.db)?)
    }

    /// A connection beside a running service (short transactions; made if there is none).
    pub fn side(&self) -> anyhow::Result<Store> {
        Ok(Store::open_side(&self.db)?)
    }

    /// The state directory made (0700) when missing.
    pub fn create(&self) -> anyhow::Result<()> {
        store::create_private_dir(&self.dir)
            .with_context(|| format!("tạo thư mục trạng thái {}", self.dir.display()))
    }

    /// The responses and extensions stored; none when there is no database yet.
    pub fn answers(&self) -> anyhow::Result<(Vec<Response>, Vec<Extension>)> {
        match self.reader()? {
            Some(store) => store
                .answers()
                .with_context(|| format!("reading the responses in {}", self.db.display())),
            None => Ok(Default::default()),
        }
    }

    /// The answers and the last reminders, for the monitoring office's figures.
    pub fn figures(&self) -> anyhow::Result<Stored> {
        match self.reader()? {
            Some(store) => {
                let (r, e) = store
                    .answers()
                    .with_context(|| format!("reading the responses in {}", self.db.display()))?;
                Ok((r, e, store.last_reminders()?))
            }
            None => Ok(Default::default()),
        }
    }

    /// The config with the agencies' reports and the extensions granted laid over it, as the
    /// service schedules from it.
    pub fn answered(&self, config: &Config) -> anyhow::Result<Config> {
        let (responses, extensions) = self.answers()?;
        Ok(nhacviec::answers::overlaid(config, &responses, &extensions))
    }
}
