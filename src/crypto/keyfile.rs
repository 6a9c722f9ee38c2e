//! Where the master keys come from, key files, and key file rotation.
//!
//! A key file holds one master key per line in base64, the first current; blank lines and lines
//! starting with `#` are ignored. Key files are always written mode 0600 whatever the umask, and
//! rewritten atomically (a temporary file in the same folder, fsync, rename, fsync of the folder),
//! so that a crash leaves either the old file or the new one, never half of one.
//!
//! Rotation of a key file, driven by `varco key rotate`:
//! 1. [`begin_rotation`] puts a new key first; the old ones stay after it to unwrap existing data
//!    keys. The running service must reload its keyring (restart) to use the new key;
//! 2. the caller rewraps every stored data key with [`Keyring::rewrap`];
//! 3. once no stored data key names an old key id, [`finish_rotation`] leaves only the current key
//!    in the file and moves each old key to a file of its own, to be kept only as long as backups
//!    taken before the rotation and then destroyed. This module cannot check step 2: the caller
//!    must, before calling [`finish_rotation`].
//!
//! Keys set in `VARCO_MASTER_KEY` are rotated by the operator: put a new key first in the list.

use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;
use zeroize::Zeroizing;

use super::{to_hex, CryptoError, KeyId, Keyring, MasterKey, MASTER_KEY_ENV, MASTER_KEY_FILE_ENV};

/// A key file larger than this is not a key file.
const MAX_KEY_FILE_LEN: u64 = 64 * 1024;

/// First lines of a key file holding one key.
const SINGLE_HEADER: &str = "\
# Varco master key: back it up apart from the database; without it no personal field can be read.
# One key per line in base64: the first wraps new data keys; any others are previous keys kept
# during a rotation. Lines starting with # are comments. Keep this file mode 0600.
";

/// First lines of a key file during a rotation.
const ROTATION_HEADER: &str = "\
# Varco master keys, rotation under way: back this file up apart from the database; without it no
# personal field can be read.
# The first key is current: it wraps every new data key. The keys after it are previous keys, still
# needed to unwrap the data keys not yet rewrapped; `varco key rotate` removes them from this file
# when every data key is rewrapped under the current one. Keep this file mode 0600.
";

/// Where [`Keyring::load`] looks for the master keys.
#[derive(Clone)]
pub struct KeyConfig {
    /// The value of `VARCO_MASTER_KEY`, if set; wins over any file.
    pub env_value: Option<String>,
    /// The file named by `VARCO_MASTER_KEY_FILE` (or the configuration), if any; must exist.
    pub file: Option<PathBuf>,
    /// The key file used when neither is set, for instance beside the SQLite database.
    pub default_file: PathBuf,
    /// Whether a missing default file may be created with a new key (first start of an embedded
    /// installation). When false, a missing key is an error.
    pub may_generate: bool,
}

impl fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyConfig")
            .field("env_value", &self.env_value.as_ref().map(|_| "(set)"))
            .field("file", &self.file)
            .field("default_file", &self.default_file)
            .field("may_generate", &self.may_generate)
            .finish()
    }
}

/// Where the keys of a loaded [`Keyring`] came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `VARCO_MASTER_KEY`.
    Env,
    /// An existing key file.
    File(PathBuf),
    /// A key file just created with a new key: tell the operator once, so that they back it up.
    Generated(PathBuf),
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Env => f.write_str(MASTER_KEY_ENV),
            KeySource::File(path) => write!(f, "key file {}", path.display()),
            KeySource::Generated(path) => write!(f, "new key file {}", path.display()),
        }
    }
}

impl Keyring {
    /// Reads a key file (first key current). A file that group or others may access is first
    /// tightened to mode 0600, with a warning.
    pub fn load_file(path: &Path) -> Result<Self, CryptoError> {
        let keys = read_key_file(path)?;
        Self::from_list(&format!("key file {}", path.display()), keys)
    }

