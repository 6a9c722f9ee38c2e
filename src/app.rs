//! What every service needs besides its caller: the database, the settings, the clock, the
//! protocol data, and the per-instance caches. Built once by `startup` (the server) or `cli`
//! (the command line), never by a request.
//!
//! Rooms keep their caches here as singletons keyed by type, so that this module stays below
//! them: the routing directory (`roster`) and the bearer-token cache (`auth`) live here without
//! `app` importing either. A change that makes a cache stale bumps its generation
//! ([`App::invalidate`]); the cache sees the new generation on its next use.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;

use crate::clock::{db_now, SharedClock};
use crate::config::Settings;
use crate::crypto::{KeyHolder, Keyring};
use crate::db::Db;
use crate::protocols::Protocols;

/// The caches a change can make stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    /// Bearer-token lookups (`auth::token::TokenCache`): revocations, organisation changes.
    Tokens,
    /// The routing directory (`roster::Directory`): organisations, users, shifts.
    Directory,
}

impl Cache {
    fn index(self) -> usize {
        match self {
            Cache::Tokens => 0,
            Cache::Directory => 1,
        }
    }
}

/// The service's shared state.
pub struct App {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub clock: SharedClock,
    /// Procedures, checklists and regional projects (`protocols/`), validated at start.
    pub protocols: Arc<Protocols>,
    /// The master keys that open the records' data keys (`crypto`), reloaded when their file
    /// changes (a rotation).
    keys: KeyHolder,
    generations: [AtomicU64; 2],
    singletons: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl App {
    pub fn new(db: Db, settings: Settings, clock: SharedClock, protocols: Protocols, keys: KeyHolder) -> App {
        App {
            db,
            settings: Arc::new(settings),
            clock,
            protocols: Arc::new(protocols),
            keys,
            generations: Default::default(),
            singletons: Mutex::new(HashMap::new()),
        }
    }

    /// The keyring (the current one, after a rotation).
    pub fn keys(&self) -> Arc<Keyring> {
        self.keys.get()
    }

    /// The current instant as stored (UTC, microseconds).
    pub fn now(&self) -> NaiveDateTime {
        db_now(self.clock.as_ref())
    }

    /// The instance's one value of `T`, created on first use.
    pub fn singleton<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut map = self.singletons.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn Any + Send + Sync>)
            .clone();
        drop(map);
        match entry.downcast::<T>() {
            Ok(value) => value,
            // The map is keyed by the type id, so the value is always a `T`.
            Err(_) => Arc::new(T::default()),
        }
    }

    /// Marks a cache stale: its next use reloads.
    pub fn invalidate(&self, cache: Cache) {
        self.generations[cache.index()].fetch_add(1, Ordering::AcqRel);
    }

    /// The generation of a cache: an entry taken at another generation is stale.
    pub fn generation(&self, cache: Cache) -> u64 {
        self.generations[cache.index()].load(Ordering::Acquire)
    }
}
