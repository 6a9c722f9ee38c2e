//! The keyring a running instance uses, reloaded from its key file when the file changes, so
//! that `varco key rotate` works without downtime: the instances pick up the new current key
//! (and keep the old one to open what is not yet rewrapped) within [`RELOAD_EVERY`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::{KeySource, Keyring};

/// How often the key file's modification time is looked at.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

struct Watch {
    path: PathBuf,
    modified: Option<SystemTime>,
    checked: Instant,
}

/// The instance's keyring.
pub struct KeyHolder {
    current: RwLock<Arc<Keyring>>,
    watch: Option<Mutex<Watch>>,
}

impl KeyHolder {
    /// Holds `keys`; when they came from a file, watches it.
    pub fn new(keys: Keyring, source: &KeySource) -> KeyHolder {
        let watch = match source {
            KeySource::File(path) | KeySource::Generated(path) => Some(Mutex::new(Watch {
                modified: std::fs::metadata(path).and_then(|m| m.modified()).ok(),
                path: path.clone(),
                checked: Instant::now(),
            })),
            KeySource::Env => None,
        };
        KeyHolder {
            current: RwLock::new(Arc::new(keys)),
            watch,
        }
    }

    /// The keyring, reloaded first when its file changed (looked at every [`RELOAD_EVERY`]).
    pub fn get(&self) -> Arc<Keyring> {
        if let Some(watch) = &self.watch {
            if let Ok(mut w) = watch.try_lock() {
                if w.checked.elapsed() >= RELOAD_EVERY {
                    w.checked = Instant::now();
                    let modified = std::fs::metadata(&w.path).and_then(|m| m.modified()).ok();
                    if modified != w.modified {
                        match Keyring::load_file(&w.path) {
                            Ok(keys) => {
                                tracing::info!(current = %keys.current_id(), "master key file reloaded");
                                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
                                w.modified = modified;
                            }
                            // A file caught mid-rewrite is read again at the next look.
                            Err(e) => tracing::warn!(error = %e, "master key file not reloaded"),
                        }
                    }
                }
            }
        }
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