    /// Finds the master keys: `VARCO_MASTER_KEY` if set, else the configured key file (which must
    /// exist), else the default key file if it exists, else — when allowed — a new key written to
    /// the default file (its folder created mode 0700 if missing).
    pub fn load(config: &KeyConfig) -> Result<(Self, KeySource), CryptoError> {
        if let Some(value) = &config.env_value {
            if let Some(file) = &config.file {
                tracing::warn!(
                    file = %file.display(),
                    "{MASTER_KEY_ENV} and {MASTER_KEY_FILE_ENV} are both set: using {MASTER_KEY_ENV}, ignoring the file"
                );
            }
            return Ok((Keyring::from_env_value(value)?, KeySource::Env));
        }
        if let Some(file) = &config.file {
            return Ok((Keyring::load_file(file)?, KeySource::File(file.clone())));
        }
        let path = &config.default_file;
        let exists = fs::symlink_metadata(path).map(|_| true).or_else(|e| match e.kind() {
            io::ErrorKind::NotFound => Ok(false),
            _ => Err(io_error(path, "cannot look for the master key file", &e)),
        })?;
        if exists {
            return Ok((Keyring::load_file(path)?, KeySource::File(path.clone())));
        }
        if !config.may_generate {
            return Err(CryptoError::NoKey(format!(
                "set {MASTER_KEY_ENV} to a master key (32 random bytes in base64, for instance from \
                 `openssl rand -base64 32`; several keys separated by commas, the current first), or \
                 {MASTER_KEY_FILE_ENV} to a file holding one, or put one in {}",
                path.display()
            )));
        }
        match create_key_file(path)? {
            Some(key) => Ok((Keyring::new(key, Vec::new()), KeySource::Generated(path.clone()))),
            // Another process created it meanwhile: use theirs.
            None => Ok((Keyring::load_file(path)?, KeySource::File(path.clone()))),
        }
    }
}

/// Starts a rotation of the key file at `path`: a new key becomes current and the old ones follow
/// it. Returns the new key's id and the old ones'. The file is rewritten atomically, mode 0600.
pub fn begin_rotation(path: &Path) -> Result<(KeyId, Vec<KeyId>), CryptoError> {
    let ring = Keyring::load_file(path)?;
    let new = MasterKey::generate();
    let old: Vec<&MasterKey> = ring.keys().collect();
    let keys: Vec<(&MasterKey, &str)> = std::iter::once((&new, "current"))
        .chain(old.iter().map(|k| (*k, "previous")))
        .collect();
    write_atomic(path, render(ROTATION_HEADER, &keys).as_bytes())?;
    Ok((new.id().clone(), old.iter().map(|k| k.id().clone()).collect()))
}

/// Finishes a rotation of the key file at `path`: each key after the first is written to its own
/// file `<path>.retired-<key id>` (mode 0600), then the key file is rewritten with the current key
/// only. Returns the retired files' paths (none when the file held one key, left untouched).
///
/// Call it only once no stored data key is wrapped under a retired key: this function cannot
/// check that, and data keys wrapped under a retired key cannot be unwrapped afterwards unless the
/// retired key is put back.
pub fn finish_rotation(path: &Path) -> Result<Vec<PathBuf>, CryptoError> {
    let ring = Keyring::load_file(path)?;
    let mut keys = ring.keys();
    let Some(current) = keys.next() else {
        return Ok(Vec::new());
    };
    let retired: Vec<&MasterKey> = keys.collect();
    let mut paths = Vec::with_capacity(retired.len());
    // The retired files first: a crash in between leaves each key in at least one file.
    for key in retired {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".retired-{}", key.id()));
        let retired_path = PathBuf::from(name);
        let header = format!(
            "# Varco master key {id}, retired by a key rotation: no data key in the database is wrapped under it.\n\
             # Keep it only as long as you keep backups taken before the rotation; destroy it to put them\n\
             # beyond use. To read such a backup, add this key after the current one in the key file.\n",
            id = key.id()
        );
        write_atomic(&retired_path, render(&header, &[(key, "retired")]).as_bytes())?;
        paths.push(retired_path);
    }
    if !paths.is_empty() {
        write_atomic(path, render(SINGLE_HEADER, &[(current, "current")]).as_bytes())?;
    }
    Ok(paths)
}

