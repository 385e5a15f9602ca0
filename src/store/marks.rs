//! SQLite's log of messages sent (`nhacviec.db-marks`), so that marking a message sent never
//! waits for the database's one write lock.
//!
//! A pass records its batches while it sends. A mark written to the database waited for the
//! batch being recorded (tens of milliseconds), and each send waits for its mark before its
//! place in the pool is free: the whole pool stalled once per batch. A mark is now one line
//! appended to this file (one `write`, no sync: it survives a crash of the process, as a
//! mark committed with synchronous=NORMAL does; a power cut can undo either, and then a
//! message goes again with its Message-ID, never lost). The marks are folded into the
//! database in the background during the pass, all of them at its end, and at the next
//! open of the writer after a crash; the file is emptied once they are committed. Folding
//! is idempotent (it only changes rows still waiting), so a mark folded twice is harmless.
//!
//! Only the process holding the writer's lock appends or folds (one per state directory).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

/// The log beside the database at `db`.
pub fn path_of(db: &Path) -> PathBuf {
    super::with_suffix(db, "-marks")
}

/// The log open to append.
pub struct MarkLog {
    file: std::sync::Mutex<std::fs::File>,
}

impl MarkLog {
    pub fn open(db: &Path) -> std::io::Result<MarkLog> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = path_of(db);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(super::FILE_MODE)
            .open(&path)?;
        super::make_private(&path)?;
        Ok(MarkLog {
            file: std::sync::Mutex::new(file),
        })
    }

    /// `id` sent at `at`: one line in one `write` (a crash leaves at most a torn last line,
    /// which is not a mark: that message was in flight and goes again).
    pub fn append(&self, id: i64, at: DateTime<Utc>) -> std::io::Result<()> {
        let line = format!("{id} {}\n", at.to_rfc3339());
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("mark log poisoned"))?;
        file.write_all(line.as_bytes())
    }
}

/// The marks in the log at `db` (none when there is no log). A line that is not a whole
/// mark (the torn end of a crash) is left out.
pub fn read(db: &Path) -> std::io::Result<Vec<(i64, DateTime<Utc>)>> {
    let file = match std::fs::File::open(path_of(db)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut reader = std::io::BufReader::new(file);
    let mut marks = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let Some(whole) = line.strip_suffix('\n') else {
            break;
        };
        if let Some(mark) = parse(whole) {
            marks.push(mark);
        }
    }
    Ok(marks)
}

fn parse(line: &str) -> Option<(i64, DateTime<Utc>)> {
    let (id, at) = line.split_once(' ')?;
    Some((
        id.parse().ok()?,
        DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
    ))
}

/// Empties the log at `db` (its marks are committed); an empty one is left unwritten (each
/// pass begins by folding the log).
pub fn clear(db: &Path) -> std::io::Result<()> {
    match std::fs::OpenOptions::new().write(true).open(path_of(db)) {
        Ok(f) if f.metadata()?.len() == 0 => Ok(()),
        Ok(f) => f.set_len(0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_read_back_and_a_torn_last_line_is_not_a_mark() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("nhacviec.db");
        assert!(read(&db).unwrap().is_empty(), "no log yet");
        let log = MarkLog::open(&db).unwrap();
        let at = DateTime::parse_from_rfc3339("2022-06-01T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        log.append(7, at).unwrap();
        log.append(8, at).unwrap();
        // A crash in the middle of a write.
        std::fs::OpenOptions::new()
            .append(true)
            .open(path_of(&db))
            .unwrap()
            .write_all(b"9 2022-06-01T01:0")
            .unwrap();
        assert_eq!(read(&db).unwrap(), [(7, at), (8, at)]);
        clear(&db).unwrap();
        // Only a torn line: no mark, and a clear leaves no fragment for the next to join.
        std::fs::write(path_of(&db), b"9 2022-06-01T01:0").unwrap();
        assert!(read(&db).unwrap().is_empty());
        clear(&db).unwrap();
        assert!(read(&db).unwrap().is_empty());
        log.append(10, at).unwrap();
        assert_eq!(read(&db).unwrap(), [(10, at)], "appends after a clear");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path_of(&db))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
