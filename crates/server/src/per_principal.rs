//! Per-caller budgets: how many WebSocket connections, or Streamable HTTP
//! sessions, one principal may hold at once, so one client cannot take the
//! whole `--max-connections` / session table and lock everyone else out.
//! Without credentials every anonymous caller counts per client IP address.
//!
//! A [`Slot`] is taken before the work starts and gives its place back when
//! dropped, so every way a connection or session ends releases it. The map
//! holds only callers with a slot taken (bounded by the total limits); the
//! lock is held for one map operation, never across an `.await`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use mcp_prompts_engine::domain::Principal;

/// Who a budget counts: a principal by name, else the client's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    Principal(String),
    Address(IpAddr),
}

impl Owner {
    pub fn of(principal: Option<&Principal>, peer: SocketAddr) -> Self {
        match principal {
            Some(p) => Self::Principal(p.name.clone()),
            None => Self::Address(peer.ip()),
        }
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Principal(name) => write!(f, "principal '{name}'"),
            Self::Address(ip) => write!(f, "client address {ip}"),
        }
    }
}

/// Slots taken per owner, at most `limit` each.
#[derive(Debug)]
pub struct PerOwner {
    limit: usize,
    taken: Mutex<HashMap<Owner, usize>>,
}

/// One place of an owner's budget; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    counts: Arc<PerOwner>,
    owner: Owner,
}

impl PerOwner {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            limit: limit.max(1),
            taken: Mutex::new(HashMap::new()),
        })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A slot for `owner`, or `None` when it already holds `limit`.
    pub fn take(self: &Arc<Self>, owner: Owner) -> Option<Slot> {
        let mut taken = self.lock();
        let n = taken.entry(owner.clone()).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        drop(taken);
        Some(Slot {
            counts: self.clone(),
            owner,
        })
    }

    /// Slots `owner` holds now.
    pub fn held(&self, owner: &Owner) -> usize {
        self.lock().get(owner).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Owner, usize>> {
        self.taken.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Slot {
    pub fn owner(&self) -> &Owner {
        &self.owner
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut taken = self.counts.lock();
        if let Some(n) = taken.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                taken.remove(&self.owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_owner_has_its_own_budget_and_dropped_slots_come_back() {
        let counts = PerOwner::new(2);
        let a = || Owner::Principal("a".into());
        let b = || Owner::Address("127.0.0.1".parse().unwrap());
        let a1 = counts.take(a()).unwrap();
        let _a2 = counts.take(a()).unwrap();
        assert!(counts.take(a()).is_none(), "a is at its limit");
        let _b1 = counts.take(b()).expect("b is not");
        drop(a1);
        assert_eq!(counts.held(&a()), 1);
        let _a3 = counts.take(a()).expect("a's dropped slot came back");
        assert!(counts.take(a()).is_none());
    }

    #[test]
    fn an_owner_without_slots_leaves_no_entry() {
        let counts = PerOwner::new(1);
        drop(counts.take(Owner::Principal("x".into())).unwrap());
        assert!(counts.lock().is_empty());
    }
}