/// The text of a key file: `header`, then each key preceded by a comment naming its id and role.
fn render(header: &str, keys: &[(&MasterKey, &str)]) -> Zeroizing<String> {
    // Sized up front so that no reallocation leaves a copy of a key behind.
    let mut text = Zeroizing::new(String::with_capacity(header.len() + keys.len() * 128));
    text.push_str(header);
    for (key, role) in keys {
        text.push_str(&format!("# key id {} ({role})\n", key.id()));
        text.push_str(&key.to_base64());
        text.push('\n');
    }
    text
}

/// Reads the keys of a key file, tightening its mode to 0600 first if group or others may
/// access it.
fn read_key_file(path: &Path) -> Result<Vec<MasterKey>, CryptoError> {
    let source = format!("key file {}", path.display());
    let mut file = File::open(path).map_err(|e| io_error(path, "cannot open the master key file", &e))?;
    let meta = file
        .metadata()
        .map_err(|e| io_error(path, "cannot read the master key file", &e))?;
    if !meta.is_file() {
        return Err(CryptoError::Io {
            path: path.to_owned(),
            message: "the master key file is not a regular file".to_owned(),
        });
    }
    if meta.len() > MAX_KEY_FILE_LEN {
        return Err(CryptoError::BadKey {
            source,
            reason: "larger than 64 KiB: not a key file".to_owned(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        // Through the open handle (fchmod), so that it is this file that gets tightened.
        match file.set_permissions(Permissions::from_mode(0o600)) {
            Ok(()) => tracing::warn!(
                path = %path.display(),
                "the master key file was mode {mode:o}, open to group or others: its mode is now 0600"
            ),
            Err(e) => tracing::warn!(
                path = %path.display(),
                "the master key file is mode {mode:o}, open to group or others, and could not be set to 0600: {e}"
            ),
        }
    }
    let mut text = Zeroizing::new(String::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1));
    file.read_to_string(&mut text)
        .map_err(|e| io_error(path, "cannot read the master key file", &e))?;
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        keys.push(MasterKey::from_base64(&format!("{source} line {}", i + 1), line)?);
    }
    Ok(keys)
}

/// Creates the key file at `path` with a new key, mode 0600, its folder mode 0700 if missing.
/// `None` if the file appeared meanwhile.
fn create_key_file(path: &Path) -> Result<Option<MasterKey>, CryptoError> {
    let folder = folder_of(path);
    create_private_folders(folder)?;
    let key = MasterKey::generate();
    let text = render(SINGLE_HEADER, &[(&key, "current")]);
    let mut file = match OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(io_error(path, "cannot create the master key file", &e)),
    };
    // `mode` is filtered by the umask; fchmod is not.
    let written = file
        .set_permissions(Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(text.as_bytes()))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        // An empty or partial key file would stop the next start: leave none.
        remove_quietly(path);
        return Err(io_error(path, "cannot write the master key file", &e));
    }
    sync_folder(folder)?;
    Ok(Some(key))
}

/// Replaces the file at `path` with `contents`, mode 0600: temporary file in the same folder,
/// fsync, rename over `path`, fsync of the folder. A symbolic link at `path` is replaced, not
/// followed.
fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), CryptoError> {
    let folder = folder_of(path);
    let Some(name) = path.file_name() else {
        return Err(CryptoError::Io {
            path: path.to_owned(),
            message: "not a file name".to_owned(),
        });
    };
    let mut suffix = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut suffix);
    let temp = folder.join(format!(".{}.tmp-{}", name.to_string_lossy(), to_hex(&suffix)));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| {
            file.set_permissions(Permissions::from_mode(0o600))?;
            file.write_all(contents)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        remove_quietly(&temp);
        return Err(io_error(path, "cannot write the key file", &e));
    }
    sync_folder(folder)
}

/// Creates `folder` and its missing parents, each mode 0700 whatever the umask.
fn create_private_folders(folder: &Path) -> Result<(), CryptoError> {
    let mut missing = Vec::new();
    let mut cursor = Some(folder);
    while let Some(dir) = cursor {
        if dir.as_os_str().is_empty() {
            break;
        }
        match fs::symlink_metadata(dir) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => missing.push(dir),
            Err(e) => return Err(io_error(dir, "cannot look for the key folder", &e)),
        }
        cursor = dir.parent();
    }
    for dir in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {
                fs::set_permissions(dir, Permissions::from_mode(0o700))
                    .map_err(|e| io_error(dir, "cannot set the key folder's mode", &e))?;
                sync_folder(folder_of(dir))?;
            }
            // Created meanwhile by someone else: theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(dir, "cannot create the key folder", &e)),
        }
    }
    Ok(())
}

