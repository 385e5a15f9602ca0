//! The service's state as the commands open it: found once from the config (`state_dir`,
//! `NHACVIEC_STATE_DIR`), then read-only (`reader`), beside a running service (`side`), and
//! the stored answers and figures read through it.

use anyhow::Context as _;
use nhacviec::answers::{Extension, Response};
use nhacviec::config::Config;
use nhacviec::store::{self, Store};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The state directory and the service's database: the SQLite file in it, or the
/// PostgreSQL database named by `NHACVIEC_DATABASE_URL` (or `$CREDENTIALS_DIRECTORY/database-url`).
pub struct State {
    pub dir: PathBuf,
    pub db: PathBuf,
    pub pg: Option<nhacviec::pg::DatabaseUrl>,
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
        let pg = nhacviec::pg::DatabaseUrl::from_env()?;
        Ok(State { dir, db, pg })
    }

    /// Where the state is, as the store opens it.
    pub fn location(&self) -> store::Location {
        store::Location {
            path: self.db.clone(),
            pg: self.pg.clone(),
        }
    }

    /// Whether the service has made its database (there but unreadable is an error, not a
    /// fresh state). A PostgreSQL database is there once configured (the store makes its
    /// schema when first opened).
    pub fn exists(&self) -> anyhow::Result<bool> {
        if self.pg.is_some() {
            return Ok(true);
        }
        Ok(store::exists(&self.db)?)
    }

    /// Whether a service holds the database (SQLite's one writer; on PostgreSQL every
    /// command opens its own connection beside the services, as if one were running).
    pub fn running(&self) -> bool {
        self.pg.is_some() || store::writer_active(&self.db)
    }

    /// The database read-only; none before the service's first pass.
    pub fn reader(&self) -> anyhow::Result<Option<Store>> {
        Ok(self
            .exists()?
            .then(|| Store::open_reader_at(&self.location()))
            .transpose()?)
    }

    /// The database read-only, which must be there.
    pub fn open_reader(&self) -> anyhow::Result<Store> {
        Ok(Store::open_reader_at(&self.location())?)
    }

    /// A connection beside a running service (short transactions; made if there is none).
    pub fn side(&self) -> anyhow::Result<Store> {
        Ok(Store::open_side_at(&self.location())?)
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
