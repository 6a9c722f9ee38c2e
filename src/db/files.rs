//! Files at rest are private, whatever the umask: the data folder 0700; the database, its
//! write-ahead log and shared-memory file, backups and mail files 0600. (The key file is the
//! `crypto` module's.) SQLite creates the `-wal` and `-shm` files with the mode of the database
//! file, so creating that one private is enough for the others.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const PRIVATE_DIR: u32 = 0o700;
const PRIVATE_FILE: u32 = 0o600;
/// The sticky bit: a shared folder such as `/tmp`, whose mode is not Varco's to change.
const STICKY: u32 = 0o1000;

/// Creates `dir` (and its parents) when missing, and makes it 0700 unless it is a shared sticky
/// folder. Returns whether its mode was tightened.
pub fn private_dir(dir: &Path) -> io::Result<bool> {
    if !dir.exists() {
        fs::DirBuilder::new().recursive(true).mode(PRIVATE_DIR).create(dir)?;
    }
    let mode = fs::metadata(dir)?.permissions().mode();
    if mode & STICKY != 0 {
        tracing::warn!(folder = %dir.display(), "the data folder is a shared folder: its mode is left as it is");
        return Ok(false);
    }
    if mode & 0o777 != PRIVATE_DIR {
        fs::set_permissions(dir, fs::Permissions::from_mode(PRIVATE_DIR))?;
        return Ok(true);
    }
    Ok(false)
}

/// Makes `path` a 0600 file: created empty when missing, tightened when it exists.
pub fn private_file(path: &Path) -> io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => tighten(path),
        Err(e) => Err(e),
    }
}

/// Makes an existing file 0600 (nothing when it does not exist).
pub fn tighten(path: &Path) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o777 != PRIVATE_FILE => {
            fs::set_permissions(path, fs::Permissions::from_mode(PRIVATE_FILE))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The SQLite database file and its companions (`-wal`, `-shm`, `-journal`).
pub fn sqlite_files(db: &Path) -> Vec<PathBuf> {
    let mut out = vec![db.to_owned()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        out.push(PathBuf::from(name));
    }
    out
}

/// Prepares a SQLite database's folder and files: a private folder, a private database file
/// (created empty for SQLite to fill), and any companion file left by an earlier version
/// tightened.
pub fn secure_sqlite(db: &Path) -> io::Result<()> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)?;
    }
    private_file(db)?;
    for f in sqlite_files(db).iter().skip(1) {
        tighten(f)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically and privately: a 0600 temporary file in the same folder,
/// synced, then renamed over `path`, then the folder synced. A crash leaves either the old file
/// or the new one, never a part.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = temp_beside(path);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE_FILE)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A temporary name beside `path`: hidden, recognisable, never the final name.
pub fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = format!(".{name}.tmp-{}", uuid::Uuid::new_v4().simple());
    match path.parent() {
        Some(dir) => dir.join(tmp),
        None => PathBuf::from(tmp),
    }
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn folders_and_files_are_private_whatever_was_there() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let db = dir.join("varco.db");
        fs::write(&db, b"").unwrap();
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        let wal = dir.join("varco.db-wal");
        fs::write(&wal, b"").unwrap();
        fs::set_permissions(&wal, fs::Permissions::from_mode(0o664)).unwrap();
        secure_sqlite(&db).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
        let fresh = root.path().join("new/inner/varco.db");
        secure_sqlite(&fresh).unwrap();
        assert_eq!(mode(fresh.parent().unwrap()), 0o700);
        assert_eq!(mode(&fresh), 0o600);
    }

    #[test]
    fn atomic_writes_are_private_and_leave_no_temporary_file() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("message.eml");
        write_private_atomic(&target, b"hello").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"hello");
        assert_eq!(mode(&target), 0o600);
        let names: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_shared_sticky_folder_keeps_its_mode() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(!private_dir(&shared).unwrap());
        assert_eq!(mode(&shared), 0o1777);
    }
}