/// The folder holding `path` (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Makes a creation, removal or rename in `folder` durable.
fn sync_folder(folder: &Path) -> Result<(), CryptoError> {
    File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| io_error(folder, "cannot sync the key folder", &e))
}

/// Clean-up after a failure already being reported: a further failure is only logged.
fn remove_quietly(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), "cannot remove a partial key file: {e}");
        }
    }
}

fn io_error(path: &Path, what: &str, e: &io::Error) -> CryptoError {
    CryptoError::Io {
        path: path.to_owned(),
        message: format!("{what}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn config(default_file: PathBuf) -> KeyConfig {
        KeyConfig {
            env_value: None,
            file: None,
            default_file,
            may_generate: false,
        }
    }

    /// Key lines of a file, comments left out.
    fn key_lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn generated_key_file_is_0600_in_a_new_0700_folder_despite_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        // The umask in force: a file asked for 0666 gets what it lets through (0644 under 0o022).
        let probe = dir.path().join("probe");
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&probe)
            .unwrap();
        let umask_lets_through = mode(&probe);
        assert_ne!(umask_lets_through & 0o600, 0, "umask hides owner bits");

        let path = dir.path().join("state").join("keys").join("varco.key");
        let cfg = KeyConfig {
            may_generate: true,
            ..config(path.clone())
        };
        let (ring, source) = Keyring::load(&cfg).unwrap();
        assert_eq!(source, KeySource::Generated(path.clone()));
        assert_eq!(mode(&path), 0o600, "umask lets through {umask_lets_through:o}");
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        assert_eq!(mode(&dir.path().join("state").join("keys")), 0o700);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# Varco master key: back it up apart from the database;"));
        assert_eq!(key_lines(&path).len(), 1);

        // The next start finds it and gets the same key.
        let (again, source) = Keyring::load(&cfg).unwrap();
        assert_eq!(source, KeySource::File(path.clone()));
        assert_eq!(again.current_id(), ring.current_id());
    }

    #[test]
    fn generated_key_file_in_an_existing_folder_leaves_the_folder_alone() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), Permissions::from_mode(0o755)).unwrap();
        let path = dir.path().join("varco.key");
        let cfg = KeyConfig {
            may_generate: true,
            ..config(path.clone())
        };
        Keyring::load(&cfg).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(dir.path()), 0o755);
    }

    #[test]
    fn without_key_or_permission_to_generate_the_error_says_how_to_configure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("varco.key");
        let err = Keyring::load(&config(path.clone())).unwrap_err();
        assert!(matches!(err, CryptoError::NoKey(_)));
        let text = err.to_string();
        assert!(
            text.contains("VARCO_MASTER_KEY ") && text.contains("VARCO_MASTER_KEY_FILE"),
            "{text}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn a_configured_key_file_must_exist_even_when_generation_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.key");
        let cfg = KeyConfig {
            file: Some(missing.clone()),
            may_generate: true,
            ..config(dir.path().join("default.key"))
        };
        let err = Keyring::load(&cfg).unwrap_err();
        assert!(
            matches!(&err, CryptoError::Io { path, .. } if *path == missing),
            "{err}"
        );
        assert!(!missing.exists() && !dir.path().join("default.key").exists());
    }

    #[test]
    fn the_environment_wins_over_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("varco.key");
        Keyring::load(&KeyConfig {
            may_generate: true,
            ..config(file.clone())
        })
        .unwrap();
        let env_key = MasterKey::generate();
        let cfg = KeyConfig {
            env_value: Some(env_key.to_base64().to_string()),
            file: Some(file.clone()),
            ..config(file)
        };
        let (ring, source) = Keyring::load(&cfg).unwrap();
        assert_eq!(source, KeySource::Env);
        assert_eq!(ring.current_id(), env_key.id());
        assert!(!format!("{cfg:?}").contains(env_key.to_base64().as_str()));
    }

    #[test]
    fn key_file_skips_comments_and_blank_lines_and_puts_the_first_key_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let a = MasterKey::generate();
        let b = MasterKey::generate();
        let text = format!(
            "# a comment\n\n   \n  {}  \n# another\n{}\n",
            a.to_base64().as_str(),
            b.to_base64().as_str()
        );
        fs::write(&path, text).unwrap();
        let ring = Keyring::load_file(&path).unwrap();
        assert_eq!(ring.ids(), vec![a.id().clone(), b.id().clone()]);

        fs::write(&path, format!("# only\n{}\nnot-a-key\n", a.to_base64().as_str())).unwrap();
        let err = Keyring::load_file(&path).unwrap_err().to_string();
        assert!(err.contains("line 3") && !err.contains("not-a-key"), "{err}");

        fs::write(&path, "# nothing\n\n").unwrap();
        let err = Keyring::load_file(&path).unwrap_err().to_string();
        assert!(err.contains("holds no key"), "{err}");
    }

    #[test]
    fn a_key_file_open_to_others_is_tightened_to_0600_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("varco.key");
        let key = MasterKey::generate();
        fs::write(&path, format!("{}\n", key.to_base64().as_str())).unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        assert_eq!(mode(&path), 0o644);
        let (ring, source) = Keyring::load(&KeyConfig {
            file: Some(path.clone()),
            ..config(dir.path().join("other"))
        })
        .unwrap();
        assert_eq!(source, KeySource::File(path.clone()));
        assert_eq!(ring.current_id(), key.id());
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn rotation_moves_the_old_key_to_a_retired_file_and_keeps_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("varco.key");
        let (ring, _) = Keyring::load(&KeyConfig {
            may_generate: true,
            ..config(path.clone())
        })
        .unwrap();
        let old_id = ring.current_id().clone();
        let (_, wrapped) = ring.new_data_key();

        let (new_id, old_ids) = begin_rotation(&path).unwrap();
        assert_eq!(old_ids, vec![old_id.clone()]);
        assert_ne!(new_id, old_id);
        assert_eq!(mode(&path), 0o600);
        let during = Keyring::load_file(&path).unwrap();
        assert_eq!(during.ids(), vec![new_id.clone(), old_id.clone()]);
        assert!(fs::read_to_string(&path).unwrap().contains("rotation under way"));
        // No temporary file left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        let rewrapped = during.rewrap(old_id.as_str(), &wrapped.bytes).unwrap();
        assert_eq!(rewrapped.master_key_id, new_id);

        let retired = finish_rotation(&path).unwrap();
        let expected = dir.path().join(format!("varco.key.retired-{old_id}"));
        assert_eq!(retired, vec![expected.clone()]);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&expected), 0o600);

        let after = Keyring::load_file(&path).unwrap();
        assert_eq!(after.ids(), vec![new_id.clone()]);
        assert_eq!(key_lines(&path).len(), 1);
        after.unwrap(new_id.as_str(), &rewrapped.bytes).unwrap();

        let kept = Keyring::load_file(&expected).unwrap();
        assert_eq!(kept.ids(), vec![old_id.clone()]);
        assert_eq!(key_lines(&expected).len(), 1);
        let text = fs::read_to_string(&expected).unwrap();
        assert!(text.contains("Keep it only as long as you keep backups taken before the rotation"));
        assert!(text.contains("destroy it to put them"));
        kept.unwrap(old_id.as_str(), &wrapped.bytes).unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);

        // Nothing more to retire.
        assert_eq!(finish_rotation(&path).unwrap(), Vec::<PathBuf>::new());
    }

    #[test]
    fn rotation_of_a_loose_key_file_writes_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("varco.key");
        fs::write(&path, format!("{}\n", MasterKey::generate().to_base64().as_str())).unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o664)).unwrap();
        let (new_id, _) = begin_rotation(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        let retired = finish_rotation(&path).unwrap();
        assert_eq!(retired.len(), 1);
        assert_eq!(mode(&retired[0]), 0o600);
        assert_eq!(Keyring::load_file(&path).unwrap().ids(), vec![new_id]);
    }

    #[test]
    fn rotation_of_a_missing_file_fails_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("varco.key");
        assert!(matches!(begin_rotation(&path), Err(CryptoError::Io { .. })));
        assert!(matches!(finish_rotation(&path), Err(CryptoError::Io { .. })));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
