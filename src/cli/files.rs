//! Files the commands write (`import --out`, `export`): whole or not at all, with the mode
//! asked for.

use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file beside it, so a reader never sees half a
/// workbook.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile_in(&dir, mode)?;
    let written = std::io::Write::write_all(&mut tmp.1, bytes)
        .and_then(|()| tmp.1.sync_all())
        .and_then(|()| std::fs::rename(&tmp.0, path));
    if written.is_err() {
        // No partial file left behind.
        let _ = std::fs::remove_file(&tmp.0);
    }
    written
}

/// A new temporary file in `dir` with a unique name and exactly `mode` (set again after
/// creation: the umask may only have narrowed it, and a report or a draft is the office's,
/// not the world's).
fn tempfile_in(dir: &Path, mode: u32) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = dir.join(format!(".nhacviec-{}.tmp", uuid::Uuid::new_v4()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&path)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok((path, file))
}
