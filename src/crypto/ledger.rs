//! The erasure ledger: which data keys were destroyed, kept beside the master key file and
//! outside the database, so that a backup taken before an erasure and restored later does not
//! bring the erased person back. `varco restore` and every start destroy again, in the database
//! they open, each data key the ledger names that is still live there.
//!
//! An entry names a data key by its id and by a fingerprint of the key itself (a SHA-256 of the
//! key under a fixed label): ids are reused across databases (and by a restored copy, for the keys
//! made after it), so a key is destroyed again only when it is the very key that was erased. The
//! fingerprint of a destroyed 256-bit random key reveals nothing of it, and the ledger holds no
//! personal value: a line is `v1 <data key id> <fingerprint in hex>`. The file is appended to,
//! synced, and kept mode 0600.

use std::fs::{OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{to_hex, CryptoError, DataKey};

/// The ledger's file name, in the master key file's folder.
pub const FILE_NAME: &str = "erasures.ledger";

/// One destroyed data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    pub data_key_id: i64,
    pub fingerprint: [u8; 32],
}

/// The fingerprint of a data key, to recognise it in another copy of the database.
pub fn fingerprint(key: &DataKey) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"varco erased data key v1\0");
    h.update(&key.0[..]);
    h.finalize().into()
}

/// Where the ledger of `settings` is: beside the master key file (configured, or the default one
/// in the data folder), which is kept apart from the database and its backups.
pub fn path_for(settings: &crate::config::Settings) -> PathBuf {
    let dir = settings
        .master_key_file
        .as_deref()
        .map(Path::new)
        .and_then(Path::parent)
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_owned)
        .unwrap_or_else(|| settings.data_dir());
    dir.join(FILE_NAME)
}

fn io_error(path: &Path, e: &io::Error) -> CryptoError {
    CryptoError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

/// Appends entries and syncs the file (created mode 0600).
pub fn append(path: &Path, erasures: &[Erasure]) -> Result<(), CryptoError> {
    if erasures.is_empty() {
        return Ok(());
    }
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error(path, &e))?;
    // An existing file keeps the mode it was given: make sure of it.
    file.set_permissions(Permissions::from_mode(0o600))
        .map_err(|e| io_error(path, &e))?;
    let mut text = String::new();
    for e in erasures {
        text.push_str(&format!("v1 {} {}\n", e.data_key_id, to_hex(&e.fingerprint)));
    }
    file.write_all(text.as_bytes()).map_err(|e| io_error(path, &e))?;
    file.sync_data().map_err(|e| io_error(path, &e))
}

/// Reads the ledger; a missing file is an empty ledger. A line that is not an entry is an error
/// naming the line: a damaged ledger must be looked at, not half applied.
pub fn read(path: &Path) -> Result<Vec<Erasure>, CryptoError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(path, &e)),
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || CryptoError::Io {
            path: path.to_owned(),
            message: format!("line {} is not an erasure entry", n + 1),
        };
        let mut parts = line.split(' ');
        let (Some("v1"), Some(id), Some(hex), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let data_key_id = id.parse().map_err(|_| bad())?;
        let bytes = hex::decode(hex).map_err(|_| bad())?;
        let fingerprint = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| bad())?;
        out.push(Erasure {
            data_key_id,
            fingerprint,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        assert_eq!(read(&path).unwrap(), Vec::new());
        let a = Erasure {
            data_key_id: 7,
            fingerprint: [1; 32],
        };
        let b = Erasure {
            data_key_id: 9,
            fingerprint: [2; 32],
        };
        append(&path, std::slice::from_ref(&a)).unwrap();
        append(&path, std::slice::from_ref(&b)).unwrap();
        assert_eq!(read(&path).unwrap(), vec![a, b]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_damaged_line_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, format!("v1 3 {}\nv1 x\n", "00".repeat(32))).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn fingerprints_tell_keys_apart() {
        let (a, _) = crate::crypto::Keyring::new(crate::crypto::MasterKey::generate(), Vec::new()).new_data_key();
        let (b, _) = crate::crypto::Keyring::new(crate::crypto::MasterKey::generate(), Vec::new()).new_data_key();
        assert_eq!(fingerprint(&a), fingerprint(&a));
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }
}
